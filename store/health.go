package store

import (
	"context"
	"sync"
	"time"
)

// healthCheckTimeout bounds one CheckHealth: a database that takes longer
// to answer SELECT 1 is as good as away for an admin page or a probe.
const healthCheckTimeout = 3 * time.Second

// Health is whether the database answered its latest check, and since
// when it has (or has not). The gallery does not depend on it (each
// process serves its snapshot from memory); the admin, the jobs and the
// alerts do.
type Health struct {
	Up bool
	// Since is when the database last changed between up and down (or
	// when the store was opened).
	Since time.Time
	// LastError is the latest check's failure while down: the driver's
	// error, with the database URL's password taken out should a driver
	// ever print it.
	LastError string
	CheckedAt time.Time
}

// health is the store's record of its latest check, kept in memory: it
// must be readable exactly when the database is not.
type health struct {
	mu sync.Mutex
	h  Health
}

// CheckHealth pings the database (within a few seconds, whatever ctx
// allows beyond that), records the answer and returns the new state. A
// failed ping is asked once more: a pooled connection that died while the
// database was away fails the first query it carries and is dropped, and
// the database answering again is what the check is about, not that one
// connection.
func (s *Store) CheckHealth(ctx context.Context) Health {
	ctx, cancel := context.WithTimeout(ctx, healthCheckTimeout)
	err := s.Ping(ctx)
	if err != nil && ctx.Err() == nil {
		err = s.Ping(ctx)
	}
	err = redactErr(err, s.location)
	cancel()
	now := s.now()
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	h := &s.health.h
	up := err == nil
	if up != h.Up || h.Since.IsZero() {
		h.Up, h.Since = up, now
	}
	h.CheckedAt = now
	h.LastError = ""
	if err != nil {
		h.LastError = err.Error()
	}
	return *h
}

// Health is the latest CheckHealth's answer, without asking the database;
// before the first check, up since the store was opened (Open pinged it).
func (s *Store) Health() Health {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.h
}
