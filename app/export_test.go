package app

import (
	"context"

	"vitrine/jobs"
)

// AfterConnect lets the external tests run what follows a saved token
// (Connect's background part) and wait for it.
func (a *App) AfterConnect(ctx context.Context) { a.afterConnect(ctx) }

// NewScheduler is another scheduler over the app's schedule table, as a
// restarted process makes.
func (a *App) NewScheduler() (*jobs.Scheduler, error) { return a.newScheduler() }
