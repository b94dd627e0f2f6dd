package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"
)

// Event is one line of the audit log shown on the dashboard.
type Event struct {
	ID      uint
	At      time.Time
	Kind    string // e.g. "connected", "sync", "refresh"
	Level   string // info, warn or error
	Message string
}

// Event levels.
const (
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// MaxEvents bounds the audit log; AddEvent drops the oldest beyond it so a
// job failing every minute for months can't fill the disk.
const MaxEvents = 10000

type eventRow struct {
	ID      uint      `gorm:"primaryKey"`
	At      time.Time `gorm:"not null"`
	Kind    string    `gorm:"not null;index"`
	Level   string    `gorm:"not null"`
	Message string    `gorm:"not null"`
}

func (eventRow) TableName() string { return "events" }

// AddEvent appends to the audit log, stamped with the store's clock.
// level must be info, warn or error. message must not carry secrets.
func (s *Store) AddEvent(ctx context.Context, kind, level, message string) error {
	switch level {
	case LevelInfo, LevelWarn, LevelError:
	default:
		return fmt.Errorf("store: add event: unknown level %q (want info, warn or error)", level)
	}
	row := eventRow{At: s.now(), Kind: kind, Level: level, Message: message}
	db := s.db.WithContext(ctx)
	if err := db.Create(&row).Error; err != nil {
		return fmt.Errorf("store: add event: %w", err)
	}
	// IDs only grow, so everything at or below the (max+1)-th newest is
	// old; the primary key index makes this cheap.
	err := db.Exec("DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)", s.maxEvents).Error
	if err != nil {
		return fmt.Errorf("store: add event: prune: %w", err)
	}
	return nil
}

// Events returns up to limit events (all when limit <= 0), newest first.
// Newest means most recently added, whatever the clock said.
func (s *Store) Events(ctx context.Context, limit int) ([]Event, error) {
	q := s.db.WithContext(ctx).Order("id DESC")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var rows []eventRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	events := make([]Event, len(rows))
	for i, r := range rows {
		events[i] = Event(r)
	}
	return events, nil
}

// AccountMentions is what identifies one Instagram account in the audit
// log, for AnonymiseEvents.
type AccountMentions struct {
	UserID   string
	Username string // matched as "@username", in any case
	// Posts are the account's posts: an entry that quotes one's id, a
	// child's id, its permalink or the beginning of its caption mentions
	// the account.
	Posts []Post
	// Kinds are event kinds whose every entry is taken to be about the
	// account, whatever it says: entries that quote a post without saying
	// whose, possibly one no longer cached and so not matched by Posts.
	Kinds []string
}

// minQuote is the shortest caption beginning that counts as a quote: a
// shorter one ("Hi") would match entries that never quoted it.
const minQuote = 8

// quoteLen is how much of a caption's beginning is looked for: callers
// quote captions cut short, never less than this much of a longer one.
const quoteLen = 32

// needles are the folded strings whose presence in an entry mentions the
// account.
func (m AccountMentions) needles() []string {
	var out []string
	add := func(s string, least int) {
		if s = fold(s); len([]rune(s)) >= least {
			out = append(out, s)
		}
	}
	add(m.UserID, 1)
	if m.Username != "" {
		add("@"+m.Username, 2)
	}
	for _, p := range m.Posts {
		add(p.ID, 1)
		add(p.Permalink, 1)
		for _, c := range p.Children {
			add(c.ID, 1)
		}
		if r := []rune(fold(p.Caption)); len(r) >= minQuote {
			out = append(out, strings.TrimSpace(string(r[:min(len(r), quoteLen)])))
		}
	}
	return out
}

// fold lower-cases s and turns every run of spaces, line breaks and
// control characters into one space, as entries that quote text do.
func fold(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
}

// AnonymiseEvents replaces the message of every event that mentions the
// account (see AccountMentions) with replacement, in one transaction; when,
// kind and level stay, so the log keeps its shape. It returns how many
// events it changed. The log holds at most MaxEvents entries, so they are
// matched here rather than by a query per needle.
func (s *Store) AnonymiseEvents(ctx context.Context, m AccountMentions, replacement string) (int, error) {
	if strings.TrimSpace(replacement) == "" {
		return 0, errors.New("store: anonymise events: empty replacement")
	}
	needles := m.needles()
	if len(needles) == 0 && len(m.Kinds) == 0 {
		return 0, nil
	}
	var ids []uint
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []eventRow
		if err := tx.Select("id", "kind", "message").Order("id").Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			if r.Message == replacement {
				continue
			}
			msg := fold(r.Message)
			if slices.Contains(m.Kinds, r.Kind) || slices.ContainsFunc(needles, func(n string) bool { return strings.Contains(msg, n) }) {
				ids = append(ids, r.ID)
			}
		}
		for batch := range slices.Chunk(ids, batchSize) {
			if err := tx.Model(&eventRow{}).Where("id IN ?", batch).Update("message", replacement).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: anonymise events: %w", err)
	}
	return len(ids), nil
}
