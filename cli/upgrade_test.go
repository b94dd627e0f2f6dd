package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"vitrine/instagram/fake"
	"vitrine/store"
	"vitrine/testkit"
)

// `vitrine serve` on a database a newer Vitrine upgraded exits 1, saying
// both schema versions, and leaves it alone.
func TestServeRefusesANewerSchema(t *testing.T) {
	testkit.CleanEnv(t)
	const publicURL = "https://gallery.example.com"
	f := fake.New(fake.Options{RedirectURIs: []string{publicURL + "/admin/callback"}, Posts: 1})
	srv := httptest.NewServer(f)
	defer srv.Close()
	dataDir := configureFromEnv(t, f, f.Endpoints(srv.URL), publicURL)

	key, err := store.LoadOrCreateKey(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dataDir, "vitrine.db")
	st, err := store.Open(path, key)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	newer := store.SchemaVersion + 1
	setSchemaVersion(t, path, newer)

	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"serve", "-addr", "127.0.0.1:0"}, nil, &out, &errOut)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitFailure, errOut.String())
	}
	for _, want := range []string{"schema is version " + strconv.Itoa(newer), "version " + strconv.Itoa(store.SchemaVersion) + ", the newest this binary knows"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut.String())
		}
	}
	if strings.Contains(errOut.String(), "Vitrine is listening") {
		t.Error("it started serving")
	}
	if v := schemaVersion(t, path); v != newer {
		t.Errorf("the recorded version became %d", v)
	}
}

// setSchemaVersion plays the newer Vitrine that migrated the file.
func setSchemaVersion(t *testing.T, path string, v int) {
	t.Helper()
	db, err := gorm.Open(sqlite.Open(path), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeGorm(db)
	if err := db.Exec("UPDATE schema_version SET version = ?", v).Error; err != nil {
		t.Fatal(err)
	}
}

func schemaVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := gorm.Open(sqlite.Open(path), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeGorm(db)
	var v int
	if err := db.Raw("SELECT version FROM schema_version").Scan(&v).Error; err != nil {
		t.Fatal(err)
	}
	return v
}

func closeGorm(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}
