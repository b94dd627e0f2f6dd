package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"vitrine/testkit"
)

// clock is a settable time source for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newKey(t testing.TB) []byte {
	t.Helper()
	key := make([]byte, KeySize)
	_, _ = rand.Read(key)
	return key
}

// openTest opens a store on a fresh temp file and closes it with the test.
func openTest(t testing.TB, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vitrine.db")
	s, err := Open(path, newKey(t), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func pragma(t *testing.T, s *Store, name string) string {
	t.Helper()
	var v string
	if err := s.db.Raw("PRAGMA " + name).Scan(&v).Error; err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestOpenSetsPragmas(t *testing.T) {
	s, _ := openTest(t)
	for name, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
		"busy_timeout": "5000",
	} {
		if got := pragma(t, s, name); got != want {
			t.Errorf("PRAGMA %s = %q, want %q", name, got, want)
		}
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if got := sqlDB.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("MaxOpenConnections = %d, want 1", got)
	}
	if err := s.IntegrityCheck(context.Background()); err != nil {
		t.Errorf("IntegrityCheck: %v", err)
	}
}

// WithSynchronousOff, for tests, turns off SQLite's waiting for the disk
// on commit and nothing else; without it (above) it stays FULL.
func TestWithSynchronousOff(t *testing.T) {
	s, _ := openTest(t, WithSynchronousOff())
	for name, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "0", // OFF
		"foreign_keys": "1",
		"busy_timeout": "5000",
	} {
		if got := pragma(t, s, name); got != want {
			t.Errorf("PRAGMA %s = %q, want %q", name, got, want)
		}
	}
	if err := s.SetState(context.Background(), "k", "v"); err != nil {
		t.Fatal(err)
	}
}

// WithoutMigrating trusts the schema to be there: on a database Open
// migrated the store works, on an empty one its tables are missing.
func TestWithoutMigrating(t *testing.T) {
	ctx := context.Background()
	_, migrated := openTest(t)
	s, err := Open(migrated, newKey(t), WithoutMigrating())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetState(ctx, "k", "v"); err != nil {
		t.Errorf("SetState on a migrated database: %v", err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil)) // gorm logs the failure
	empty, err := Open(filepath.Join(t.TempDir(), "v.db"), newKey(t), WithoutMigrating(), WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if err := empty.SetState(ctx, "k", "v"); err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Errorf("SetState on an empty database = %v, want no such table", err)
	}
}

func TestOpenCreatesParentDirAndHandlesOddPaths(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new dir", "odd ?name#%.db")
	s, err := Open(path, newKey(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.SetState(context.Background(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the path given: %v", err)
	}
}

func TestOpenRejectsBadKey(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "v.db"), make([]byte, 16))
	if err == nil || !strings.Contains(err.Error(), "32") {
		t.Fatalf("Open with a 16-byte key: err = %v, want one naming the 32-byte size", err)
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		path := b.New(t)
		key := newKey(t)
		s, err := Open(path, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveToken(ctx, aToken()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReplacePosts(ctx, []Post{aPost("p1", withChildren("c1", "c2"))}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		// Reopening migrates again; that must leave tables and rows alone.
		var logs bytes.Buffer
		s, err = Open(path, key, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Token(ctx); err != nil {
			t.Errorf("Token after reopen: %v", err)
		}
		posts, err := s.Posts(ctx, 0)
		if err != nil || len(posts) != 1 || len(posts[0].Children) != 2 {
			t.Errorf("Posts after reopen = %+v, %v", posts, err)
		}
		// Slow statements (over 200 ms: a loaded machine, PostgreSQL's
		// catalogue queries) are the log's business, not a schema change.
		for line := range strings.Lines(logs.String()) {
			if !strings.Contains(line, `msg="SQL executed"`) || !strings.Contains(line, "level=WARN") {
				t.Errorf("reopening logged: %s", line)
			}
		}
	})
}

func TestGormLogOmitsParameters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		var logs bytes.Buffer
		s, _ := b.open(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		err := s.db.Exec("INSERT INTO no_such_table VALUES (?)", "secret-parameter-value").Error
		if err == nil {
			t.Fatal("insert into a missing table succeeded")
		}
		if !strings.Contains(logs.String(), "no_such_table") {
			t.Fatalf("the failing statement was not logged; log:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), "secret-parameter-value") || strings.Contains(err.Error(), "secret-parameter-value") {
			t.Errorf("a parameter value reached the log or error:\n%s\n%v", logs.String(), err)
		}
	})
}

func TestStoreUsesInjectedClock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		if err := s.AddEvent(ctx, "test", LevelInfo, "hello"); err != nil {
			t.Fatal(err)
		}
		events, err := s.Events(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !events[0].At.Equal(c.Now()) {
			t.Errorf("event At = %v, want the injected %v", events[0].At, c.Now())
		}
	})
}

// The database holds the sessions' CSRF tokens and the cache: it and its
// -wal and -shm files are the owner's alone, whatever the umask, and a
// file an older version created 0644 is tightened when opened.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	if err := s.SetState(ctx, "k", "v"); err != nil { // writes the WAL
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s is %o, want 600", filepath.Base(p), perm)
		}
	}

	old := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(old, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if fi, err := os.Stat(old); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("an existing 0644 database after Open: %v %v", fi.Mode(), err)
	}
}

