package jobs

import (
	"errors"

	"vitrine/connection"
)

// The jobs' names. The table that runs them is the app's (each job is one
// of its operations); the names are here because the scheduler's records,
// the dashboard and `vitrine status` show them.
const (
	JobValidate = "validate"
	JobRefresh  = "refresh"
	JobSync     = "sync"
)

// Idle reports an error that means "nothing to do until an account is
// connected": such runs are recorded as waiting, not as failures.
func Idle(err error) bool { return errors.Is(err, connection.ErrNotConnected) }
