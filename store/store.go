// Package store keeps Vitrine's durable state in SQLite: the owner's
// Instagram token (encrypted at rest), the cached posts, an audit log of
// events and a little key/value state for the jobs. It knows nothing about
// HTTP or Instagram; callers hand it plain values.
package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is the handle on one SQLite database. It is safe for concurrent use.
type Store struct {
	db   *gorm.DB
	aead tokenCipher
	now  func() time.Time

	maxEvents int // MaxEvents; tests lower it
}

type options struct {
	now func() time.Time
	log *slog.Logger
}

// Option changes how Open sets up a Store.
type Option func(*options)

// WithClock makes the store stamp rows with now instead of time.Now, so tests
// can move time without waiting.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithLogger sends gorm's warnings and errors to l instead of slog.Default().
// SQL is logged without its parameter values whichever logger is used.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// Open opens (creating if needed) the SQLite database at path, creates its
// parent directory, and migrates the schema. key is the 32-byte secret from
// LoadOrCreateKey; it encrypts the Instagram token.
func Open(path string, key []byte, opts ...Option) (*Store, error) {
	o := options{now: time.Now, log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	aead, err := newTokenCipher(key)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if path == "" {
		return nil, errors.New("store: open: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: open: create directory: %w", err)
	}
	if err := ownerOnly(abs); err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}

	s := &Store{aead: aead, now: func() time.Time { return o.now().UTC() }, maxEvents: MaxEvents}
	db, err := gorm.Open(sqlite.Open(dsn(abs)), &gorm.Config{
		// Parameter values never reach the log: they include the token
		// ciphertext and whatever callers store.
		Logger: logger.NewSlogLogger(o.log, logger.Config{
			SlowThreshold:             200 * time.Millisecond,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
		}),
		NowFunc: s.now,
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// SQLite allows one writer at a time. With a single connection our own
	// goroutines queue in database/sql instead of racing for the write lock
	// and failing with SQLITE_BUSY; reads are small and fast enough that
	// serializing them costs nothing noticeable here.
	sqlDB.SetMaxOpenConns(1)
	// Keep that connection: reopening would re-run the DSN pragmas and
	// throw away SQLite's page cache.
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	s.db = db

	if err := s.migrate(); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return s, nil
}

// ownerOnly makes the database file readable by its owner only, before
// SQLite opens it: it holds the sessions' CSRF tokens and the cache, and
// SQLite gives the -wal and -shm files the database file's permissions. A
// file from an older version, created 0644, is tightened too.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// dsn builds the go-sqlite3 connection string.
//   - WAL lets readers (another process running `vitrine status`) proceed
//     while we write, and makes a commit a single append to the log.
//   - busy_timeout waits up to 5 s for a lock held by another process instead
//     of failing at once.
//   - foreign_keys makes deleting a post delete its carousel children.
//   - synchronous=FULL fsyncs the WAL on every commit: a refreshed token that
//     is lost to a power cut may already have replaced the one Instagram
//     still accepts, so durability beats write speed (we write rarely).
//     Explicit because go-sqlite3 picks NORMAL for WAL otherwise.
//   - txlock=immediate takes the write lock at BEGIN, so a transaction that
//     reads then writes can't fail half-way with SQLITE_BUSY.
func dsn(path string) string {
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() +
		"?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=FULL&_txlock=immediate"
}

func (s *Store) migrate() error {
	if err := s.db.AutoMigrate(&tokenRow{}, &postRow{}, &childRow{}, &eventRow{}, &stateRow{},
		&imageRow{}, &imageVariantRow{}, &jobRunRow{}, &adminSessionRow{}, &moderationRow{}, &generationRow{}); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// Close closes the database. SQLite checkpoints the WAL when the last
// connection closes.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	if err := sqlDB.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check and returns an error listing
// the first problems unless SQLite answers "ok".
func (s *Store) IntegrityCheck(ctx context.Context) error {
	var rows []string
	if err := s.db.WithContext(ctx).Raw("PRAGMA integrity_check(20)").Scan(&rows).Error; err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if len(rows) == 1 && rows[0] == "ok" {
		return nil
	}
	return fmt.Errorf("store: integrity check failed: %s", strings.Join(rows, "; "))
}

// Ping reports whether the database answers; cheap enough for a readiness
// probe, unlike IntegrityCheck, which reads every page.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}
