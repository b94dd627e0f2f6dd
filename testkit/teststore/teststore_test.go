package teststore

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"vitrine/store"
	"vitrine/testkit"
)

// Each test gets its own copy of the template: it has the store's tables
// without migrating, and what one copy holds the next one does not.
func TestCopiesAreMigratedAndIndependent(t *testing.T) {
	for _, b := range testkit.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			key := make([]byte, store.KeySize)
			_, _ = rand.Read(key)
			first := Open(t, Location(t, b), key)
			if err := first.SetState(ctx, "k", "first"); err != nil {
				t.Fatal(err)
			}
			if _, err := first.ReplacePosts(ctx, []store.Post{{ID: "17900000000000001", MediaType: "IMAGE", Permalink: "https://www.instagram.com/p/x/"}}); err != nil {
				t.Fatal(err)
			}
			second := Open(t, Location(t, b), key)
			if v, ok, err := second.State(ctx, "k"); err != nil || ok {
				t.Errorf("a new copy has state %q %v %v, want none", v, ok, err)
			}
			if n, err := second.PostCount(ctx); err != nil || n != 0 {
				t.Errorf("a new copy has %d posts (%v), want 0", n, err)
			}
			if err := second.IntegrityCheck(ctx); err != nil {
				t.Error(err)
			}
		})
	}
}

// SQLiteAt puts the copy where it is asked to, creating the directory.
func TestSQLiteAt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "vitrine.db")
	if got := SQLiteAt(t, path); got != path {
		t.Fatalf("SQLiteAt = %q, want %q", got, path)
	}
	key := make([]byte, store.KeySize)
	st := Open(t, path, key)
	if err := st.SetState(context.Background(), "k", "v"); err != nil {
		t.Fatal(err)
	}
}
