package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dirNames lists a directory, to see that nothing was left behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// A backup taken while the store writes on is one consistent database:
// every post set it holds is one the writer committed whole, and its token
// decrypts with the same key.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	path := filepath.Join(t.TempDir(), "vitrine.db")
	s, err := Open(path, key)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SaveToken(ctx, aToken()); err != nil {
		t.Fatal(err)
	}
	// Each round replaces the posts with ten whose ids all carry the
	// round's number: a copy mixing two rounds would show it.
	round := func(n int) []Post {
		var posts []Post
		for i := range 10 {
			posts = append(posts, aPost(fmt.Sprintf("r%d-p%d", n, i), withChildren(fmt.Sprintf("r%d-c%d", n, i))))
		}
		return posts
	}
	if _, err := s.ReplacePosts(ctx, round(0)); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 1; !stop.Load(); n++ {
			if _, err := s.ReplacePosts(ctx, round(n)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	backups := t.TempDir()
	for i := range 5 {
		dest := filepath.Join(backups, fmt.Sprintf("b%d.db", i))
		c, err := Backup(ctx, path, dest)
		if err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("Backup: %v", err)
		}
		if c.Posts != 10 || c.SchemaVersion != SchemaVersion || c.Account != "vitrine.owner" || c.Bytes == 0 {
			t.Errorf("Backup = %+v", c)
		}
	}
	stop.Store(true)
	wg.Wait()

	for i := range 5 {
		dest := filepath.Join(backups, fmt.Sprintf("b%d.db", i))
		if info, err := os.Stat(dest); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want mode 0600", dest, info.Mode(), err)
		}
		b, err := Open(dest, key)
		if err != nil {
			t.Fatal(err)
		}
		posts, err := b.Posts(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		prefix := strings.SplitN(posts[0].ID, "-", 2)[0] + "-"
		for _, p := range posts {
			if !strings.HasPrefix(p.ID, prefix) || len(p.Children) != 1 || !strings.HasPrefix(p.Children[0].ID, prefix) {
				t.Errorf("backup %d mixes rounds: %s among %s", i, p.ID, prefix)
			}
		}
		if tok, err := b.Token(ctx); err != nil || tok.AccessToken != secretToken {
			t.Errorf("backup %d token: %v", i, err)
		}
		b.Close()
	}
	// The token is as encrypted in the copy as in the original.
	raw, _ := os.ReadFile(filepath.Join(backups, "b0.db"))
	if bytes.Contains(raw, []byte(secretToken)) {
		t.Error("the backup holds the token in clear")
	}
	if names := dirNames(t, backups); len(names) != 5 {
		t.Errorf("backup directory holds %v, want the five backups only", names)
	}
}

func TestBackupRefusals(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	_ = s
	dir := t.TempDir()

	existing := filepath.Join(dir, "existing.db")
	os.WriteFile(existing, []byte("keep me"), 0o600)
	if _, err := Backup(ctx, path, existing); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Error("the existing file was changed")
	}

	missing := filepath.Join(dir, "none", "vitrine.db")
	if _, err := Backup(ctx, missing, filepath.Join(dir, "b.db")); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("of a missing database: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, os.ErrNotExist) {
		t.Error("backing up a missing database created it")
	}
	if _, err := Backup(ctx, path, filepath.Join(dir, "no-such-dir", "b.db")); err == nil || !strings.Contains(err.Error(), "no directory") {
		t.Errorf("into a missing directory: %v", err)
	}
	if _, err := Backup(ctx, "postgres://u:pw@localhost/db", filepath.Join(dir, "b.db")); !errors.Is(err, ErrBackupPostgres) {
		t.Errorf("of PostgreSQL: %v", err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"existing.db"}) {
		t.Errorf("left behind: %v", names)
	}
}

