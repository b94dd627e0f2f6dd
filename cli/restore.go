package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"vitrine/store"
)

const restoreSummary = "put a backup FILE in place as the database of a fresh data directory"

// restore is store.Restore into the configured data directory, with the
// key that encrypted the backup's token: VITRINE_SECRET_KEY, or the
// secret.key copied into the data directory first. A key is never
// generated here: a new one could not read the backup's token.
func restore(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags("restore", restoreSummary, args, stderr, false, true)
	if err != nil {
		return ExitUsage
	}
	cfg, ok := loadConfig(o, stderr, false)
	if !ok {
		return ExitUsage
	}
	if cfg.Database.URL != "" {
		fmt.Fprintln(stderr, "vitrine restore: the database is PostgreSQL (database.url): restore a pg_dump with pg_restore "+
			"(or psql for a plain dump) into an empty database, then start vitrine with the same VITRINE_SECRET_KEY")
		return ExitUsage
	}
	key, err := restoreKey(cfg.SecretKey, cfg.DataDir)
	if errors.Is(err, errNoKey) {
		fmt.Fprintf(stderr, "vitrine restore: no secret key: copy the secret.key backed up with %s to %s (or set VITRINE_SECRET_KEY to the key it was made with), then restore again\n",
			o.file, filepath.Join(cfg.DataDir, store.KeyFileName))
		return ExitFailure
	}
	if err != nil {
		fmt.Fprintln(stderr, "vitrine restore:", err)
		return ExitFailure
	}
	c, err := store.Restore(ctx, o.file, cfg.DatabasePath(), key)
	if errors.Is(err, store.ErrUndecryptable) {
		fmt.Fprintf(stderr, "vitrine restore: the token in %s cannot be decrypted with %s: use the key backed up with it; nothing was restored\n",
			o.file, keyName(cfg.SecretKey, cfg.DataDir))
		return ExitFailure
	}
	if err != nil {
		fmt.Fprintln(stderr, "vitrine restore:", err)
		return ExitFailure
	}
	fmt.Fprintf(stdout, "restored %s to %s (%s, schema version %d)\n", o.file, cfg.DatabasePath(), holds(c), c.SchemaVersion)
	fmt.Fprintln(stdout, "Start vitrine: the next sync downloads any image missing from", filepath.Join(cfg.DataDir, "media"))
	return ExitOK
}

var errNoKey = errors.New("no secret key")

func restoreKey(secretKey, dataDir string) ([]byte, error) {
	if secretKey == "" {
		if _, err := os.Stat(filepath.Join(dataDir, store.KeyFileName)); errors.Is(err, fs.ErrNotExist) {
			return nil, errNoKey
		}
	}
	return store.LoadOrCreateKey(dataDir, secretKey)
}
