package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// ErrBackupPostgres is Backup's and Restore's answer for a PostgreSQL
// database: its own tools (pg_dump, pg_restore or psql) copy it
// consistently, with roles and settings this store does not know.
var ErrBackupPostgres = errors.New("store: a PostgreSQL database is backed up with pg_dump and restored with psql or pg_restore")

// Copied is what Backup wrote or Restore put in place.
type Copied struct {
	SchemaVersion int   // of the copy as written (Restore: after migrating it)
	Posts         int64 // cached posts in it
	Bytes         int64 // the file's size
	Account       string
}

// Backup writes a consistent copy of the SQLite database at dbPath to
// dest, also while a server is using it: SQLite's VACUUM INTO reads one
// snapshot (WAL readers do not block the writer, nor it them) into a new
// file. The copy is written beside dest and renamed into place once
// checked, so dest is never half a database; an existing dest is not
// overwritten. It does not migrate dbPath, and needs no key: the token
// stays encrypted in the copy.
func Backup(ctx context.Context, dbPath, dest string) (Copied, error) {
	if IsPostgresURL(dbPath) {
		return Copied{}, ErrBackupPostgres
	}
	if _, err := os.Stat(dbPath); err != nil {
		return Copied{}, fmt.Errorf("store: backup: no database at %s: %w", dbPath, err)
	}
	if err := mustNotExist(dest); err != nil {
		return Copied{}, fmt.Errorf("store: backup: %w", err)
	}
	tmp, err := tempBeside(dest)
	if err != nil {
		return Copied{}, fmt.Errorf("store: backup: %w", err)
	}
	defer removeSQLiteFiles(tmp) // a no-op once renamed

	src, err := openRaw(dbPath)
	if err != nil {
		return Copied{}, fmt.Errorf("store: backup: %w", err)
	}
	err = src.WithContext(ctx).Exec("VACUUM INTO ?", tmp).Error
	closeRaw(src)
	if err != nil {
		return Copied{}, fmt.Errorf("store: backup: copy %s: %w", dbPath, err)
	}
	c, err := checkCopy(ctx, tmp)
	if err != nil {
		return Copied{}, fmt.Errorf("store: backup: the copy: %w", err)
	}
	if err := commitFile(tmp, dest); err != nil {
		return Copied{}, fmt.Errorf("store: backup: %w", err)
	}
	return c, nil
}

