package systemtest

import (
	"flag"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"vitrine/testkit"
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

// releaseBuildFlags are deploy/release.sh's compile flags (its link flags
// only strip and stamp): the tests run the binary as it ships, and CI's
// release build that follows them finds every package already compiled.
// TestBinaryIsBuiltAsReleased keeps the two the same.
var releaseBuildFlags = []string{"-trimpath", "-tags", "osusergo,netgo,sqlite_omit_load_extension"}

// vitrineBinary builds the real binary once per `go test` run and returns
// its path. It is built without -race even when this test binary has it:
// nothing reads a child's race reports (the tests see it from outside, and
// the in-process tests run the same code under -race), while the race
// detector made each start take seconds and every sync and resize several
// times longer, which the crash test's hundred restarts paid in minutes.
// The price is compiling the dependencies (cgo SQLite among them) a second
// time, without -race, when the build cache lacks them: a few minutes of
// CPU on a cold cache, nothing on a warm one.
func vitrineBinary(t testing.TB) string {
	t.Helper()
	testkit.SkipIfShort(t, "runs the binary")
	b := &builtBinary
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "vitrine-test-bin-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "vitrine")
		// The command by its import path: this package sits below it.
		args := append(append([]string{"build", "-buildvcs=false"}, releaseBuildFlags...), "-o", b.path, "vitrine")
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build: %v\n%s", b.err, b.out)
	}
	return b.path
}

// runningBinary is the real binary started by startBinaries, seen only
// from outside: HTTP and its log.
type runningBinary struct {
	t    *testing.T
	base string // http://127.0.0.1:port
	pid  int
	logs *testkit.LogBuffer
	stop func() // SIGKILL, and wait until it has exited
}

// binaryEnv is this process's environment without any VITRINE_ setting
// of the developer's shell, plus settings (keys without the prefix).
func binaryEnv(settings map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VITRINE_") {
			env = append(env, kv)
		}
	}
	for k, v := range settings {
		env = append(env, "VITRINE_"+k+"="+v)
	}
	return env
}

func startBinary(t *testing.T, env []string) *runningBinary {
	t.Helper()
	return startBinaries(t, env)[0]
}

// startBinaries starts one binary per environment, all at once (so that
// replicas race as they do when an orchestrator starts them together),
// then waits until every one is listening. Each is SIGKILLed when the test
// ends, if stop has not done so before.
func startBinaries(t *testing.T, envs ...[]string) []*runningBinary {
	t.Helper()
	bin := vitrineBinary(t)
	out := make([]*runningBinary, len(envs))
	waits := make([]chan error, len(envs))
	for i, env := range envs {
		logs := testkit.NewLogBuffer()
		cmd := exec.Command(bin)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, io.Discard, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		var once sync.Once
		stop := func() {
			once.Do(func() {
				cmd.Process.Kill()
				<-waited
			})
		}
		t.Cleanup(stop)
		out[i], waits[i] = &runningBinary{t: t, pid: cmd.Process.Pid, logs: logs, stop: stop}, waited
	}
	for i, b := range out {
		b.base = "http://" + waitForReady(t, b.logs, waits[i])
	}
	return out
}

// request sends one request with no redirects followed, through c (nil:
// no cookies), and returns the status, Location and body.
func (b *runningBinary) request(c *http.Client, method, path string, form url.Values, header ...string) (int, http.Header, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c == nil {
		c = cookieClient()
	}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(data)
}

// cookieClient is a fresh cookie jar that follows no redirects.
func cookieClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// loginToken opens the sign-in form in c and returns its CSRF token.
func (b *runningBinary) loginToken(c *http.Client) string {
	b.t.Helper()
	_, _, page := b.request(c, http.MethodGet, "/admin/login", nil)
	return testkit.CSRFToken(b.t, page)
}

// TestMain clears the developer's VITRINE_* settings from the environment
// once, for every test (testkit.CleanEnv then finds none to clear: a
// parallel test may not change the environment), and runs the tests with
// one Chromium for the browser tests (testkit.Run).
//
// The tests that mostly wait (on the network, the app's jobs, simulated
// hours) and share nothing with another test run in parallel, two at a
// time by default, after the others: not those that change the
// environment, measure the process (the heap), make timed assertions,
// drive Chromium or run other programs.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "VITRINE_") && !strings.HasPrefix(name, "VITRINE_TEST_") {
			os.Unsetenv(name)
		}
	}
	code := testkit.Run(m)

	if builtBinary.dir != "" {
		os.RemoveAll(builtBinary.dir)
	}
	os.Exit(code)
}

// The binary the tests run is compiled as deploy/release.sh compiles the
// one that ships.
func TestBinaryIsBuiltAsReleased(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "deploy", "release.sh"))
	if err != nil {
		t.Fatal(err)
	}
	build := ""
	for line := range strings.Lines(string(script)) {
		if strings.Contains(line, "go build") {
			build = line
		}
	}
	if build == "" {
		t.Fatal("deploy/release.sh has no go build line")
	}
	next := string(script[strings.Index(string(script), build)+len(build):])
	build += next[:strings.IndexByte(next, '\n')+1] // its continuation line
	for i, f := range releaseBuildFlags {
		if f == "-tags" {
			continue
		}
		want := f
		if i > 0 && releaseBuildFlags[i-1] == "-tags" {
			want = "-tags " + f
		}
		if !strings.Contains(build, want) {
			t.Errorf("deploy/release.sh builds with\n%s\nwhich lacks %q: the tests would run another binary", build, want)
		}
	}
	if !strings.Contains(build, "-buildvcs=false") && !strings.Contains(build, `"$buildvcs"`) {
		t.Errorf("deploy/release.sh's build sets no -buildvcs:\n%s", build)
	}
}
