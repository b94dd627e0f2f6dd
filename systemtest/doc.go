// Package systemtest holds the tests of Vitrine as a whole: the real binary
// (crashes, signals), a whole server in the test process against a fake
// Instagram (outages, hostile requests, load, the fast path against
// net/http), and browser stories in Chromium. It has no code of its own
// beyond this comment; `go test ./systemtest` runs it, with -long for the
// full-length crash and load runs and -update to rewrite docs/*.png.
package systemtest
