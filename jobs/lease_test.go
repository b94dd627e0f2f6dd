package jobs

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/teststore"
)

// Two schedulers on one database stand for two replicas: the tests run
// on an SQLite file and, when there is one, on PostgreSQL.

// cuttable is a replica's way to the leases that a test can cut, as if
// the process froze or died: every call fails from then on, release too.
type cuttable struct {
	Leases
	cut atomic.Bool
}

var errCut = errors.New("the replica is gone")

func (c *cuttable) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if c.cut.Load() {
		return false, errCut
	}
	return c.Leases.AcquireLease(ctx, name, holder, ttl)
}

func (c *cuttable) RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if c.cut.Load() {
		return false, errCut
	}
	return c.Leases.RenewLease(ctx, name, holder, ttl)
}

func (c *cuttable) ReleaseLease(ctx context.Context, name, holder string) error {
	if c.cut.Load() {
		return errCut
	}
	return c.Leases.ReleaseLease(ctx, name, holder)
}

// runLog records which replica ran what, and how many runs were under way
// at once across all of them.
type runLog struct {
	mu         sync.Mutex
	running    int
	maxRunning int
	by         map[string]int
	started    chan string
}

func newRunLog() *runLog { return &runLog{by: map[string]int{}, started: make(chan string, 100)} }

// task runs for hold, or until its context ends, as replica who.
func (l *runLog) task(name, schedule, who string, hold time.Duration) Task {
	return Task{Name: name, Schedule: schedule, Run: func(ctx context.Context) error {
		l.mu.Lock()
		l.running++
		l.maxRunning = max(l.maxRunning, l.running)
		l.by[who]++
		l.mu.Unlock()
		defer func() {
			l.mu.Lock()
			l.running--
			l.mu.Unlock()
		}()
		select {
		case l.started <- who:
		default:
		}
		select {
		case <-time.After(hold):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
}

func (l *runLog) counts() (by map[string]int, maxRunning int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	by = map[string]int{}
	for k, v := range l.by {
		by[k] = v
	}
	return by, l.maxRunning
}

type replica struct {
	s      *Scheduler
	st     *store.Store
	leases *cuttable
}

// newReplica opens its own store on the database at loc, as a process
// of its own would, with a scheduler named who.
func newReplica(t *testing.T, loc string, key []byte, who string, ttl time.Duration, tasks ...Task) *replica {
	t.Helper()
	st := teststore.Open(t, loc, key)
	r := &replica{st: st, leases: &cuttable{Leases: st}}
	logs := testkit.NewLogBuffer()
	var err error
	r.s, err = New(Options{Tasks: tasks, Runs: st, Leases: r.leases, Holder: who, LeaseTTL: ttl,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.s.Stop(ctx)
	})
	return r
}

func testKey() []byte {
	key := make([]byte, store.KeySize)
	_, _ = rand.Read(key)
	return key
}

// One replica holds the lease and runs every scheduled run; the other
// runs none. When the holder dies without releasing it, the other takes
// the jobs over once the lease has expired.
func TestOneReplicaRunsTheScheduledJobs(t *testing.T) {
	for _, b := range testkit.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			loc, key := teststore.Location(t, b), testKey()
			const ttl = 900 * time.Millisecond
			log := newRunLog()
			a := newReplica(t, loc, key, "A", ttl, log.task("tick", "@every 1s", "A", 50*time.Millisecond))
			bb := newReplica(t, loc, key, "B", ttl, log.task("tick", "@every 1s", "B", 50*time.Millisecond))
			a.s.Start()
			testkit.Eventually(t, "A to hold the lease", a.s.Leader)
			bb.s.Start()
			testkit.Eventually(t, "three runs", func() bool { by, _ := log.counts(); return by["A"] >= 3 })
			by, _ := log.counts()
			if by["B"] != 0 || bb.s.Leader() {
				t.Fatalf("B ran %d scheduled runs (leader %v) while A held the lease", by["B"], bb.s.Leader())
			}
			if holder, mine, ok, err := bb.s.LeaseStatus(context.Background()); err != nil || !ok || holder != "A" || mine {
				t.Errorf("B's LeaseStatus = %q %v %v %v, want A's", holder, mine, ok, err)
			}

			// A dies: it neither renews nor releases.
			a.leases.cut.Store(true)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = a.s.Stop(ctx)
			cancel()
			testkit.Eventually(t, "B to take the jobs over", func() bool { by, _ := log.counts(); return by["B"] >= 2 })
			if !bb.s.Leader() {
				t.Error("B runs the jobs but does not say it leads")
			}
			if _, maxRunning := log.counts(); maxRunning != 1 {
				t.Errorf("%d runs at once across the replicas, want 1", maxRunning)
			}
		})
	}
}

// A job (a refresh: run twice, it would burn the token's refresh chain)
// never runs on two replicas at once, whether asked on both at the same
// moment or taken over from a replica that lost its lease mid-run.
func TestAJobNeverRunsOnTwoReplicasAtOnce(t *testing.T) {
	for _, b := range testkit.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			loc, key := teststore.Location(t, b), testKey()
			const ttl = 1200 * time.Millisecond
			log := newRunLog()
			a := newReplica(t, loc, key, "A", ttl, log.task(JobRefresh, "@every 1h", "A", 200*time.Millisecond))
			bb := newReplica(t, loc, key, "B", ttl, log.task(JobRefresh, "@every 1h", "B", 200*time.Millisecond))

			var elsewhere atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 10 {
				r := a
				if i%2 == 1 {
					r = bb
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					err := r.s.RunNow(context.Background(), JobRefresh)
					if errors.Is(err, ErrRunningElsewhere) {
						elsewhere.Add(1)
					} else if err != nil && !errors.Is(err, ErrAlreadyRunning) {
						t.Error(err)
					}
				}()
			}
			close(start)
			wg.Wait()
			by, maxRunning := log.counts()
			if maxRunning != 1 {
				t.Fatalf("%d refreshes at once (runs %v), want 1", maxRunning, by)
			}
			if elsewhere.Load() == 0 {
				t.Error("no RunNow was refused as running on the other replica")
			}

			// A starts a long refresh, then freezes: its run is cancelled
			// before its lease can expire, and only then may B run one.
			for len(log.started) > 0 {
				<-log.started // the starts above
			}
			aDone := make(chan error, 1)
			go func() {
				aDone <- a.s.RunAs(context.Background(), JobRefresh, log.task(JobRefresh, "", "A", time.Minute).Run)
			}()
			for who := <-log.started; who != "A"; who = <-log.started {
			}
			a.leases.cut.Store(true)
			for {
				err := bb.s.RunNow(context.Background(), JobRefresh)
				if err == nil {
					break
				}
				if !errors.Is(err, ErrRunningElsewhere) {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := <-aDone; !errors.Is(err, context.Canceled) {
				t.Errorf("A's run ended with %v, want cancelled", err)
			}
			if _, maxRunning := log.counts(); maxRunning != 1 {
				t.Errorf("B's refresh started while A's still ran (%d at once)", maxRunning)
			}
		})
	}
}
