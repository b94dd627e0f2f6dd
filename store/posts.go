package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Post is one cached top-level Instagram post.
type Post struct {
	ID           string
	MediaType    string // IMAGE, VIDEO or CAROUSEL_ALBUM
	Caption      string
	Permalink    string
	AltText      string
	MediaURL     string
	ThumbnailURL string
	Timestamp    time.Time
	Position     int     // 0 is the newest, as Instagram lists them
	Children     []Child // carousel items, in order
	SyncedAt     time.Time
	// LikeCount and CommentsCount are as of the last sync; nil when
	// Instagram withheld them, which is not 0.
	LikeCount, CommentsCount *int
}

// Child is one item of a carousel post.
type Child struct {
	ID, PostID   string
	Position     int
	MediaType    string
	MediaURL     string
	ThumbnailURL string
	AltText      string
}

// SyncResult counts what ReplacePosts changed. Updated counts posts whose
// content or children changed, not those that only moved in the order.
type SyncResult struct {
	Added, Updated, Deleted int
}

type postRow struct {
	ID           string    `gorm:"primaryKey"`
	MediaType    string    `gorm:"not null"`
	Caption      string    `gorm:"not null"`
	Permalink    string    `gorm:"not null"`
	AltText      string    `gorm:"not null"`
	MediaURL     string    `gorm:"not null"`
	ThumbnailURL string    `gorm:"not null"`
	Timestamp    time.Time `gorm:"not null"`
	Position     int       `gorm:"not null;index"`
	SyncedAt     time.Time `gorm:"not null"`
	// NULL when withheld.
	LikeCount     *int
	CommentsCount *int
	// Children is here for the foreign key AutoMigrate creates; rows are
	// written and read explicitly, never through the association.
	Children []childRow `gorm:"foreignKey:PostID;constraint:OnDelete:CASCADE"`
}

func (postRow) TableName() string { return "posts" }

type childRow struct {
	PostID       string `gorm:"primaryKey"`
	ID           string `gorm:"primaryKey"`
	Position     int    `gorm:"not null"`
	MediaType    string `gorm:"not null"`
	MediaURL     string `gorm:"not null"`
	ThumbnailURL string `gorm:"not null"`
	AltText      string `gorm:"not null"`
}

func (childRow) TableName() string { return "post_children" }

// batchSize keeps statements well under SQLite's limit of bound variables.
const batchSize = 200

// ReplacePosts makes the cache hold exactly posts, in one transaction: new
// posts are added, known ones updated, and posts (with their children) that
// are no longer listed are deleted. posts is newest first: Position becomes
// the index in the slice. A repeated post or child ID keeps its first
// occurrence (paging can list a post twice when one is published mid-sync).
// An empty slice empties the cache.
func (s *Store) ReplacePosts(ctx context.Context, posts []Post) (SyncResult, error) {
	now := s.now()
	rows, children, err := postRows(posts, now)
	if err != nil {
		return SyncResult{}, fmt.Errorf("store: replace posts: %w", err)
	}

	var res SyncResult
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		old, err := loadPosts(tx, 0)
		if err != nil {
			return err
		}
		byID := make(map[string]Post, len(old))
		for _, p := range old {
			byID[p.ID] = p
		}

		var rewrite []string // posts whose children are replaced
		for i := range rows {
			prev, known := byID[rows[i].ID]
			delete(byID, rows[i].ID)
			switch {
			case !known:
				res.Added++
				rewrite = append(rewrite, rows[i].ID)
			case !sameContent(prev, rows[i]) || !sameChildren(prev.Children, children[rows[i].ID]):
				res.Updated++
				rewrite = append(rewrite, rows[i].ID)
			}
		}
		// What is left in byID is gone from Instagram.
		var gone []string
		for id := range byID {
			gone = append(gone, id)
		}
		res.Deleted = len(gone)

		for chunk := range slices.Chunk(gone, batchSize) {
			if err := tx.Where("post_id IN ?", chunk).Delete(&childRow{}).Error; err != nil {
				return err
			}
			if err := tx.Where("id IN ?", chunk).Delete(&postRow{}).Error; err != nil {
				return err
			}
		}
		if len(rows) > 0 {
			// Every listed post is written: Position and SyncedAt change
			// even when the content doesn't.
			err := tx.Omit(clause.Associations).
				Clauses(clause.OnConflict{UpdateAll: true}).
				CreateInBatches(rows, batchSize).Error
			if err != nil {
				return err
			}
		}
		var fresh []childRow
		for chunk := range slices.Chunk(rewrite, batchSize) {
			if err := tx.Where("post_id IN ?", chunk).Delete(&childRow{}).Error; err != nil {
				return err
			}
			for _, id := range chunk {
				fresh = append(fresh, children[id]...)
			}
		}
		if len(fresh) > 0 {
			if err := tx.CreateInBatches(fresh, batchSize).Error; err != nil {
				return err
			}
		}
		// Even an unchanged list moves SyncedAt, which the gallery shows
		// as its update time.
		return bumpGeneration(tx)
	})
	if err != nil {
		return SyncResult{}, fmt.Errorf("store: replace posts: %w", err)
	}
	return res, nil
}

