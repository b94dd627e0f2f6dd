package cli

import (
	"context"
	"fmt"
	"io"

	"vitrine/store"
)

const backupSummary = "write a consistent copy of the SQLite database to FILE, also while serving"

// backup copies the database with store.Backup: a snapshot, taken while
// the server may be writing. PostgreSQL has its own tools: exit 2.
func backup(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags("backup", backupSummary, args, stderr, false, true)
	if err != nil {
		return ExitUsage
	}
	cfg, ok := loadConfig(o, stderr, false)
	if !ok {
		return ExitUsage
	}
	if cfg.Database.URL != "" {
		fmt.Fprintln(stderr, "vitrine backup: the database is PostgreSQL (database.url): back it up with pg_dump, "+
			`e.g. pg_dump --format=custom --file=vitrine.dump "$VITRINE_DATABASE_URL", and keep VITRINE_SECRET_KEY with it`)
		return ExitUsage
	}
	c, err := store.Backup(ctx, cfg.DatabasePath(), o.file)
	if err != nil {
		fmt.Fprintln(stderr, "vitrine backup:", err)
		return ExitFailure
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%s, schema version %d, %d bytes)\n", cfg.DatabasePath(), o.file, holds(c), c.SchemaVersion, c.Bytes)
	fmt.Fprintln(stdout, "The token in it is encrypted: keep", keyName(cfg.SecretKey, cfg.DataDir), "with the backup, or it cannot be read back.")
	return ExitOK
}

// holds says what a database copy holds, in a few words.
func holds(c store.Copied) string {
	if c.Account == "" {
		return fmt.Sprintf("%d posts, not connected", c.Posts)
	}
	return fmt.Sprintf("%d posts of @%s", c.Posts, c.Account)
}

// keyName names where the key that encrypts the token is, never the key.
func keyName(secretKey, dataDir string) string {
	if secretKey != "" {
		return "VITRINE_SECRET_KEY (secret_key)"
	}
	return dataDir + "/" + store.KeyFileName
}
