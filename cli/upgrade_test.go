package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"vitrine/store"
	"vitrine/testkit/testvitrine"
)

// `vitrine serve` on a database a newer Vitrine upgraded exits 1, saying
// both schema versions, and leaves it alone.
func TestServeRefusesANewerSchema(t *testing.T) {
	v := testvitrine.New(t, testvitrine.Posts(1))
	configureFromEnv(t, v)
	path := v.Config.DatabasePath() // migrated, at this binary's version
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
	if got := schemaVersion(t, path); got != newer {
		t.Errorf("the recorded version became %d", got)
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

// `vitrine status` on a database this binary would upgrade (the previous
// release's, a new binary installed while the old server runs) says so,
// exits 1, and leaves it alone: only the server migrates, after the
// backup the upgrade asks for.
func TestStatusDoesNotUpgrade(t *testing.T) {
	dataDir := t.TempDir()
	for _, f := range []string{"vitrine.db", store.KeyFileName} {
		b, err := os.ReadFile(filepath.Join("..", "store", "testdata", "release-7d87642", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dataDir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("VITRINE_DATA_DIR", dataDir)
	before, _ := os.ReadFile(filepath.Join(dataDir, "vitrine.db"))
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"status"}, nil, &out, &errOut)
	if code != ExitFailure || !strings.Contains(errOut.String(), "older than version") || !strings.Contains(errOut.String(), "vitrine serve") {
		t.Errorf("status of the previous release's database: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if after, _ := os.ReadFile(filepath.Join(dataDir, "vitrine.db")); !bytes.Equal(before, after) {
		t.Error("status changed the database")
	}
}
