// Package store keeps Vitrine's durable state in SQLite, or in PostgreSQL
// when several replicas share it: the owner's Instagram token (encrypted at
// rest, as is one parked for the owner to confirm), the cached posts, an
// audit log of events, a little key/value state for the jobs, the leases
// and counters replicas coordinate through, and the signed callbacks from
// Meta already answered. It knows nothing about HTTP or Instagram; callers
// hand it plain values.
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is the handle on one database. It is safe for concurrent use.
type Store struct {
	db       *gorm.DB
	aead     tokenCipher
	now      func() time.Time
	postgres bool // else SQLite

	maxEvents int // MaxEvents; tests lower it

	health   health // CheckHealth's latest answer
	location string // what Open was given, to redact from errors
}

type options struct {
	now            func() time.Time
	log            *slog.Logger
	synchronousOff bool
	noMigrate      bool
	inspect        bool
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

// WithSynchronousOff opens an SQLite file with synchronous=OFF instead of
// FULL: commits return without waiting for the disk. A crash of this
// process still loses nothing, but a power cut or an OS crash can lose the
// last commits or corrupt the file. It is for tests whose subject is not
// durability, which it makes faster on a busy disk; Vitrine never uses it,
// and the crash tests must not. PostgreSQL's durability is the server's
// setting: the option changes nothing there.
func WithSynchronousOff() Option {
	return func(o *options) { o.synchronousOff = true }
}

// WithoutMigrating makes Open skip migrating: the caller vouches that the
// database already has this version's schema, being a copy of one that
// Open migrated (the tests' template databases, testkit). Migrating an
// up-to-date schema changes nothing but is not free: gorm reads the whole
// schema back, which costs more than the copy (on PostgreSQL, slow
// information_schema queries; on SQLite, under -race, parsing). Vitrine
// never uses it.
func WithoutMigrating() Option {
	return func(o *options) { o.noMigrate = true }
}

// Inspecting makes Open check the schema instead of migrating it, for a
// command that only reads (`vitrine status`): a database at this
// binary's version opens; an older one is refused with an
// *OlderSchemaError, a newer one with a *NewerSchemaError, and neither is
// changed. An operator checking on a server must not upgrade its
// database under it, nor before the backup the upgrade asks for.
func Inspecting() Option {
	return func(o *options) { o.inspect = true }
}

// Open opens the database at location and migrates its schema. location is
// either a postgres:// (or postgresql://) URL, or the path of an SQLite file,
// created with its parent directory if needed. key is the 32-byte secret from
// LoadOrCreateKey; it encrypts the Instagram token. Errors never show the
// URL's password. A database that a newer Vitrine has migrated is refused
// with a *NewerSchemaError, and left as it was.
func Open(location string, key []byte, opts ...Option) (*Store, error) {
	o := options{now: time.Now, log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	aead, err := newTokenCipher(key)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if location == "" {
		return nil, errors.New("store: open: empty database path")
	}
	// PostgreSQL keeps microseconds: the store's own stamps are cut to
	// that on both backends, so what is read back is what was written.
	s := &Store{aead: aead, now: func() time.Time { return o.now().UTC().Truncate(time.Microsecond) }, maxEvents: MaxEvents}
	gcfg := &gorm.Config{
		// Parameter values never reach the log: they include the token
		// ciphertext and whatever callers store.
		Logger: logger.NewSlogLogger(o.log, logger.Config{
			SlowThreshold:             200 * time.Millisecond,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
		}),
		NowFunc: s.now,
	}
	if IsPostgresURL(location) {
		s.postgres = true
		s.db, err = openPostgres(location, gcfg)
	} else {
		s.db, err = openSQLite(location, gcfg, o.synchronousOff)
	}
	if err != nil {
		return nil, err
	}
	s.health.h = Health{Up: true, Since: s.now(), CheckedAt: s.now()}
	s.location = location
	if o.noMigrate {
		return s, nil
	}
	if o.inspect {
		if err := s.checkSchema(); err != nil {
			_ = s.Close()
			return nil, redactErr(err, location)
		}
		return s, nil
	}
	if err := s.migrate(); err != nil {
		_ = s.Close()
		return nil, redactErr(err, location)
	}
	return s, nil
}

// IsPostgresURL reports whether location names a PostgreSQL database rather
// than an SQLite file.
func IsPostgresURL(location string) bool {
	return strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://")
}

// Backend names the kind of database: "sqlite" or "postgres".
func (s *Store) Backend() string {
	if s.postgres {
		return "postgres"
	}
	return "sqlite"
}

// Shared reports whether other processes may use the database as replicas
// of this one (PostgreSQL), rather than it being this process's own file.
func (s *Store) Shared() bool { return s.postgres }

func openSQLite(path string, gcfg *gorm.Config, synchronousOff bool) (*gorm.DB, error) {
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
	db, err := gorm.Open(sqlite.Open(dsn(abs, synchronousOff)), gcfg)
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
	return db, nil
}

// postgresPoolSize bounds the connections one process opens: a few
// requests, the jobs and the lease at once; replicas multiply it.
const postgresPoolSize = 8

func openPostgres(rawURL string, gcfg *gorm.Config) (*gorm.DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, redactErr(fmt.Errorf("store: open %s: %w", Redact(rawURL), err), rawURL)
	}
	// Times come back in UTC, as from SQLite, instead of the process's
	// local zone: the same instant either way, but callers compare and
	// print them.
	utc := stdlib.OptionAfterConnect(func(_ context.Context, conn *pgx.Conn) error {
		conn.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	})
	sqlDB := stdlib.OpenDB(*cfg, utc)
	sqlDB.SetMaxOpenConns(postgresPoolSize)
	sqlDB.SetMaxIdleConns(postgresPoolSize)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), gcfg)
	if err != nil {
		_ = sqlDB.Close()
		return nil, redactErr(fmt.Errorf("store: open %s: %w", Redact(rawURL), err), rawURL)
	}
	return db, nil
}

