package store

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

var updateSchema = flag.Bool("update-schema", false, "record the schema of this SchemaVersion (TestSchemaIsRecorded)")

// previousRelease holds databases written by the release before schema
// versions were recorded (commit 7d87642), by that commit's own code:
// mkfixture.go there, as `-demo -demo-connect -demo-posts 3` would, then
// one post hidden and one pinned. vitrine.db is its SQLite file and
// secret.key its key; postgres.sql is `pg_dump --inserts` of the same run on
// PostgreSQL, and postgres-secret.key that run's key.
const previousRelease = "testdata/release-7d87642"

// What the previous release's demo account had: three posts (the third a
// carousel of three), seven mirrored images (one with its video), the
// first post hidden and the second pinned.
var (
	previousPosts  = []string{"17547411288974813", "18763093207727107", "18692746431274247"}
	previousHidden = "17547411288974813"
	previousPinned = "18763093207727107"
)

// openPreviousRelease opens a copy of the previous release's database of
// backend b, migrating it, with that release's key.
func openPreviousRelease(t *testing.T, b backend, opts ...Option) (s *Store, loc string, key []byte) {
	t.Helper()
	var keyFile string
	switch b.Name {
	case "sqlite":
		loc = filepath.Join(t.TempDir(), "vitrine.db")
		copyTestFile(t, filepath.Join(previousRelease, "vitrine.db"), loc)
		keyFile = "secret.key"
	case "postgres":
		loc = b.New(t) // skips without VITRINE_TEST_POSTGRES_URL
		loadDump(t, loc, filepath.Join(previousRelease, "postgres.sql"))
		keyFile = "postgres-secret.key"
	default:
		t.Fatalf("no previous release's database for %s", b.Name)
	}
	keyDir := t.TempDir()
	copyTestFile(t, filepath.Join(previousRelease, keyFile), filepath.Join(keyDir, KeyFileName))
	key, err := LoadOrCreateKey(keyDir, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(loc, key, opts...)
	if err != nil {
		t.Fatalf("Open of the previous release's database: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, loc, key
}

func copyTestFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// loadDump replays a plain pg_dump into the empty database at url, on one
// connection: the dump's SETs (its search_path) stay on it.
func loadDump(t *testing.T, url, dump string) {
	t.Helper()
	sql, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, string(sql)); err != nil {
		t.Fatalf("replaying %s: %v", dump, err)
	}
}

// An upgrade loses nothing: the previous release's database opens, is
// migrated to this version (recorded), and still has the connection and
// its token, the posts, the images, the owner's decisions, and no
// appearance settings (that release had none); then it takes new ones.
func TestUpgradeFromThePreviousRelease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, loc, key := openPreviousRelease(t, b)

		if v, err := s.SchemaVersion(ctx); err != nil || v != SchemaVersion {
			t.Errorf("SchemaVersion = %d, %v; want %d", v, err, SchemaVersion)
		}
		tok, err := s.Token(ctx)
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		if tok.AccessToken == "" || tok.UserID != "17841405793187218" || tok.Username != "vitrine.studio" ||
			tok.Status != StatusValid || !tok.ExpiresAt.After(tok.IssuedAt) {
			t.Errorf("token = %v (secret empty: %t)", tok, tok.AccessToken == "")
		}

		posts, err := s.Posts(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range posts {
			ids = append(ids, p.ID)
		}
		if !slices.Equal(ids, previousPosts) {
			t.Errorf("posts = %v, want %v", ids, previousPosts)
		} else if c := posts[2]; c.MediaType != "CAROUSEL_ALBUM" || len(c.Children) != 3 || c.Permalink == "" {
			t.Errorf("carousel = %+v", c)
		}

		images, err := s.Images(ctx)
		if err != nil {
			t.Fatal(err)
		}
		videos := 0
		for _, im := range images {
			if len(im.Variants) == 0 || im.Color == "" || im.Width == 0 {
				t.Errorf("image %s lost its record: %+v", im.MediaID, im)
			}
			for _, v := range im.Variants {
				// Made before WebP: none yet, for the mirror to add.
				if !strings.HasPrefix(v.Path, im.MediaID+"/") || v.Bytes == 0 || v.WebPPath != "" || v.WebPBytes != 0 {
					t.Errorf("image %s variant %+v", im.MediaID, v)
				}
			}
			if im.VideoPath != "" {
				videos++
			}
		}
		if len(images) != 7 || videos != 1 {
			t.Errorf("%d images, %d with a video; want 7 and 1", len(images), videos)
		}

		mod, err := s.Moderation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var hidden, pinned []string
		for _, m := range mod {
			if m.Hidden() {
				hidden = append(hidden, m.PostID)
			}
			if !m.PinnedAt.IsZero() {
				pinned = append(pinned, m.PostID)
			}
		}
		if !slices.Equal(hidden, []string{previousHidden}) || !slices.Equal(pinned, []string{previousPinned}) {
			t.Errorf("hidden %v, pinned %v; want [%s] and [%s]", hidden, pinned, previousHidden, previousPinned)
		}

		if saved, err := s.GallerySettings(ctx); err != nil || len(saved) != 0 {
			t.Errorf("GallerySettings = %v, %v; want none", saved, err)
		}
		if err := s.SaveGallerySettings(ctx, map[string]string{"layout": "carousel"}); err != nil {
			t.Fatalf("SaveGallerySettings after the upgrade: %v", err)
		}
		if err := s.IntegrityCheck(ctx); err != nil {
			t.Error(err)
		}

		// The upgraded tables are those a new database gets.
		fresh, _ := b.open(t)
		if got, want := tableShapes(t, s), tableShapes(t, fresh); !slices.Equal(got, want) {
			t.Errorf("upgraded schema differs from a new one:\n got %v\nwant %v", got, want)
		}

		// Reopening finds the version recorded and changes nothing.
		gen, _ := s.Generation(ctx)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := Open(loc, key)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer again.Close()
		if g, _ := again.Generation(ctx); g != gen {
			t.Errorf("generation %d after reopening, want %d", g, gen)
		}
	})
}

