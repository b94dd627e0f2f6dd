package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// Leases are the store's leases (*store.Store): named rights one holder
// has until they expire by the database's clock.
type Leases interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
	LeaseHolder(ctx context.Context, name string) (holder string, remaining time.Duration, ok bool, err error)
}

// LeaseName is the lease of the replica that starts the scheduled runs;
// each job's runs hold "job:" + its name besides.
const LeaseName = "jobs"

// DefaultLeaseTTL is jobs.lease's default.
const DefaultLeaseTTL = 30 * time.Second

func runLeaseName(job string) string { return "job:" + job }

// NewHolder names this process among replicas: its host and pid, which
// say where to look, and random bytes, which keep a restarted process
// with a recycled pid from passing for its predecessor.
func NewHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// LeaseStatus says who runs the scheduled jobs: holder, and whether that
// is this scheduler; ok is false when nobody holds the lease now.
func (s *Scheduler) LeaseStatus(ctx context.Context) (holder string, mine, ok bool, err error) {
	if s.leases == nil {
		return s.holder, true, true, nil
	}
	holder, _, ok, err = s.leases.LeaseHolder(ctx, LeaseName)
	return holder, ok && holder == s.holder, ok, err
}

// Leader reports whether this scheduler starts the scheduled runs: it
// holds the lease and has confirmed so recently enough.
func (s *Scheduler) Leader() bool {
	if !s.leader.Load() {
		return false
	}
	return s.leases == nil || time.Now().UnixNano() < s.leaderUntil.Load()
}

// lead reports whether this scheduler holds the lease, taking or renewing
// it if it can when its last confirmation is too old (RunDue without the
// loop of Start, as tests step time with).
func (s *Scheduler) lead() bool {
	return s.Leader() || (s.leases != nil && s.acquireLead())
}

// safeUntil is how long a lease renewed (or taken) by a call sent at sent
// may be relied on: its TTL, less a sixth of it for the time a job takes to
// stop once told to, so it has stopped before the lease can expire in the
// database (which counts from when the call arrived, after sent).
func (s *Scheduler) safeUntil(sent time.Time) time.Time {
	return sent.Add(s.leaseTTL - s.leaseTTL/6)
}

// leaseLoop tries for the lease, then renews it, every third of its TTL
// until Stop; it releases it on the way out so another replica takes over
// at once. Winning it starts the overdue runs, as Start does alone.
func (s *Scheduler) leaseLoop() {
	defer close(s.leaseDone)
	tick := time.NewTicker(s.leaseTTL / 3)
	defer tick.Stop()
	for {
		if s.leader.Load() {
			sent := time.Now()
			held, err := s.callLease(func(ctx context.Context) (bool, error) {
				return s.leases.RenewLease(ctx, LeaseName, s.holder, s.leaseTTL)
			})
			switch {
			case held:
				s.leaderUntil.Store(s.safeUntil(sent).UnixNano())
			case err == nil || !s.Leader():
				// Taken over, or unconfirmed for too long to go on as if
				// it were still ours.
				s.setLeader(false, "lost", err)
			default:
				s.log.Warn("jobs: renew the lease; retrying", "err", err)
			}
		} else if s.acquireLead() {
			s.bg.Add(1)
			go func() {
				defer s.bg.Done()
				_ = s.RunDue(s.ctx)
			}()
		}
		select {
		case <-s.stopLease:
			if s.leader.Load() {
				s.setLeader(false, "released", nil)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := s.leases.ReleaseLease(ctx, LeaseName, s.holder); err != nil {
					s.log.Warn("jobs: release the lease", "err", err)
				}
				cancel()
			}
			return
		case <-tick.C:
		}
	}
}

// acquireLead tries once to take the lease and reports whether this
// scheduler now holds it.
func (s *Scheduler) acquireLead() bool {
	sent := time.Now()
	held, err := s.callLease(func(ctx context.Context) (bool, error) {
		return s.leases.AcquireLease(ctx, LeaseName, s.holder, s.leaseTTL)
	})
	if err != nil {
		s.log.Warn("jobs: acquire the lease", "err", err)
	}
	if held {
		s.leaderUntil.Store(s.safeUntil(sent).UnixNano())
		if !s.leader.Load() {
			s.setLeader(true, "acquired", nil)
		}
	}
	return held
}

// callLease runs one lease call within a third of the TTL, the time left
// before the next.
func (s *Scheduler) callLease(call func(ctx context.Context) (bool, error)) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.leaseTTL/3)
	defer cancel()
	return call(ctx)
}

func (s *Scheduler) setLeader(held bool, how string, err error) {
	s.leader.Store(held)
	s.observer.LeaseHeld(held)
	if held {
		s.log.Info("jobs: this replica runs the jobs", "lease", how, "holder", s.holder)
	} else if how == "released" {
		s.log.Info("jobs: lease released", "holder", s.holder)
	} else {
		s.log.Warn("jobs: another replica runs the jobs now", "lease", how, "holder", s.holder, "err", err)
	}
}

// holdRunLease takes the job's own lease for one run and keeps renewing
// it until release: a run on another replica at the same time is refused
// with ErrRunningElsewhere, or, with wait, waited for. The context it
// returns is cancelled if the lease can't be renewed before it may have
// expired, when another replica could start the job.
func (s *Scheduler) holdRunLease(ctx context.Context, job string, wait bool) (context.Context, func(), error) {
	if s.leases == nil {
		return ctx, func() {}, nil
	}
	name := runLeaseName(job)
	var sent time.Time
	for {
		sent = time.Now()
		held, err := s.leases.AcquireLease(ctx, name, s.holder, s.leaseTTL)
		if err != nil {
			return nil, nil, fmt.Errorf("jobs: %s: take the job's lease: %w", job, err)
		}
		if held {
			break
		}
		if !wait {
			return nil, nil, ErrRunningElsewhere
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(s.leaseTTL / 10):
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	stop, renewed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(renewed)
		until := s.safeUntil(sent)
		tick := time.NewTicker(s.leaseTTL / 3)
		defer tick.Stop()
		for {
			lost := time.NewTimer(time.Until(until))
			select {
			case <-stop:
				lost.Stop()
				return
			case <-lost.C:
				s.log.Warn("jobs: the job's lease could not be renewed in time; cancelling the run", "job", job)
				cancel()
				return
			case <-tick.C:
				lost.Stop()
			}
			t := time.Now()
			held, err := s.callLease(func(ctx context.Context) (bool, error) {
				return s.leases.RenewLease(ctx, name, s.holder, s.leaseTTL)
			})
			switch {
			case held:
				until = s.safeUntil(t)
			case err == nil:
				s.log.Warn("jobs: the job's lease is lost; cancelling the run", "job", job)
				cancel()
				return
			default:
				s.log.Warn("jobs: renew the job's lease; retrying", "job", job, "err", err)
			}
		}
	}()
	release := func() {
		close(stop)
		<-renewed
		cancel()
		ctx, cancelRelease := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelRelease()
		if err := s.leases.ReleaseLease(ctx, name, s.holder); err != nil {
			s.log.Warn("jobs: release the job's lease", "job", job, "err", err)
		}
	}
	return rctx, release, nil
}
