package store

import (
	"context"
	"fmt"
	"time"
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