// postRows turns posts into rows, numbering positions and dropping repeats.
func postRows(posts []Post, now time.Time) ([]postRow, map[string][]childRow, error) {
	rows := make([]postRow, 0, len(posts))
	children := make(map[string][]childRow, len(posts))
	for _, p := range posts {
		if p.ID == "" {
			return nil, nil, errors.New("post without an ID")
		}
		if _, dup := children[p.ID]; dup {
			continue
		}
		kids := make([]childRow, 0, len(p.Children))
		seen := make(map[string]bool, len(p.Children))
		for _, c := range p.Children {
			if c.ID == "" {
				return nil, nil, fmt.Errorf("post %s has a child without an ID", p.ID)
			}
			if seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			kids = append(kids, childRow{
				PostID:       p.ID,
				ID:           c.ID,
				Position:     len(kids),
				MediaType:    c.MediaType,
				MediaURL:     c.MediaURL,
				ThumbnailURL: c.ThumbnailURL,
				AltText:      c.AltText,
			})
		}
		children[p.ID] = kids
		rows = append(rows, postRow{
			ID:            p.ID,
			MediaType:     p.MediaType,
			Caption:       p.Caption,
			Permalink:     p.Permalink,
			AltText:       p.AltText,
			MediaURL:      p.MediaURL,
			ThumbnailURL:  p.ThumbnailURL,
			Timestamp:     p.Timestamp.UTC(),
			Position:      len(rows),
			SyncedAt:      now,
			LikeCount:     p.LikeCount,
			CommentsCount: p.CommentsCount,
		})
	}
	return rows, children, nil
}

// sameContent leaves the counts out: they move with every like, and a post
// whose only change is its counts is not news in the sync's report. They
// are written all the same.
func sameContent(p Post, r postRow) bool {
	return p.MediaType == r.MediaType && p.Caption == r.Caption && p.Permalink == r.Permalink &&
		p.AltText == r.AltText && p.MediaURL == r.MediaURL && p.ThumbnailURL == r.ThumbnailURL &&
		p.Timestamp.Equal(r.Timestamp)
}

func sameChildren(old []Child, rows []childRow) bool {
	return slices.EqualFunc(old, rows, func(c Child, r childRow) bool {
		return c.ID == r.ID && c.MediaType == r.MediaType && c.MediaURL == r.MediaURL &&
			c.ThumbnailURL == r.ThumbnailURL && c.AltText == r.AltText
	})
}

// Posts returns up to limit posts (all when limit <= 0), newest first, with
// their children.
func (s *Store) Posts(ctx context.Context, limit int) ([]Post, error) {
	posts, err := loadPosts(s.db.WithContext(ctx), limit)
	if err != nil {
		return nil, fmt.Errorf("store: posts: %w", err)
	}
	return posts, nil
}

// Post returns the cached post with this id, with its children; ok is
// false when it is not cached.
func (s *Store) Post(ctx context.Context, id string) (p Post, ok bool, err error) {
	db := s.db.WithContext(ctx)
	var row postRow
	err = db.Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Post{}, false, nil
	}
	if err != nil {
		return Post{}, false, fmt.Errorf("store: post %s: %w", id, err)
	}
	var kids []childRow
	if err := db.Where("post_id = ?", id).Order("position").Find(&kids).Error; err != nil {
		return Post{}, false, fmt.Errorf("store: post %s: %w", id, err)
	}
	p = Post{
		ID: row.ID, MediaType: row.MediaType, Caption: row.Caption, Permalink: row.Permalink, AltText: row.AltText,
		MediaURL: row.MediaURL, ThumbnailURL: row.ThumbnailURL, Timestamp: row.Timestamp, Position: row.Position,
		SyncedAt: row.SyncedAt, LikeCount: row.LikeCount, CommentsCount: row.CommentsCount,
	}
	for _, c := range kids {
		p.Children = append(p.Children, Child{ID: c.ID, PostID: c.PostID, Position: c.Position, MediaType: c.MediaType,
			MediaURL: c.MediaURL, ThumbnailURL: c.ThumbnailURL, AltText: c.AltText})
	}
	return p, true, nil
}

// PostCount returns how many posts are cached.
func (s *Store) PostCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&postRow{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: post count: %w", err)
	}
	return n, nil
}

// loadPosts reads posts in display order and their children with a
// subquery rather than a list of IDs, which could outgrow SQLite's limit on
// bound variables.
func loadPosts(db *gorm.DB, limit int) ([]Post, error) {
	top := db.Model(&postRow{}).Order("position, timestamp DESC, id")
	if limit > 0 {
		top = top.Limit(limit)
	}
	var rows []postRow
	if err := top.Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}

	kids := db.Model(&childRow{}).Order("post_id, position")
	if limit > 0 {
		ids := db.Model(&postRow{}).Select("id").Order("position, timestamp DESC, id").Limit(limit)
		kids = kids.Where("post_id IN (?)", ids)
	}
	var childRows []childRow
	if err := kids.Find(&childRows).Error; err != nil {
		return nil, err
	}
	byPost := make(map[string][]Child, len(rows))
	for _, c := range childRows {
		byPost[c.PostID] = append(byPost[c.PostID], Child{
			ID:           c.ID,
			PostID:       c.PostID,
			Position:     c.Position,
			MediaType:    c.MediaType,
			MediaURL:     c.MediaURL,
			ThumbnailURL: c.ThumbnailURL,
			AltText:      c.AltText,
		})
	}

	posts := make([]Post, len(rows))
	for i, r := range rows {
		posts[i] = Post{
			ID:            r.ID,
			MediaType:     r.MediaType,
			Caption:       r.Caption,
			Permalink:     r.Permalink,
			AltText:       r.AltText,
			MediaURL:      r.MediaURL,
			ThumbnailURL:  r.ThumbnailURL,
			Timestamp:     r.Timestamp,
			Position:      r.Position,
			Children:      byPost[r.ID],
			SyncedAt:      r.SyncedAt,
			LikeCount:     r.LikeCount,
			CommentsCount: r.CommentsCount,
		}
	}
	return posts, nil
}
