// Package testkit holds the helpers the tests of several packages share: a
// log buffer a test can wait on, Eventually for any other condition, a
// clean VITRINE_* environment, the headless Chromium of the browser tests,
// fresh databases of each kind the store runs on, and the line between the
// two tiers of tests (SkipIfShort). Only tests import it.
package testkit

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// LogBuffer collects log output written from any goroutine and lets a test
// wait for a line.
type LogBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

// NewLogBuffer is an empty LogBuffer.
func NewLogBuffer() *LogBuffer { return &LogBuffer{changed: make(chan struct{}, 1)} }

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

// String is everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Changed receives after writes: at least once after any number of them
// since the last receive.
func (b *LogBuffer) Changed() <-chan struct{} { return b.changed }

// WaitFor returns the last submatch of re (the whole match without groups)
// once it appears in the output; after 30 s it fails the test.
func (b *LogBuffer) WaitFor(t testing.TB, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(b.String()); m != nil {
			return m[len(m)-1]
		}
		select {
		case <-b.changed:
		case <-deadline:
			t.Fatalf("no log line matching %s; got:\n%s", re, b.String())
		}
	}
}

// Eventually polls cond until it holds, and fails the test after a
// minute: tests wait on a condition, not a guessed sleep. It polls every
// 5 ms at first, backing off to every 50 ms, so that a long wait does not
// load the machine it waits on. A passing test comes near the minute only
// in a race-enabled build on a loaded machine (the replicas test's three
// binaries, say); the limit costs nothing until a test fails.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	pause := 5 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// CleanEnv keeps the VITRINE_* settings of the developer's shell out of a
// test; they come back when it ends. The test suites' own VITRINE_TEST_*
// stay (config ignores them). Under Main there are none left to keep out,
// so it changes nothing and a parallel test may call it.
func CleanEnv(t testing.TB) {
	for _, name := range shellSettings() {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
}

// shellSettings are the names of the VITRINE_* variables in the
// environment, but for the suites' own VITRINE_TEST_*.
func shellSettings() []string {
	var names []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "VITRINE_") && !strings.HasPrefix(name, "VITRINE_TEST_") {
			names = append(names, name)
		}
	}
	return names
}

// SkipIfShort skips the test under -short: `go test -short ./...` is the
// everyday tier, every unit test of every package, quickly, and leaves to
// the full tier (`bash .ci/run`, what CI runs) the tests that
// drive Chromium, run the real binary or another program (crash, replicas,
// hardening, nginx), or are long by design. reason says which.
func SkipIfShort(t testing.TB, reason string) {
	t.Helper()
	if testing.Short() {
		t.Skip("full tier only (skipped with -short): " + reason)
	}
}

// mainRuns is set while Main runs the tests.
var mainRuns bool

// Main runs a package's tests and then stops what they shared: the test
// binary's Chromium (see Chromium, which requires it). A package whose
// tests use Chromium has
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
//
// and one with a TestMain of its own calls Run instead.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit: it returns m.Run's code. It first takes
// the developer's VITRINE_* settings out of the process's environment for
// good, as CleanEnv does per test, which t.Setenv forbids in parallel ones.
func Run(m *testing.M) int {
	mainRuns = true
	for _, name := range shellSettings() {
		os.Unsetenv(name)
	}
	code := m.Run()
	if err := stopChromium(); err != nil {
		fmt.Fprintf(os.Stderr, "testkit: stop Chromium: %v\n", err)
	}
	return code
}
