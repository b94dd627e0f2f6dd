// Package teststore gives the tests of the store's callers a fresh
// database with the store's schema: a copy of a template that
// testkit.Backend.Migrated has the store migrate once per test binary,
// opened without migrating again and, on SQLite, without fsync
// (store.WithSynchronousOff). Tests whose subject is durability (the crash
// tests) or migration open their database with store.Open instead. It is
// apart from testkit because the store's own tests use testkit.
package teststore

import (
	"crypto/rand"
	"testing"

	"vitrine/store"
	"vitrine/testkit"
)

// SQLite is a fresh SQLite database with the store's schema in the test's
// temp directory; open it with Options.
func SQLite(t testing.TB) string {
	t.Helper()
	return Location(t, testkit.Backends()[0])
}

// SQLiteAt writes a fresh SQLite database with the store's schema at path
// (for code that finds it there, as in a data directory) and returns path;
// open it with Options.
func SQLiteAt(t testing.TB, path string) string {
	t.Helper()
	return testkit.MigratedSQLite(t, path, migrate)
}

// Location is a fresh database of b's kind with the store's schema; open it
// with Options.
func Location(t testing.TB, b testkit.Backend) string {
	t.Helper()
	return b.Migrated(t, migrate)
}

// Options are the options to open a database from this package with, then
// more: no migration (it has the schema) and no fsync.
func Options(more ...store.Option) []store.Option {
	return append([]store.Option{store.WithoutMigrating(), store.WithSynchronousOff()}, more...)
}

// Open opens location (from this package) with Options(more...) and closes
// the store when the test ends.
func Open(t testing.TB, location string, key []byte, more ...store.Option) *store.Store {
	t.Helper()
	st, err := store.Open(location, key, Options(more...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// migrate makes the template: what store.Open does to a fresh database.
// The key encrypts only tokens, which a template has none of.
func migrate(location string) error {
	key := make([]byte, store.KeySize)
	_, _ = rand.Read(key)
	st, err := store.Open(location, key, store.WithSynchronousOff())
	if err != nil {
		return err
	}
	return st.Close()
}
