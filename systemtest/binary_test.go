package systemtest

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"
)

// Long mode runs the crash and load tests at full length (more kills, a
// minute of load): `go test -race -run 'Crash|Load' ./systemtest -long`, or with
// VITRINE_LONG_TESTS=1 for runners that cannot pass flags. The variable is
// read at start-up because tests clear VITRINE_* from the environment.
var (
	longFlag     = flag.Bool("long", false, "run the crash and load tests at full length")
	longTestsEnv = os.Getenv("VITRINE_LONG_TESTS")
)

func longTests() bool { return *longFlag || longTestsEnv == "1" }

// The vitrine binary, built at most once per test run and shared by every
// test that runs it; TestMain removes it.
var builtBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// vitrineBinary builds the real binary once per `go test` run and returns
// its path. It is built with -race when this test binary is, so it reuses
// `go test -race`'s package cache instead of compiling cgo SQLite again.
func vitrineBinary(t testing.TB) string {
	t.Helper()
	b := &builtBinary
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "vitrine-test-bin-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "vitrine")
		args := []string{"build", "-o", b.path}
		if builtWithRace() {
			args = append(args, "-race")
		}
		// The command by its import path: this package sits below it.
		b.out, b.err = exec.Command("go", append(args, "vitrine")...).CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build: %v\n%s", b.err, b.out)
	}
	return b.path
}

// builtWithRace reports whether this test binary has the race detector, so
// the binary the tests build shares `go test -race`'s package cache instead
// of compiling cgo SQLite a second time.
func builtWithRace() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinary.dir != "" {
		os.RemoveAll(builtBinary.dir)
	}
	os.Exit(code)
}
