package cli

import (
	"bytes"
	"context"
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