// A restore puts a checked copy in place, migrated, or nothing at all.
func TestRestore(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	orig := filepath.Join(t.TempDir(), "vitrine.db")
	s, err := Open(orig, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveToken(ctx, aToken()); err != nil {
		t.Fatal(err)
	}
	replace(t, s, aPost("a"), aPost("b"))
	if _, err := s.HidePost(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	// A sync running when the backup is taken holds its job's lease.
	if held, err := s.AcquireLease(ctx, "job:sync", "cli-during-the-backup", time.Hour); err != nil || !held {
		t.Fatalf("AcquireLease = %v, %v", held, err)
	}
	s.Close()
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := Backup(ctx, orig, backup); err != nil {
		t.Fatal(err)
	}

	refused := func(name, src, dataDir string, key []byte, want string) {
		t.Helper()
		before := dirNames(t, dataDir)
		_, err := Restore(ctx, src, filepath.Join(dataDir, "vitrine.db"), key)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Restore = %v, want an error saying %q", name, err, want)
		}
		if after := dirNames(t, dataDir); !slices.Equal(before, after) {
			t.Errorf("%s: the data directory went from %v to %v", name, before, after)
		}
	}
	refused("over a database", backup, filepath.Dir(orig), key, "already exists")
	refused("with another key", backup, t.TempDir(), newKey(t), "cannot be decrypted")
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	os.WriteFile(garbage, bytes.Repeat([]byte("not sqlite "), 1000), 0o600)
	refused("of a file that is no database", garbage, t.TempDir(), key, "garbage.db")
	refused("of a missing file", filepath.Join(t.TempDir(), "none.db"), t.TempDir(), key, "none.db")

	newer := filepath.Join(t.TempDir(), "newer.db")
	copyTestFile(t, backup, newer)
	n, _ := Open(newer, key, WithoutMigrating())
	n.db.Exec("UPDATE schema_version SET version = ?", SchemaVersion+1)
	n.Close()
	refused("of a newer schema", newer, t.TempDir(), key, "newer than version")

	dataDir := filepath.Join(t.TempDir(), "data") // made by the restore
	before, _ := os.ReadFile(backup)
	c, err := Restore(ctx, backup, filepath.Join(dataDir, "vitrine.db"), key)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if after, _ := os.ReadFile(backup); !bytes.Equal(before, after) {
		t.Error("restoring changed the backup")
	}
	if c.Posts != 2 || c.Account != "vitrine.owner" || c.SchemaVersion != SchemaVersion {
		t.Errorf("Restore = %+v", c)
	}
	if names := dirNames(t, dataDir); !slices.Equal(names, []string{"vitrine.db"}) {
		t.Errorf("data directory holds %v", names)
	}
	r, err := Open(filepath.Join(dataDir, "vitrine.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	posts, _ := r.Posts(ctx, 0)
	mod, _ := r.Moderation(ctx)
	tok, err := r.Token(ctx)
	if !slices.Equal(postIDs(posts), []string{"a", "b"}) || len(mod) != 1 || !mod[0].Hidden() || err != nil || tok.AccessToken != secretToken {
		t.Errorf("restored posts %v, moderation %+v, token %v", postIDs(posts), mod, err)
	}
	// That process does not run the restored database: its first sync
	// must not wait out the lease.
	if holder, _, ok, err := r.LeaseHolder(ctx, "job:sync"); ok || err != nil {
		t.Errorf("the restored database keeps the backup's lease of %q (%v)", holder, err)
	}
}

// The previous release's database restores too, migrated on the way.
func TestRestoreThePreviousRelease(t *testing.T) {
	dir := t.TempDir()
	copyTestFile(t, filepath.Join(previousRelease, "secret.key"), filepath.Join(dir, KeyFileName))
	key, err := LoadOrCreateKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Restore(context.Background(), filepath.Join(previousRelease, "vitrine.db"), filepath.Join(dir, "vitrine.db"), key)
	if err != nil || c.SchemaVersion != SchemaVersion || c.Posts != 3 || c.Account != "vitrine.studio" {
		t.Errorf("Restore = %+v, %v", c, err)
	}
}
