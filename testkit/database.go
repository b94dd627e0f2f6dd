package testkit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
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
	db   *sql.DB
	err  error
}

// PostgresURL creates an empty database with a random name on the server
// PostgresEnv names and returns its URL; the database is dropped when the
// test ends. Without PostgresEnv the test is skipped, or fails when CI is
// set: CI must not pass by silently testing SQLite alone.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests (.ci/run starts a server with .ci/postgres.sh)", PostgresEnv)
		}
		t.Skipf("%s is not set; start a server with .ci/postgres.sh to run the PostgreSQL half", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL", PostgresEnv)
	}
	server.once.Do(func() {
		server.db, server.err = sql.Open("pgx", base)
		if server.err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			server.err = server.db.PingContext(ctx)
		}
	})
	if server.err != nil {
		t.Fatalf("PostgreSQL at %s: %v", u.Redacted(), server.err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "vitrine_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := server.db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE: a connection the test leaked must not keep it alive.
		if _, err := server.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
