package store

import (
	"errors"
	"syscall"

	"github.com/mattn/go-sqlite3"
)

// IsDiskFull reports whether err is a write refused for lack of space:
// SQLite's "database or disk is full" (its transaction rolled back, so the
// rows it would have changed are as they were), or ENOSPC from a file.
func IsDiskFull(err error) bool {
	var se sqlite3.Error
	return errors.Is(err, syscall.ENOSPC) || errors.As(err, &se) && se.Code == sqlite3.ErrFull
}
