package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Moderation is the owner's decisions about one post: hidden from the
// gallery, or pinned to its front, and a link of the owner's attached to
// it. It lives in its own table keyed by post id, not in the posts rows,
// because every sync rewrites those.
type Moderation struct {
	PostID   string
	HiddenAt time.Time // zero unless hidden
	PinnedAt time.Time // zero unless pinned
	Link     Link      // zero unless the owner attached one
}

// Link is a link the owner attached to a post, such as where to buy what
// it shows: an address and the words of its button ("" for the gallery's
// own). The store keeps what it is given; the rules of what is accepted
// are the moderation package's.
type Link struct {
	URL, Label string
}

// HasLink reports whether the owner attached a link to the post.
func (m Moderation) HasLink() bool { return m.Link.URL != "" }

// Hidden reports whether the post is left out of the gallery.
func (m Moderation) Hidden() bool { return !m.HiddenAt.IsZero() }

// Pinned reports whether the post is pinned to the front of the gallery.
func (m Moderation) Pinned() bool { return !m.PinnedAt.IsZero() }

// Moderation errors. Both leave the moderation as it was.
var (
	// ErrUnknownPost: the post is not cached (never was, or a sync
	// removed it), so there is nothing to moderate.
	ErrUnknownPost = errors.New("store: no such cached post")
	// ErrTooManyPins: PinPost would exceed its limit.
	ErrTooManyPins = errors.New("store: too many pinned posts")
)

type moderationRow struct {
	PostID   string `gorm:"primaryKey"`
	HiddenAt *time.Time
	PinnedAt *time.Time
	// PinSeq orders the pins, newest highest: two pins in the same clock
	// tick (a frozen test clock, a coarse one) still have an order.
	PinSeq    int64  `gorm:"not null;default:0"`
	LinkURL   string `gorm:"not null;default:''"`
	LinkLabel string `gorm:"not null;default:''"`
}

func (moderationRow) TableName() string { return "post_moderation" }

func (r moderationRow) moderation() Moderation {
	m := Moderation{PostID: r.PostID}
	if r.HiddenAt != nil {
		m.HiddenAt = *r.HiddenAt
	}
	if r.PinnedAt != nil {
		m.PinnedAt = *r.PinnedAt
	}
	m.Link = Link{URL: r.LinkURL, Label: r.LinkLabel}
	return m
}

// empty reports whether the row holds no decision left.
func (r moderationRow) empty() bool { return r.HiddenAt == nil && r.PinnedAt == nil && r.LinkURL == "" }

// Moderation returns every decision on record: the pinned posts first, most
// recently pinned first, then the others (hidden, or with a link) by post
// id. It may name posts
// that are no longer cached (a decision outlives a sync that briefly misses
// its post); callers match it against the posts they have.
func (s *Store) Moderation(ctx context.Context) ([]Moderation, error) {
	var rows []moderationRow
	err := s.db.WithContext(ctx).Order("pinned_at IS NULL, pin_seq DESC, post_id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: moderation: %w", err)
	}
	out := make([]Moderation, len(rows))
	for i, r := range rows {
		out[i] = r.moderation()
	}
	return out, nil
}

// HidePost leaves a cached post out of the gallery, unpinning it. changed
// is false when it was hidden already; its HiddenAt then stays, so hiding
// twice does not restart anything timed from it.
func (s *Store) HidePost(ctx context.Context, postID string) (changed bool, err error) {
	return s.moderate(ctx, "hide", postID, func(_ *gorm.DB, r *moderationRow, now time.Time) (bool, error) {
		if r.HiddenAt != nil {
			return false, nil
		}
		r.HiddenAt, r.PinnedAt = &now, nil
		return true, nil
	})
}

// ShowPost undoes HidePost; changed is false when the post was not hidden.
func (s *Store) ShowPost(ctx context.Context, postID string) (changed bool, err error) {
	return s.moderate(ctx, "show", postID, func(_ *gorm.DB, r *moderationRow, _ time.Time) (bool, error) {
		if r.HiddenAt == nil {
			return false, nil
		}
		r.HiddenAt = nil
		return true, nil
	})
}