// backend is a kind of database the store's tests run on.
type backend struct{ testkit.Backend }

// forEachBackend runs test on SQLite and on PostgreSQL (skipped without
// VITRINE_TEST_POSTGRES_URL, failed so in CI).
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	t.Helper()
	for _, kb := range testkit.Backends() {
		t.Run(kb.Name, func(t *testing.T) { test(t, backend{kb}) })
	}
}

// open opens a store on a fresh database and closes it with the test; the
// second result is its location, for reopening.
func (b backend) open(t testing.TB, opts ...Option) (*Store, string) {
	t.Helper()
	loc := b.New(t)
	s, err := Open(loc, newKey(t), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, loc
}

// Replicas started at the same moment migrate the same fresh database at
// once: every one must come up, with the schema made once. Without the
// serialized migration they failed with "table `tokens` already exists".
func TestConcurrentOpensOfAFreshDatabase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		const n = 8
		loc, key := b.New(t), newKey(t)
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			errs   = make([]error, n)
			stores = make([]*Store, n)
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				stores[i], errs[i] = Open(loc, key)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Open %d of %d: %v", i+1, n, err)
				continue
			}
			defer stores[i].Close()
		}
		if t.Failed() {
			return
		}
		// Each sees the one schema: a write through one is read by another.
		ctx := context.Background()
		if err := stores[0].SetState(ctx, "k", "v"); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := stores[n-1].State(ctx, "k"); err != nil || !ok || v != "v" {
			t.Errorf("State through another handle = %q %v %v", v, ok, err)
		}
	})
}

// The URL's password never shows: not in Redact, not in Open's error when
// the server can't be reached.
func TestPostgresURLPasswordNeverShows(t *testing.T) {
	const pw = "hunter2-s3cret"
	for in, want := range map[string]string{
		"postgres://vitrine:" + pw + "@db.internal:5432/v":       "postgres://vitrine:xxxxx@db.internal:5432/v",
		"postgresql://db.internal/v?password=" + pw + "&x=1":     "postgresql://db.internal/v?password=xxxxx&x=1",
		"postgres://vitrine@db.internal/v?sslmode=verify-full":   "postgres://vitrine@db.internal/v?sslmode=verify-full",
		"/var/lib/vitrine/vitrine.db":                            "/var/lib/vitrine/vitrine.db",
		"postgres://vitrine:" + pw + "@db.internal:bad-port/v%z": "postgres://(unparsable URL)",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	// Port 1 on loopback refuses at once.
	for _, u := range []string{
		"postgres://vitrine:" + pw + "@127.0.0.1:1/v?sslmode=disable&connect_timeout=5",
		"postgres://vitrine@127.0.0.1:1/v?sslmode=disable&connect_timeout=5&password=" + pw,
		"postgres://vitrine:" + pw + "@127.0.0.1:bad/v",
	} {
		_, err := Open(u, newKey(t))
		if err == nil {
			t.Fatalf("Open of an unreachable server succeeded")
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Open's error shows the password: %v", err)
		}
	}
}