// Redact returns location fit for logs and errors: a URL's password, in
// its user part or as a parameter, becomes "xxxxx".
func Redact(location string) string {
	if !IsPostgresURL(location) {
		return location
	}
	u, err := url.Parse(location)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// redactErr makes sure no part of err's text repeats the URL's password,
// whatever a driver put in its messages; errors.Is and As still see err.
func redactErr(err error, location string) error {
	if err == nil || !IsPostgresURL(location) {
		return err
	}
	u, perr := url.Parse(location)
	if perr != nil {
		return redactedError{err: err, secrets: []string{location}}
	}
	var secrets []string
	if pw, ok := u.User.Password(); ok && pw != "" {
		secrets = append(secrets, pw, url.PathEscape(pw), url.QueryEscape(pw))
	}
	if pw := u.Query().Get("password"); pw != "" {
		secrets = append(secrets, pw, url.QueryEscape(pw))
	}
	return redactedError{err: err, secrets: secrets}
}

type redactedError struct {
	err     error
	secrets []string
}

func (e redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

func (e redactedError) Unwrap() error { return e.err }

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
//     Explicit because go-sqlite3 picks NORMAL for WAL otherwise. synchronousOff
//     (WithSynchronousOff, for tests) turns it OFF.
//   - txlock=immediate takes the write lock at BEGIN, so a transaction that
//     reads then writes can't fail half-way with SQLITE_BUSY.
func dsn(path string, synchronousOff bool) string {
	u := url.URL{Path: path}
	sync := "FULL"
	if synchronousOff {
		sync = "OFF"
	}
	return "file:" + u.EscapedPath() +
		"?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=" + sync + "&_txlock=immediate"
}

// migrationLockKey names the PostgreSQL advisory lock migrations take: any
// fixed 64-bit number no other application on the database uses.
const migrationLockKey = 0x76697472696e65 // "vitrine"

// moderationLockKey names the advisory lock the owner's hide and pin
// decisions take, one after the other (see moderate).
const moderationLockKey = migrationLockKey + 1

// migrate creates and updates the tables. Replicas started together run it
// at the same moment, so it runs in one transaction that first serializes
// them: on PostgreSQL an advisory lock held until commit; on SQLite the
// immediate transaction's write lock (the DSN's txlock), which the others
// wait for within busy_timeout. Whoever comes second finds the tables made
// and changes nothing. DDL is transactional on both, so a migration that
// fails leaves the schema as it was. A database whose recorded version is
// newer than SchemaVersion is refused before anything is changed.
func (s *Store) migrate() error {
	err := s.db.Transaction(func(tx *gorm.DB) error {
		if s.postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		found, err := schemaVersion(tx)
		if err != nil {
			return err
		}
		if found > SchemaVersion {
			return &NewerSchemaError{Found: found, Known: SchemaVersion}
		}
		if err := tx.AutoMigrate(&tokenRow{}, &postRow{}, &childRow{}, &eventRow{}, &stateRow{},
			&imageRow{}, &imageVariantRow{}, &jobRunRow{}, &adminSessionRow{}, &moderationRow{},
			&leaseRow{}, &counterRow{}, &generationRow{}, &callbackRow{}, &parkedRow{},
			&gallerySettingRow{}, &schemaRow{}); err != nil {
			return err
		}
		if found == SchemaVersion {
			return nil
		}
		// A step that AutoMigrate cannot make (a column renamed, data
		// moved) goes here, run when found is below the version that
		// needs it.
		return tx.Save(&schemaRow{ID: schemaRowID, Version: SchemaVersion, MigratedAt: s.now()}).Error
	})
	var newer *NewerSchemaError
	if errors.As(err, &newer) {
		return newer
	}
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// checkSchema refuses a schema other than SchemaVersion, changing
// nothing.
func (s *Store) checkSchema() error {
	found, err := schemaVersion(s.db)
	switch {
	case err != nil:
		return fmt.Errorf("store: %w", err)
	case found > SchemaVersion:
		return &NewerSchemaError{Found: found, Known: SchemaVersion}
	case found < SchemaVersion:
		return &OlderSchemaError{Found: found, Known: SchemaVersion}
	}
	return nil
}

// SchemaVersion returns the version the database's tables are at, as
// recorded by the migration that made them.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(s.db.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return v, nil
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
// the first problems unless SQLite answers "ok". PostgreSQL guards its own
// files (WAL, page checksums) and has no such query without extensions:
// there it only checks that the database answers.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	if s.postgres {
		return s.Ping(ctx)
	}
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
