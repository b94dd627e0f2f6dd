package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// stateRow is one durable key/value pair for the jobs (last run, next
// reminder, …) so a restart resumes where the process left off.
type stateRow struct {
	Key       string    `gorm:"primaryKey"`
	Value     string    `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

func (stateRow) TableName() string { return "state" }

// SetState stores value under key, replacing any previous value.
func (s *Store) SetState(ctx context.Context, key, value string) error {
	if key == "" {
		return errors.New("store: set state: empty key")
	}
	row := stateRow{Key: key, Value: value, UpdatedAt: s.now()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("store: set state %q: %w", key, err)
	}
	return nil
}

// State returns the value stored under key; ok is false when there is none.
func (s *Store) State(ctx context.Context, key string) (value string, ok bool, err error) {
	var row stateRow
	err = s.db.WithContext(ctx).Where(`"key" = ?`, key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: state %q: %w", key, err)
	}
	return row.Value, true, nil
}
