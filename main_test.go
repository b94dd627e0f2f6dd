package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"vitrine/instagram/fake"
	"vitrine/store"
)

// logSink collects a command's log output and lets a test wait for a line.
type logSink struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{}, 1)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor returns the first submatch of re once it appears in the output.
func (s *logSink) waitFor(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(s.String()); m != nil {
			return m[len(m)-1]
		}
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("no log line matching %s; got:\n%s", re, s.String())
		}
	}
}

var listeningURL = regexp.MustCompile(`msg="Vitrine is listening" url=(http://[^ ]+)`)

// cleanEnv keeps VITRINE_* settings of the developer's shell out of tests.
func cleanEnv(t testing.TB) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "VITRINE_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

func TestHashPasswordPrintsAHashOfStdin(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"hash-password"}, strings.NewReader("correct horse\n"), &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	hash := strings.TrimSpace(out.String())
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse")); err != nil {
		t.Errorf("printed hash does not match the password: %v", err)
	}
	if strings.Contains(out.String()+errOut.String(), "correct horse") {
		t.Error("the password was echoed")
	}
}

func TestHashPasswordRefusesEmptyAndTooLong(t *testing.T) {
	for name, input := range map[string]string{"empty": "\n", "too long": strings.Repeat("x", 73)} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"hash-password"}, strings.NewReader(input), &out, &errOut); code != exitUsage {
			t.Errorf("%s: exit %d, want %d", name, code, exitUsage)
		}
		if out.Len() != 0 || errOut.Len() == 0 {
			t.Errorf("%s: want an explanation on stderr and nothing on stdout; got %q / %q", name, out.String(), errOut.String())
		}
	}
}

func TestUnknownCommandAndFlagExitTwo(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"serve", "-nope"}, {"status", "extra"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, nil, &out, &errOut); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestBadConfigExitsTwoNamingEveryKey(t *testing.T) {
	cleanEnv(t)
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("server:\n  addr: nowhere\nwidget:\n  columns: 0\njobs:\n  sync: sometimes\n"), 0o600)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-config", path, "-demo"}, nil, &out, &errOut)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, errOut.String())
	}
	for _, key := range []string{"server.addr", "widget.columns", "jobs.sync"} {
		if !strings.Contains(errOut.String(), key+":") {
			t.Errorf("stderr does not name %s:\n%s", key, errOut.String())
		}
	}
	if strings.Contains(errOut.String(), "goroutine") {
		t.Errorf("stderr carries a stack:\n%s", errOut.String())
	}
}

func TestStatusWithoutDatabaseSaysNotConnected(t *testing.T) {
	cleanEnv(t)
	t.Setenv("VITRINE_DATA_DIR", t.TempDir())
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"status"}, nil, &out, &errOut)
	if code != exitFailure || !strings.Contains(out.String(), "not connected") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// TestDemoServesHealthAndTheFakeAuthorizePage runs the real serve path with
// -demo on a free port, as `go run . -demo` does, and stops it by context.
func TestDemoServesHealthAndTheFakeAuthorizePage(t *testing.T) {
	cleanEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := newLogSink()
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-demo", "-addr", "127.0.0.1:0"}, nil, io.Discard, logs) }()
	base := logs.waitFor(t, listeningURL)

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d", resp.StatusCode)
	}

	q := url.Values{
		"client_id":     {logs.waitFor(t, regexp.MustCompile(`client_id=([0-9]+)`))},
		"redirect_uri":  {base + "/admin/callback"},
		"response_type": {"code"},
		"scope":         {"instagram_business_basic"},
		"state":         {"abc"},
	}
	resp, err = http.Get(base + "/_fake/instagram/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`name="decision"`)) || !bytes.Contains(body, []byte(`value="approve"`)) {
		t.Errorf("authorize page: %d\n%s", resp.StatusCode, body)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after shutdown; logs:\n%s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop after cancellation")
	}
	if strings.Contains(logs.String(), "client_secret") || strings.Contains(logs.String(), "fake-client-secret") {
		t.Errorf("logs mention the client secret:\n%s", logs.String())
	}
}

// TestBinaryShutsDownGracefullyOnSIGTERM runs the real binary and stops it
// with a signal, as systemd or Docker would.
func TestBinaryShutsDownGracefullyOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	cleanEnv(t)
	cmd := exec.Command(vitrineBinary(t), "-demo", "-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	logs := newLogSink()
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
		}
	}()
	base := logs.waitFor(t, listeningURL)
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; logs:\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15 s of SIGTERM")
	}
	logs.waitFor(t, regexp.MustCompile(`msg=(stopped)`))
}

// TestSyncAndStatusCommands runs `vitrine sync` and `vitrine status` as an
// operator would, against the fake Instagram on loopback.
func TestSyncAndStatusCommands(t *testing.T) {
	cleanEnv(t)
	const publicURL = "https://gallery.example.com"
	f := fake.New(fake.Options{RedirectURIs: []string{publicURL + "/admin/callback"}, Posts: 8})
	srv := httptest.NewServer(f)
	defer srv.Close()
	ep := f.Endpoints(srv.URL)
	dataDir := t.TempDir()
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	for k, v := range map[string]string{
		"VITRINE_DATA_DIR":                dataDir,
		"VITRINE_SERVER_PUBLIC_URL":       publicURL,
		"VITRINE_ADMIN_PASSWORD_HASH":     string(hash),
		"VITRINE_INSTAGRAM_CLIENT_ID":     f.ClientID(),
		"VITRINE_INSTAGRAM_CLIENT_SECRET": f.ClientSecret(),
		"VITRINE_INSTAGRAM_AUTH_URL":      ep.AuthURL,
		"VITRINE_INSTAGRAM_TOKEN_URL":     ep.TokenURL,
		"VITRINE_INSTAGRAM_GRAPH_URL":     ep.GraphURL,
	} {
		t.Setenv(k, v)
	}
	runCmd := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, nil, &out, &errOut)
		return code, out.String() + errOut.String()
	}

	if code, out := runCmd("sync"); code != exitFailure || !strings.Contains(out, "not connected") {
		t.Fatalf("sync before connecting: exit %d\n%s", code, out)
	}

	// Connect as the admin callback would: a long-lived token in the store.
	key, err := store.LoadOrCreateKey(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dataDir, "vitrine.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	acct := f.Account()
	err = st.SaveToken(context.Background(), store.Token{
		AccessToken: f.IssueLongLivedToken(), UserID: acct.UserID, Username: acct.Username,
		AccountType: "Business", ExpiresAt: time.Now().Add(60 * 24 * time.Hour), Status: store.StatusValid,
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	code, out := runCmd("sync")
	if code != exitOK || !strings.Contains(out, fmt.Sprintf("synced: %d posts", len(f.MediaIDs()))) {
		t.Fatalf("sync: exit %d\n%s", code, out)
	}
	code, out = runCmd("status")
	if code != exitOK || !strings.Contains(out, "@"+acct.Username) || !strings.Contains(out, fmt.Sprintf("%d cached", len(f.MediaIDs()))) {
		t.Fatalf("status when healthy: exit %d\n%s", code, out)
	}

	f.RevokeTokens()
	if code, out := runCmd("sync"); code != exitFailure {
		t.Fatalf("sync with a revoked token: exit %d\n%s", code, out)
	}
	code, out = runCmd("status")
	if code != exitFailure || !strings.Contains(out, "needs_reauth") {
		t.Fatalf("status after revocation: exit %d\n%s", code, out)
	}
}
