package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A lease is a named right that one holder at a time has until it
// expires: replicas sharing a database use one to decide which of them
// runs the jobs. Each call is one statement, atomic on both backends.
//
// Expiry is measured by the database's clock, never the callers': replicas
// on machines whose clocks disagree still agree on when a lease ran out,
// and a test's fake clock (WithClock) can't make a lease expire early. A
// holder must still allow for the time its own calls take: it renews well
// within the TTL (the jobs renew every third of it) and stops relying on
// the lease once a TTL has passed since it last renewed.
type leaseRow struct {
	Name   string `gorm:"primaryKey"`
	Holder string `gorm:"not null"`
	// ExpiresMS is the expiry in milliseconds since 1970 by the
	// database's clock: an integer compares the same way on both backends.
	ExpiresMS int64 `gorm:"column:expires_ms;not null"`
}

func (leaseRow) TableName() string { return "leases" }

// dbNowMS is the database's clock in milliseconds since 1970, as SQL.
func (s *Store) dbNowMS() string {
	if s.postgres {
		// clock_timestamp, not now(): the moment of the statement, not of
		// the transaction's start.
		return "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

// AcquireLease takes the lease name for holder for ttl when it is free,
// expired or already holder's (then it is extended). held is false when
// another holder has it.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (held bool, err error) {
	if err := checkLease(name, holder, ttl); err != nil {
		return false, fmt.Errorf("store: acquire lease: %w", err)
	}
	now := s.dbNowMS()
	res := s.db.WithContext(ctx).Exec(
		"INSERT INTO leases (name, holder, expires_ms) VALUES (?, ?, "+now+" + ?) "+
			"ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms "+
			"WHERE leases.expires_ms <= "+now+" OR leases.holder = excluded.holder",
		name, holder, ttl.Milliseconds())
	if res.Error != nil {
		return false, fmt.Errorf("store: acquire lease %s: %w", name, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// RenewLease extends holder's lease by ttl from now. held is false, and
// nothing changes, when the lease expired or another holder has it: a
// holder that failed to renew in time must not carry on as if it had
// held the lease all along, since someone else may have held it meanwhile.
func (s *Store) RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (held bool, err error) {
	if err := checkLease(name, holder, ttl); err != nil {
		return false, fmt.Errorf("store: renew lease: %w", err)
	}
	now := s.dbNowMS()
	res := s.db.WithContext(ctx).Exec(
		"UPDATE leases SET expires_ms = "+now+" + ? WHERE name = ? AND holder = ? AND expires_ms > "+now,
		ttl.Milliseconds(), name, holder)
	if res.Error != nil {
		return false, fmt.Errorf("store: renew lease %s: %w", name, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseLease gives the lease up if holder has it, so another can take
// it at once instead of after it expires.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := s.db.WithContext(ctx).Exec("DELETE FROM leases WHERE name = ? AND holder = ?", name, holder).Error; err != nil {
		return fmt.Errorf("store: release lease %s: %w", name, err)
	}
	return nil
}

// LeaseHolder says who holds the lease and for how much longer; ok is
// false when nobody does (never taken, released or expired).
func (s *Store) LeaseHolder(ctx context.Context, name string) (holder string, remaining time.Duration, ok bool, err error) {
	var rows []struct {
		Holder      string
		RemainingMS int64
	}
	now := s.dbNowMS()
	err = s.db.WithContext(ctx).Raw(
		"SELECT holder, expires_ms - "+now+" AS remaining_ms FROM leases WHERE name = ? AND expires_ms > "+now, name).
		Scan(&rows).Error
	if err != nil {
		return "", 0, false, fmt.Errorf("store: lease holder %s: %w", name, err)
	}
	if len(rows) == 0 {
		return "", 0, false, nil
	}
	return rows[0].Holder, time.Duration(rows[0].RemainingMS) * time.Millisecond, true, nil
}

func checkLease(name, holder string, ttl time.Duration) error {
	if name == "" || holder == "" {
		return errors.New("empty lease name or holder")
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("lease TTL %v is under a millisecond", ttl)
	}
	return nil
}
