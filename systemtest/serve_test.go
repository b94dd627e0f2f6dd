package systemtest

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"vitrine/cli"
	"vitrine/testkit"
)

var listeningURL = regexp.MustCompile(`msg="Vitrine is listening" url=(http://[^ ]+)`)

// TestDemoServesHealthAndTheFakeAuthorizePage runs the real serve path with
// -demo on a free port, as `go run . -demo` does, and stops it by context.
func TestDemoServesHealthAndTheFakeAuthorizePage(t *testing.T) {
	t.Parallel()
	testkit.CleanEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := testkit.NewLogBuffer()
	done := make(chan int, 1)
	go func() { done <- cli.Run(ctx, []string{"-demo", "-addr", "127.0.0.1:0"}, nil, io.Discard, logs) }()
	base := logs.WaitFor(t, listeningURL)

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d", resp.StatusCode)
	}

	q := url.Values{
		"client_id":     {logs.WaitFor(t, regexp.MustCompile(`client_id=([0-9]+)`))},
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
		if code != cli.ExitOK {
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
	testkit.SkipIfShort(t, "runs the binary")
	t.Parallel()
	testkit.CleanEnv(t)
	cmd := exec.Command(vitrineBinary(t), "-demo", "-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	logs := testkit.NewLogBuffer()
	// Wait closes the pipe once the process exits, and lines not read by
	// then are lost: it is called only after the reader has seen the end.
	readAll := make(chan struct{})
	go func() {
		defer close(readAll)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
		}
	}()
	base := logs.WaitFor(t, listeningURL)
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		<-readAll
		waited <- cmd.Wait()
	}()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; logs:\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15 s of SIGTERM")
	}
	logs.WaitFor(t, regexp.MustCompile(`msg=(stopped)`))
}
