package fake

import (
	"testing"
	"time"
)

func TestWallClockFollowsRealTimePlusItsMoves(t *testing.T) {
	c := NewWallClock()
	if d := time.Since(c.Now()); d < -time.Second || d > time.Second {
		t.Fatalf("wall clock is %v off real time", d)
	}
	first := c.Now()
	time.Sleep(20 * time.Millisecond)
	if !c.Now().After(first) {
		t.Fatal("a wall clock stood still")
	}
	c.Advance(48 * time.Hour)
	if d := time.Until(c.Now()); d < 47*time.Hour || d > 49*time.Hour {
		t.Fatalf("after Advance(48h) the clock is %v ahead", d)
	}
	target := time.Now().Add(-time.Hour)
	c.Set(target)
	if d := c.Now().Sub(target); d < 0 || d > time.Second {
		t.Fatalf("after Set the clock is %v from the target", d)
	}

	standing := NewClock(target)
	time.Sleep(5 * time.Millisecond)
	if !standing.Now().Equal(target) {
		t.Fatal("a standing clock moved by itself")
	}
}
