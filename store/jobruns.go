package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// JobRun is what the scheduler remembers about one named job across
// restarts: its last run and result, and how long to back off after
// consecutive failures.
type JobRun struct {
	Name         string
	LastRun      time.Time // start of the last run; zero when never run
	LastSuccess  time.Time // start of the last successful run
	LastOK       bool
	LastError    string // words, no secrets; "" after a success
	LastDuration time.Duration
	// Failures counts consecutive failed runs; 0 after a success.
	Failures int
	// NotBefore holds scheduled runs back (backoff after transient
	// failures, or the wait Instagram asked for); zero when none.
	NotBefore time.Time
	// Waiting: the last run found nothing to do (no account connected),
	// which is neither a success nor a failure.
	Waiting bool
}

// Failing reports whether the job's last run failed (and any before it
// since its last success). The public gallery says "stale" while the sync
// job is failing, so a change of this is a change the gallery shows.
func (r JobRun) Failing() bool { return r.Failures > 0 }

type jobRunRow struct {
	Name         string `gorm:"primaryKey"`
	LastRun      *time.Time
	LastSuccess  *time.Time
	LastOK       bool   `gorm:"not null"`
	LastError    string `gorm:"not null"`
	LastDuration int64  `gorm:"not null"` // nanoseconds
	Failures     int    `gorm:"not null"`
	NotBefore    *time.Time
	Waiting      bool      `gorm:"not null;default:false"`
	UpdatedAt    time.Time `gorm:"not null"`
}

func (jobRunRow) TableName() string { return "job_runs" }

// SaveJobRun stores r, replacing the earlier record of the same job. When
// the job starts or stops failing, the gallery's generation moves in the
// same transaction, so every process serving the gallery rebuilds it with
// the new "stale" flag.
func (s *Store) SaveJobRun(ctx context.Context, r JobRun) error {
	if r.Name == "" {
		return errors.New("store: save job run: empty name")
	}
	row := jobRunRow{
		Name:         r.Name,
		LastRun:      nullTime(r.LastRun),
		LastSuccess:  nullTime(r.LastSuccess),
		LastOK:       r.LastOK,
		LastError:    r.LastError,
		LastDuration: int64(r.LastDuration),
		Failures:     r.Failures,
		NotBefore:    nullTime(r.NotBefore),
		Waiting:      r.Waiting,
		UpdatedAt:    s.now(),
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var before jobRunRow
		found := true
		if err := tx.Where("name = ?", r.Name).Take(&before).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			found = false
		} else if err != nil {
			return err
		}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return err
		}
		if wasFailing := found && before.Failures > 0; wasFailing != r.Failing() {
			return bumpGeneration(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save job run %q: %w", r.Name, err)
	}
	return nil
}

// JobRuns returns every job's record, by name.
func (s *Store) JobRuns(ctx context.Context) ([]JobRun, error) {
	var rows []jobRunRow
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: job runs: %w", err)
	}
	out := make([]JobRun, len(rows))
	for i, r := range rows {
		out[i] = JobRun{
			Name:         r.Name,
			LastRun:      timeOrZero(r.LastRun),
			LastSuccess:  timeOrZero(r.LastSuccess),
			LastOK:       r.LastOK,
			LastError:    r.LastError,
			LastDuration: time.Duration(r.LastDuration),
			Failures:     r.Failures,
			NotBefore:    timeOrZero(r.NotBefore),
			Waiting:      r.Waiting,
		}
	}
	return out, nil
}