// PinPost pins a cached post to the front of the gallery, showing it if it
// was hidden. At most maxPins cached posts are pinned at once (0: no limit):
// one more is refused with ErrTooManyPins. Pins of posts no longer cached
// don't count, since the owner can no longer see them to unpin them.
// changed is false when the post was pinned already.
func (s *Store) PinPost(ctx context.Context, postID string, maxPins int) (changed bool, err error) {
	return s.moderate(ctx, "pin", postID, func(tx *gorm.DB, r *moderationRow, now time.Time) (bool, error) {
		if r.PinnedAt != nil {
			return false, nil
		}
		if maxPins > 0 {
			var pinned int64
			err := tx.Model(&moderationRow{}).
				Where("pinned_at IS NOT NULL AND post_id IN (?)", tx.Model(&postRow{}).Select("id")).
				Count(&pinned).Error
			if err != nil {
				return false, err
			}
			if pinned >= int64(maxPins) {
				return false, ErrTooManyPins
			}
		}
		var last int64
		if err := tx.Model(&moderationRow{}).Select("COALESCE(MAX(pin_seq), 0)").Scan(&last).Error; err != nil {
			return false, err
		}
		r.PinnedAt, r.PinSeq, r.HiddenAt = &now, last+1, nil
		return true, nil
	})
}

// UnpinPost undoes PinPost; changed is false when the post was not pinned.
func (s *Store) UnpinPost(ctx context.Context, postID string) (changed bool, err error) {
	return s.moderate(ctx, "unpin", postID, func(_ *gorm.DB, r *moderationRow, _ time.Time) (bool, error) {
		if r.PinnedAt == nil {
			return false, nil
		}
		r.PinnedAt = nil
		return true, nil
	})
}

// SetPostLink attaches link to a cached post, replacing the one it had; a
// zero Link removes it. changed is false when the post had that link
// already. Like hiding and pinning, the link stays through syncs, and
// through a sync that misses the post for a while.
func (s *Store) SetPostLink(ctx context.Context, postID string, link Link) (changed bool, err error) {
	return s.moderate(ctx, "link", postID, func(_ *gorm.DB, r *moderationRow, _ time.Time) (bool, error) {
		if link.URL == "" {
			link.Label = ""
		}
		if r.LinkURL == link.URL && r.LinkLabel == link.Label {
			return false, nil
		}
		r.LinkURL, r.LinkLabel = link.URL, link.Label
		return true, nil
	})
}

// DeleteModeration forgets every decision, for when the account's data
// goes (disconnect, a data deletion request).
func (s *Store) DeleteModeration(ctx context.Context) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("1 = 1").Delete(&moderationRow{})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return bumpGeneration(tx)
	})
	if err != nil {
		return fmt.Errorf("store: delete moderation: %w", err)
	}
	return nil
}

// moderate runs change on the post's row in one transaction, after
// checking the post is cached; a row left with no decision is deleted.
func (s *Store) moderate(ctx context.Context, op, postID string,
	change func(tx *gorm.DB, r *moderationRow, now time.Time) (bool, error)) (bool, error) {
	now := s.now()
	var changed bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// One decision at a time: PinPost counts the pins and then adds one,
		// and under PostgreSQL's READ COMMITTED two pins could both count
		// two of three and make four. SQLite's single connection already
		// serializes them. The owner's clicks are rare; the wait is nothing.
		if s.postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", moderationLockKey).Error; err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		var cached int64
		if err := tx.Model(&postRow{}).Where("id = ?", postID).Count(&cached).Error; err != nil {
			return err
		}
		if cached == 0 {
			return ErrUnknownPost
		}
		row := moderationRow{PostID: postID}
		err := tx.Where("post_id = ?", postID).Take(&row).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		if changed, err = change(tx, &row, now); err != nil || !changed {
			return err
		}
		if row.empty() {
			err = tx.Where("post_id = ?", postID).Delete(&moderationRow{}).Error
		} else {
			err = tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error
		}
		if err != nil {
			return err
		}
		return bumpGeneration(tx)
	})
	if errors.Is(err, ErrUnknownPost) || errors.Is(err, ErrTooManyPins) {
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("store: %s post %s: %w", op, postID, err)
	}
	return changed, nil
}