// Restore puts the SQLite backup at src in place as the database at
// dbPath, which must not exist yet (a fresh data directory: a restore
// never mixes with what is there). The copy is checked and migrated
// beside dbPath, then renamed into place, so a refused or failed restore
// leaves nothing: a backup that is not an intact Vitrine database, one a
// newer Vitrine wrote (*NewerSchemaError), or one whose token key cannot
// decrypt (ErrUndecryptable: the secret key backed up with it is not the
// one given).
func Restore(ctx context.Context, src, dbPath string, key []byte) (Copied, error) {
	if IsPostgresURL(dbPath) {
		return Copied{}, ErrBackupPostgres
	}
	for _, p := range []string{dbPath, dbPath + "-wal"} {
		if err := mustNotExist(p); err != nil {
			return Copied{}, fmt.Errorf("store: restore: %w; restore into a fresh data directory", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o700); err != nil {
		return Copied{}, fmt.Errorf("store: restore: %w", err)
	}
	tmp, err := tempBeside(dbPath)
	if err != nil {
		return Copied{}, fmt.Errorf("store: restore: %w", err)
	}
	defer removeSQLiteFiles(tmp)
	// SQLite only ever opens the copy: the backup stays as it was.
	if err := copyFile(src, tmp); err != nil {
		return Copied{}, fmt.Errorf("store: restore: %w", err)
	}
	if _, err := checkCopy(ctx, tmp); err != nil {
		return Copied{}, fmt.Errorf("store: restore: %s: %w", src, err)
	}

	s, err := Open(tmp, key)
	if err != nil {
		var newer *NewerSchemaError
		if errors.As(err, &newer) {
			return Copied{}, err
		}
		return Copied{}, fmt.Errorf("store: restore: %w", err)
	}
	c, err := s.describe(ctx)
	if err == nil {
		_, err = s.Token(ctx)
		if errors.Is(err, ErrNoToken) {
			err = nil
		}
	}
	if err == nil {
		// The leases were held by the processes of the backup's moment
		// (a sync it was taken during), which do not run this database:
		// kept, they would refuse its first runs until they expired.
		err = s.db.WithContext(ctx).Where("1 = 1").Delete(&leaseRow{}).Error
	}
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return Copied{}, fmt.Errorf("store: restore: %w", err)
	}
	if err := commitFile(tmp, dbPath); err != nil {
		return Copied{}, fmt.Errorf("store: restore: %w", err)
	}
	c.Bytes = fileSize(dbPath)
	return c, nil
}

// checkCopy opens a copy without migrating or decrypting it and checks it
// is an intact Vitrine database.
func checkCopy(ctx context.Context, path string) (Copied, error) {
	if _, err := os.Stat(path); err != nil {
		return Copied{}, err
	}
	db, err := openRaw(path)
	if err != nil {
		return Copied{}, err
	}
	defer closeRaw(db)
	s := &Store{db: db}
	if err := s.IntegrityCheck(ctx); err != nil {
		return Copied{}, err
	}
	if !db.Migrator().HasTable(&tokenRow{}) {
		return Copied{}, errors.New("not a Vitrine database (it has no tokens table)")
	}
	c, err := s.describe(ctx)
	if err != nil {
		return Copied{}, err
	}
	c.Bytes = fileSize(path)
	return c, nil
}

// describe says what a database holds, for the commands to print.
func (s *Store) describe(ctx context.Context) (Copied, error) {
	var c Copied
	var err error
	if c.SchemaVersion, err = schemaVersion(s.db.WithContext(ctx)); err != nil {
		return c, err
	}
	if err := s.db.WithContext(ctx).Model(&postRow{}).Count(&c.Posts).Error; err != nil {
		return c, err
	}
	var row tokenRow
	if err := s.db.WithContext(ctx).Select("username").Where("id = ?", tokenRowID).Limit(1).Find(&row).Error; err != nil {
		return c, err
	}
	c.Account = row.Username
	return c, nil
}

// openRaw opens an existing SQLite file as it is: no migration, no
// change of journal mode, waiting out a writer's lock as Open does.
func openRaw(path string) (*gorm.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(sqlite.Open(rawDSN(abs)), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(1)
	return db, nil
}

func rawDSN(abs string) string {
	u := url.URL{Path: abs}
	return "file:" + u.EscapedPath() + "?_busy_timeout=5000"
}

func closeRaw(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

func mustNotExist(path string) error {
	_, err := os.Lstat(path)
	if err == nil {
		return fmt.Errorf("%s already exists", path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// tempBeside names a file that does not exist yet in path's directory,
// so renaming it to path is atomic.
func tempBeside(path string) (string, error) {
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return "", fmt.Errorf("no directory %s to write %s in", dir, filepath.Base(path))
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return filepath.Join(dir, "."+filepath.Base(path)+".partial-"+hex.EncodeToString(b)), nil
}

// commitFile makes tmp owner-only (it holds the sessions and the
// encrypted token), flushes it and renames it to dest, refusing to replace
// a file that appeared meanwhile.
func commitFile(tmp, dest string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Chmod(0o600)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// A hard link fails if dest exists, where a rename would replace it;
	// a file system without links (some network shares) gets the rename,
	// after one more look.
	switch err := os.Link(tmp, dest); {
	case err == nil:
		_ = os.Remove(tmp)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s already exists", dest)
	default:
		if err := mustNotExist(dest); err != nil {
			return err
		}
		if err := os.Rename(tmp, dest); err != nil {
			return err
		}
	}
	if d, err := os.Open(filepath.Dir(dest)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func removeSQLiteFiles(path string) {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		_ = os.Remove(p)
	}
}

func fileSize(path string) int64 {
	if info, err := os.Stat(path); err == nil {
		return info.Size()
	}
	return 0
}
