package testkit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresEnv names the PostgreSQL server the tests may create databases
// on, as a URL whose user may CREATE DATABASE (.ci/postgres.sh starts one).
const PostgresEnv = "VITRINE_TEST_POSTGRES_URL"

// Backend is a kind of database the store runs on; New returns where a
// fresh, empty one is, for store.Open.
type Backend struct {
	Name string
	New  func(t testing.TB) string
}

// Backends are the databases the store's callers are tested on: an SQLite
// file, and a PostgreSQL database when PostgresEnv is set (see
// PostgresURL for when it is not).
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", New: SQLitePath},
		{Name: "postgres", New: PostgresURL},
	}
}

// SQLitePath is a fresh SQLite file's path in the test's temp directory.
func SQLitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "vitrine.db")
}

var server struct {
	once sync.Once
	url  *url.URL
	db   *sql.DB
	err  error
}

// postgresServer connects, once per test binary, to the server
// PostgresEnv names. Without PostgresEnv the test is skipped, or fails
// when CI is set: CI must not pass by silently testing SQLite alone.
func postgresServer(t testing.TB) (*sql.DB, url.URL) {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests (.ci/run starts a server with .ci/postgres.sh)", PostgresEnv)
		}
		t.Skipf("%s is not set; start a server with .ci/postgres.sh to run the PostgreSQL half", PostgresEnv)
	}
	server.once.Do(func() {
		if server.url, server.err = url.Parse(base); server.err != nil {
			server.err = fmt.Errorf("%s is not a URL", PostgresEnv)
			return
		}
		server.db, server.err = sql.Open("pgx", base)
		if server.err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			server.err = server.db.PingContext(ctx)
		}
		if server.err != nil {
			server.err = fmt.Errorf("PostgreSQL at %s: %w", server.url.Redacted(), server.err)
		}
	})
	if server.err != nil {
		t.Fatal(server.err)
	}
	return server.db, *server.url
}

// PostgresURL creates an empty database with a random name on the server
// PostgresEnv names and returns its URL; the database is dropped when the
// test ends. Without PostgresEnv the test is skipped, or fails when CI is
// set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return newPostgresDatabase(t, "")
}

// newPostgresDatabase creates a database for one test, a copy of template
// unless that is empty, and returns its URL.
func newPostgresDatabase(t testing.TB, template string) string {
	t.Helper()
	db, u := postgresServer(t)
	name := "vitrine_test_" + randomHex()
	create := "CREATE DATABASE " + name
	if template != "" {
		create += " TEMPLATE " + template
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, create); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE: a connection the test leaked must not keep it alive.
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Schema makes the tables of a fresh database at location and then closes
// every connection it opened: for the store, store.Open and Close.
type Schema func(location string) error

// Migrated returns where a fresh database of b's kind is, for one test,
// that already has schema's tables (so that the test opens it without
// migrating, store.WithoutMigrating): a copy of a template database that
// schema made once in this test binary. A test binary has one schema (the
// store's, through testkit/teststore): the first one given makes the
// template of each backend.
//
// The copy of an SQLite template is a file in the test's temp directory;
// of a PostgreSQL one, a database made with CREATE DATABASE … TEMPLATE and
// dropped when the test ends (see PostgresURL for when PostgresEnv is not
// set).
func (b Backend) Migrated(t testing.TB, schema Schema) string {
	t.Helper()
	switch b.Name {
	case "sqlite":
		return MigratedSQLite(t, filepath.Join(t.TempDir(), "vitrine.db"), schema)
	case "postgres":
		db, u := postgresServer(t)
		name, err := templates.postgres.get(func() (string, error) { return makePostgresTemplate(db, u, schema) })
		if err != nil {
			t.Fatalf("PostgreSQL template database: %v", err)
		}
		return newPostgresDatabase(t, name)
	}
	t.Fatalf("testkit: no backend %q", b.Name)
	return ""
}

// MigratedSQLite writes a copy of the SQLite template (see Migrated) at
// path, for code that opens its database at a fixed place such as a data
// directory, and returns path.
func MigratedSQLite(t testing.TB, path string, schema Schema) string {
	t.Helper()
	data, err := templates.sqlite.get(func() (string, error) { return makeSQLiteTemplate(schema) })
	if err != nil {
		t.Fatalf("SQLite template database: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// templates are this test binary's template databases: an SQLite file's
// contents, and a PostgreSQL database's name.
var templates struct{ sqlite, postgres lazyTemplate }

// lazyTemplate is made by the first test that needs it; a failure is
// every such test's.
type lazyTemplate struct {
	once sync.Once
	val  string
	err  error
}

func (l *lazyTemplate) get(build func() (string, error)) (string, error) {
	l.once.Do(func() { l.val, l.err = build() })
	return l.val, l.err
}

// makeSQLiteTemplate runs schema on a file in a directory of its own and
// returns the file's contents: the directory goes at once, the test
// binary having no hook at exit to remove it later. Closed, the database
// is that one file (SQLite folds the WAL into it and removes the -wal file
// when the last connection closes).
func makeSQLiteTemplate(schema Schema) (string, error) {
	dir, err := os.MkdirTemp("", "vitrine-template-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "vitrine.db")
	if err := schema(path); err != nil {
		return "", err
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		return "", errors.New("the schema left the database open (a -wal file remains)")
	}
	data, err := os.ReadFile(path)
	return string(data), err
}

// makePostgresTemplate creates a database, runs schema on it, and returns
// its name. The template lives as long as this test binary: a connection
// held until the binary exits carries its name as application_name, and
// whoever makes the next template, in any test binary, drops those whose
// name no session carries any more (a test binary has no hook at exit to
// drop its own).
func makePostgresTemplate(db *sql.DB, u url.URL, schema Schema) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := "vitrine_template_" + randomHex()
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	// conn is never closed nor returned to the pool: it marks the template
	// in use until the process exits.
	if _, err := conn.ExecContext(ctx, "SET application_name = '"+name+"'"); err != nil {
		return "", err
	}
	rows, err := conn.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'vitrine\_template\_%'
		AND datname NOT IN (SELECT application_name FROM pg_stat_activity WHERE application_name IS NOT NULL)`)
	if err != nil {
		return "", err
	}
	var stale []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return "", err
		}
		stale = append(stale, n)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, n := range stale {
		// Another user's, or gone meanwhile: not ours to worry about.
		_, _ = conn.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+n+`" WITH (FORCE)`)
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	u.Path = "/" + name
	if err := schema(u.String()); err != nil {
		return "", err
	}
	return name, nil
}
