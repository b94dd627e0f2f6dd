package systemtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"vitrine/cli"
	"vitrine/testkit"
)

// nginxBinary finds Debian's nginx: skipped without it, except in CI (CI
// set), where .ci/run installs it.
func nginxBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no nginx found and CI is set (apt-get install nginx)")
	}
	t.Skip("nginx is not installed (apt-get install nginx)")
	return ""
}

// freePort is a loopback address nothing listens on yet.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNginx runs the README's docs/nginx-cdn.conf, pointed at vitrine and
// listening on a free loopback port, with everything else nginx writes in
// a temporary directory; it returns nginx's base URL.
func startNginx(t *testing.T, vitrineAddr string) string {
	t.Helper()
	bin := nginxBinary(t)
	example, err := os.ReadFile("../docs/nginx-cdn.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := freePort(t)
	conf := string(example)
	for _, r := range [][2]string{
		{"/var/cache/nginx/vitrine", filepath.Join(dir, "cache")},
		{"server 127.0.0.1:8080;", "server " + vitrineAddr + ";"},
		{"listen 80;", "listen " + addr + ";"},
	} {
		// The example must keep these lines: the README tells readers to
		// change them, and this test runs what the README shows.
		if n := strings.Count(conf, r[0]); n != 1 {
			t.Fatalf("docs/nginx-cdn.conf has %q %d times, want once", r[0], n)
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	if err := os.WriteFile(filepath.Join(dir, "vitrine.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// Run as root (CI containers), nginx's workers would switch to
	// "nobody", which cannot write the temporary directory.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	main := fmt.Sprintf(`%s
worker_processes 1;
events { worker_connections 64; }
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/vitrine.conf;
}
`, user, dir)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"),
		"-g", fmt.Sprintf("daemon off; pid %s/nginx.pid; error_log %s/error.log warn;", dir, dir))
	// A file, not a pipe: nginx's workers hold it too, and Wait would
	// wait for them to close a pipe.
	out, err := os.Create(filepath.Join(dir, "output.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so the workers can be stopped with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// SIGTERM: the master stops its workers and exits. Should it not,
		// the group goes with SIGKILL.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			output, _ := os.ReadFile(filepath.Join(dir, "output.log"))
			errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", output, errLog)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-exited:
			t.Fatal("nginx exited")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not listening on %s within 10 s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fetched is one answer through nginx, its body decoded.
type fetched struct {
	status int
	body   string
	cache  string // X-Cache-Status
	header http.Header
}

func fetch(t *testing.T, url string) fetched {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fetched{res.StatusCode, string(b), res.Header.Get("X-Cache-Status"), res.Header}
}

// TestNginxExampleServesTheGalleryThroughAnOutage runs Vitrine (-demo,
// connected) behind the nginx of docs/nginx-cdn.conf, visits the gallery
// and an image through nginx, stops Vitrine, and visits again once every
// copy has expired: nginx serves each from its cache, as it was, while the
// admin (never cached) is a gateway error.
func TestNginxExampleServesTheGalleryThroughAnOutage(t *testing.T) {
	testkit.SkipIfShort(t, "runs nginx")
	testkit.CleanEnv(t)
	// A gallery that expires in a second, so the test need not wait out
	// the default minute to see nginx serve expired copies.
	t.Setenv("VITRINE_WIDGET_CACHE_MAX_AGE", "1s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := testkit.NewLogBuffer()
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"-demo", "-demo-connect", "-addr", "127.0.0.1:0"}, nil, io.Discard, logs)
	}()
	base := logs.WaitFor(t, listeningURL)
	vitrineAddr := strings.TrimPrefix(base, "http://")

	// The first sync has mirrored the images when widget.json lists posts.
	var image string
	deadline := time.Now().Add(firstSyncPatience)
	for image == "" {
		var doc struct {
			Posts []struct {
				Images []struct{ URL string } `json:"images"`
			} `json:"posts"`
		}
		if r := fetch(t, base+"/widget.json"); r.status == http.StatusOK && json.Unmarshal([]byte(r.body), &doc) == nil &&
			len(doc.Posts) > 0 && len(doc.Posts[0].Images) > 0 {
			image = strings.TrimPrefix(doc.Posts[0].Images[0].URL, base)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's gallery has no posts after %s", firstSyncPatience)
		}
		time.Sleep(50 * time.Millisecond)
	}

	proxy := startNginx(t, vitrineAddr)
	paths := []string{"/widget", "/widget?fragment=1", "/widget.js", "/widget.json", image}
	before := map[string]fetched{}
	for _, p := range paths {
		r := fetch(t, proxy+p)
		if r.status != http.StatusOK || r.body == "" || r.cache != "MISS" {
			t.Fatalf("%s through nginx, first visit: %d, %d bytes, X-Cache-Status %q", p, r.status, len(r.body), r.cache)
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "stale-if-error=") && p != image {
			t.Errorf("%s: Cache-Control %q lacks stale-if-error", p, cc)
		}
		before[p] = r
	}
	if r := fetch(t, proxy+"/widget.js"); r.cache != "HIT" || r.body != before["/widget.js"].body {
		t.Errorf("/widget.js again: X-Cache-Status %q, same body %v; want a HIT", r.cache, r.body == before["/widget.js"].body)
	}
	if r := fetch(t, proxy+"/admin/login"); r.status != http.StatusOK || r.cache != "" {
		t.Errorf("/admin/login through nginx: %d, X-Cache-Status %q; want 200, not cached", r.status, r.cache)
	}

	// Vitrine stops; every gallery copy expires.
	cancel()
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Fatalf("vitrine exit %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("vitrine did not stop")
	}
	if c, err := net.Dial("tcp", vitrineAddr); err == nil {
		c.Close()
		t.Fatal("vitrine still listening after it stopped")
	}
	time.Sleep(2100 * time.Millisecond)

	for _, p := range paths {
		r := fetch(t, proxy+p)
		want := "STALE" // expired, and Vitrine unreachable
		if p == image {
			want = "HIT" // immutable: fresh for a year
		}
		if r.status != http.StatusOK || r.body != before[p].body || r.cache != want {
			t.Errorf("%s through nginx with Vitrine down: %d, same body %v, X-Cache-Status %q; want 200, the same body, %s",
				p, r.status, r.body == before[p].body, r.cache, want)
		}
	}
	if r := fetch(t, proxy+"/admin/login"); r.status != http.StatusBadGateway {
		t.Errorf("/admin/login with Vitrine down: %d, want 502 (never served from a cache)", r.status)
	}
	if r := fetch(t, proxy+"/metrics"); r.status != http.StatusNotFound {
		t.Errorf("/metrics through nginx: %d, want 404", r.status)
	}
}
