package systemtest

import (
	"time"

	"vitrine/testkit/testvitrine"
)

// The system tests build each Vitrine with testvitrine: the server on a
// loopback listener through the fast path, talking to a fake Instagram
// over HTTP, either its own (on another listener, so a test can wrap it)
// or, with testvitrine.Demo, the one -demo mounts under /_fake/instagram.

// firstSyncPatience bounds a wait for a sync that mirrors images: it ends
// as soon as the sync does (seconds on a quiet machine), but a race-enabled
// build on a loaded two-core CI machine has taken minutes. Only a sync that
// never finishes waits it out.
const firstSyncPatience = 5 * time.Minute

// testPassword is the admin password of every Vitrine under test.
const testPassword = testvitrine.Password
