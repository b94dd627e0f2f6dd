package fake

import (
	"sync"
	"time"
)

// Clock is the fake's notion of "now". Token and code expiry, signed CDN
// URLs, timed faults and post timestamps all read it, so tests can jump 60
// days ahead instead of waiting.
type Clock struct {
	mu      sync.Mutex
	now     time.Time     // a standing clock's time
	running bool          // follows the wall clock
	offset  time.Duration // a running clock's distance from the wall clock
}

// NewClock returns a clock that stands still at start until moved: what
// tests want.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start}
}

// NewWallClock returns a clock that follows real time, moved by Advance
// and Set relative to it: what a long-running demo wants, so a 5-minute
// outage ends after 5 minutes.
func NewWallClock() *Clock {
	return &Clock{running: true}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return time.Now().Add(c.offset)
	}
	return c.now
}

// Advance moves the clock forward by d (backwards if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		c.offset += d
		return
	}
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		c.offset = time.Until(t)
		return
	}
	c.now = t
}
