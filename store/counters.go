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

// Counter is a number that every process sharing the database updates
// together, such as the admin login's failures per client: kept here, a
// guesser can't multiply its tries by the number of replicas. The times
// are the caller's; the store only keeps them.
type Counter struct {
	Key   string
	Value float64
	At    time.Time // when Value last changed; zero for a counter never stored
	Until time.Time // the caller's deadline (e.g. no attempt before it); zero when none
}

type counterRow struct {
	Name    string     `gorm:"primaryKey"`
	Value   float64    `gorm:"not null"`
	At      time.Time  `gorm:"column:changed_at;not null;index"`
	UntilAt *time.Time `gorm:"column:until_at"`
}

func (counterRow) TableName() string { return "counters" }

func (r counterRow) counter() Counter {
	return Counter{Key: r.Name, Value: r.Value, At: r.At, Until: timeOrZero(r.UntilAt)}
}

// Counters returns the counters named keys, in that order; one never
// stored (or left at zero) comes back zero.
func (s *Store) Counters(ctx context.Context, keys ...string) ([]Counter, error) {
	var rows []counterRow
	if err := s.db.WithContext(ctx).Where("name IN ?", keys).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: counters: %w", err)
	}
	return countersFor(keys, rows), nil
}

// UpdateCounters runs change on the counters named keys (in that order) in
// one transaction that holds their rows locked, so updates from any
// process apply one after the other: what change reads is what it
// changes. A counter change leaves at zero with no Until is deleted. When
// change returns an error nothing is written and UpdateCounters returns it.
func (s *Store) UpdateCounters(ctx context.Context, keys []string, change func(cs []*Counter) error) error {
	if len(keys) == 0 || slices.Contains(keys, "") {
		return errors.New("store: update counters: no key, or an empty one")
	}
	// Rows are created and locked in one order, whatever the caller's,
	// so two transactions can't each hold a row the other waits for.
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, k := range sorted {
			// Locking a row needs a row: a first-time key gets one at zero.
			err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&counterRow{Name: k}).Error
			if err != nil {
				return err
			}
		}
		var rows []counterRow
		// FOR UPDATE on PostgreSQL; SQLite's immediate transaction
		// already holds the database's write lock.
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("name IN ?", sorted).Order("name").Find(&rows).Error
		if err != nil {
			return err
		}
		cs := countersFor(keys, rows)
		ptrs := make([]*Counter, len(cs))
		for i := range cs {
			ptrs[i] = &cs[i]
		}
		if err := change(ptrs); err != nil {
			return err
		}
		for _, c := range cs {
			if c.Value == 0 && c.Until.IsZero() {
				if err := tx.Where("name = ?", c.Key).Delete(&counterRow{}).Error; err != nil {
					return err
				}
				continue
			}
			row := counterRow{Name: c.Key, Value: c.Value, At: c.At.UTC(), UntilAt: nullTime(c.Until)}
			if err := tx.Save(&row).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: update counters: %w", err)
	}
	return nil
}

// PruneCounters forgets the counters unchanged since idleBefore whose
// Until has passed by now: as good as zero to whoever set them.
func (s *Store) PruneCounters(ctx context.Context, idleBefore, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).
		Where("changed_at < ? AND (until_at IS NULL OR until_at <= ?)", idleBefore.UTC(), now.UTC()).
		Delete(&counterRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: prune counters: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// countersFor lays rows out in the order of keys, zero where missing.
func countersFor(keys []string, rows []counterRow) []Counter {
	byName := make(map[string]counterRow, len(rows))
	for _, r := range rows {
		byName[r.Name] = r
	}
	out := make([]Counter, len(keys))
	for i, k := range keys {
		if r, ok := byName[k]; ok {
			out[i] = r.counter()
		} else {
			out[i] = Counter{Key: k}
		}
	}
	return out
}
