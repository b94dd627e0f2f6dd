//go:build race

package app

// raceBuild: the race detector slows SQLite and HTTP several times over, so
// the 90-day simulation syncs hourly instead of every 15 minutes under it.
const raceBuild = true