// tableShapes lists every table's columns with their types and
// nullability, as the database reports them.
func tableShapes(t *testing.T, s *Store) []string {
	t.Helper()
	m := s.db.Migrator()
	tables, err := m.GetTables()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, table := range tables {
		if strings.HasPrefix(table, "sqlite_") {
			continue
		}
		cols, err := m.ColumnTypes(table)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			null, _ := c.Nullable()
			out = append(out, table+"."+c.Name()+" "+c.DatabaseTypeName()+map[bool]string{true: " null", false: ""}[null])
		}
	}
	slices.Sort(out)
	return out
}

// A database a newer Vitrine migrated is refused, naming both versions,
// and left exactly as it was: no table made, no row changed.
func TestNewerSchemaIsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		loc, key := b.New(t), newKey(t)
		s, err := Open(loc, key)
		if err != nil {
			t.Fatal(err)
		}
		newer := SchemaVersion + 1
		if err := s.db.Model(&schemaRow{}).Where("id = ?", schemaRowID).Update("version", newer).Error; err != nil {
			t.Fatal(err)
		}
		// A table this binary's migration would make if it went ahead.
		if err := s.db.Migrator().DropTable(&gallerySettingRow{}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		_, err = Open(loc, key)
		var refused *NewerSchemaError
		if !errors.As(err, &refused) || refused.Found != newer || refused.Known != SchemaVersion {
			t.Fatalf("Open = %v, want a NewerSchemaError %d > %d", err, newer, SchemaVersion)
		}
		for _, want := range []string{"version " + strconv.Itoa(newer), "version " + strconv.Itoa(SchemaVersion), "newer"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}

		raw, err := Open(loc, key, WithoutMigrating())
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if raw.db.Migrator().HasTable(&gallerySettingRow{}) {
			t.Error("the refused Open migrated anyway: gallery_settings is back")
		}
		if v, err := raw.SchemaVersion(ctx); err != nil || v != newer {
			t.Errorf("recorded version = %d, %v; want %d untouched", v, err, newer)
		}
	})
}

// A new database records this version; one without any record but with
// the first release's tables is version 1.
func TestSchemaVersionOfNewAndUnrecordedDatabases(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if v, err := s.SchemaVersion(ctx); err != nil || v != SchemaVersion {
		t.Errorf("new database: %d, %v; want %d", v, err, SchemaVersion)
	}
	if err := s.db.Migrator().DropTable(&schemaRow{}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != 1 {
		t.Errorf("tables without a record: %d, %v; want 1", v, err)
	}
}

// The schema this version makes is the one recorded for SchemaVersion in
// testdata: a change to the tables without a new version (and a line in
// CHANGELOG.md saying what the upgrade does) fails here. After a
// deliberate change: bump SchemaVersion (unless its release is still
// unreleased, as the CHANGELOG says), then
// `go test ./store -run TestSchemaIsRecorded -update-schema`.
func TestSchemaIsRecorded(t *testing.T) {
	s, _ := openTest(t)
	got := strings.Join(tableShapes(t, s), "\n") + "\n"
	path := filepath.Join("testdata", "schema", "sqlite-v"+strconv.Itoa(SchemaVersion)+".txt")
	if *updateSchema {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no schema recorded for version %d (%v): bump SchemaVersion only with -update-schema", SchemaVersion, err)
	}
	if got != string(want) {
		t.Errorf("the tables differ from those recorded for schema version %d in %s: a schema change needs a new "+
			"SchemaVersion, a CHANGELOG.md line, and -update-schema.\n got:\n%s\nwant:\n%s", SchemaVersion, path, got, want)
	}
}

// An inspecting Open (vitrine status) never upgrades: the previous
// release's database is refused as older, and left exactly as it was;
// once the server migrated it, it opens.
func TestInspectingLeavesAnOlderDatabaseAlone(t *testing.T) {
	dir := t.TempDir()
	loc := filepath.Join(dir, "vitrine.db")
	copyTestFile(t, filepath.Join(previousRelease, "vitrine.db"), loc)
	before, err := os.ReadFile(loc)
	if err != nil {
		t.Fatal(err)
	}
	copyTestFile(t, filepath.Join(previousRelease, "secret.key"), filepath.Join(dir, KeyFileName))
	key, err := LoadOrCreateKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(loc, key, Inspecting())
	var older *OlderSchemaError
	if !errors.As(err, &older) || older.Found != 1 || older.Known != SchemaVersion || !strings.Contains(err.Error(), "vitrine serve") {
		t.Fatalf("inspecting the previous release's database: %v; want an OlderSchemaError 1 < %d", err, SchemaVersion)
	}
	if after, _ := os.ReadFile(loc); !slices.Equal(before, after) {
		t.Error("inspecting changed the previous release's database")
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(loc + suffix)
	}

	s, err := Open(loc, key) // the server's open migrates
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(loc, key, Inspecting())
	if err != nil {
		t.Fatalf("inspecting a migrated database: %v", err)
	}
	defer s.Close()
	if posts, err := s.PostCount(context.Background()); err != nil || posts != int64(len(previousPosts)) {
		t.Errorf("PostCount = %d, %v; want %d", posts, err, len(previousPosts))
	}
}
