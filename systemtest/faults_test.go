package systemtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vitrine/alerts"
	"vitrine/config"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testfake"
	"vitrine/testkit/testvitrine"
)

// dbProxy is a loopback TCP proxy between Vitrine and PostgreSQL that a
// test cuts and restores: "the database goes away" for this Vitrine alone,
// as a stopped server or a failover looks from its side (open connections
// drop, new ones are refused), without stopping the cluster the other
// tests share.
type dbProxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
}

func newDBProxy(t testing.TB, target string) *dbProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{t: t, ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
	})
	return p
}

func (p *dbProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			c.Close() // refused, as by a server that is not there
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *dbProxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// setCut drops every open connection and refuses new ones (true), or lets
// them through again (false).
func (p *dbProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

// behindDBProxy is the test's PostgreSQL behind a proxy the test can cut,
// a webhook for ops' alerts, and the settings that point a Vitrine at
// both (one secret key, so replicas share the token).
func behindDBProxy(t *testing.T) (*dbProxy, *hookReceiver, func(*config.Config)) {
	t.Helper()
	u, err := url.Parse(testkit.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newDBProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	hook := newHookReceiver(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return proxy, hook, func(c *config.Config) {
		c.Database.URL = u.String()
		c.SecretKey = base64.StdEncoding.EncodeToString(key)
		c.Alerts.WebhookURL = hook.srv.URL + "/hook"
		c.Alerts.WebhookSecret = "shared-secret" // the receiver takes signed alerts only
	}
}

// TestDatabaseGoesAwayUnderARunningServer cuts PostgreSQL away from a
// served Vitrine and brings it back: the gallery and /readyz keep
// answering 200 (a balancer following the README keeps the replica),
// /readyz?database=1 and vitrine_database_up say the database is away,
// every admin page says so with a 503 that retries (never a 500), ops
// get one alert once alerts.database_after has passed and one "resolved",
// and the dashboard comes back by itself.
func TestDatabaseGoesAwayUnderARunningServer(t *testing.T) {
	t.Parallel()
	proxy, hook, shared := behindDBProxy(t)
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(3), testvitrine.StartAt(time.Now()),
		testvitrine.Configure(shared), testvitrine.Configure(func(c *config.Config) {
			c.Alerts.DatabaseAfter = config.Duration(2 * time.Minute)
		}))
	testfake.SmallPictures(v.Fake)
	v.ConnectAndSync(firstSyncPatience)
	admin := v.SignedIn()
	ctx := t.Context()

	expect := func(path string, want int, contains string) string {
		t.Helper()
		resp, body := v.Get(path)
		if resp.StatusCode != want || !strings.Contains(string(body), contains) {
			t.Fatalf("GET %s = %d, want %d with %q:\n%.600s", path, resp.StatusCode, want, contains, body)
		}
		return string(body)
	}
	expect("/readyz", http.StatusOK, "ready")
	expect("/readyz?database=1", http.StatusOK, "database up")
	expect("/readyz?database=yes", http.StatusBadRequest, "database must be 1")

	proxy.setCut(true)
	v.Clock.Advance(time.Second)
	v.CheckFaults(ctx)

	// Visitors and the balancer see nothing of it.
	for _, p := range []string{"/widget", "/widget.js", "/widget.json", "/readyz"} {
		expect(p, http.StatusOK, "")
	}
	_, doc := v.Get("/widget.json")
	if !strings.Contains(string(doc), `"images"`) {
		t.Fatalf("/widget.json while the database is away has no posts:\n%.300s", doc)
	}
	expect("/readyz?database=1", http.StatusServiceUnavailable, "database is unreachable since")
	expect("/metrics", http.StatusOK, "vitrine_database_up 0")

	// The admin says so, whatever the page, signed in or not.
	for _, p := range []string{"/admin", "/admin/appearance", "/admin/login"} {
		r := admin.Get(p)
		if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.Text, "database is unreachable since") ||
			!strings.Contains(r.Text, "public gallery keeps serving") || !strings.Contains(r.Text, `http-equiv="refresh"`) ||
			r.Header.Get("Retry-After") == "" {
			t.Fatalf("GET %s while the database is away = %d (Retry-After %q):\n%.1500s", p, r.StatusCode, r.Header.Get("Retry-After"), r.Text)
		}
	}
	js := admin.Get("/admin/status.json", "Accept", "application/json")
	if js.StatusCode != http.StatusServiceUnavailable || !strings.Contains(js.Text, "database is unreachable") {
		t.Fatalf("GET /admin/status.json while the database is away = %d:\n%.600s", js.StatusCode, js.Text)
	}
	stranger := v.Browser()
	login := stranger.Post("/admin/login", url.Values{"password": {testvitrine.Password}})
	if login.StatusCode != http.StatusServiceUnavailable || !strings.Contains(login.Text, "database is unreachable") {
		t.Fatalf("POST /admin/login while the database is away = %d:\n%.600s", login.StatusCode, login.Text)
	}
	sync := admin.Post("/admin/sync", url.Values{"csrf_token": {admin.CSRF}})
	if sync.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("POST /admin/sync while the database is away = %d:\n%.600s", sync.StatusCode, sync.Text)
	}
	for _, r := range []string{admin.Get("/admin").Text, js.Text, login.Text} {
		if strings.Contains(r, proxy.ln.Addr().String()) || strings.Contains(r, "postgres") {
			t.Fatalf("the page names the database's address or driver:\n%.600s", r)
		}
	}

	// Ops: nothing before alerts.database_after, then one alert, once.
	if k := hook.kinds(); len(k) != 0 {
		t.Fatalf("alerts before alerts.database_after: %v", k)
	}
	v.Clock.Advance(2 * time.Minute)
	v.CheckFaults(ctx)
	v.Clock.Advance(time.Minute)
	v.CheckFaults(ctx)
	if k := hook.kinds(); len(k) != 1 || k[0] != alerts.AlertDatabaseDown {
		t.Fatalf("alerts after 3 minutes away: %v, want one %s", k, alerts.AlertDatabaseDown)
	}

	// Back: the dashboard answers again by itself (the next retry of the
	// page), and ops hear it is resolved.
	proxy.setCut(false)
	testkit.Eventually(t, "the dashboard answers once the database is back",
		func() bool { return admin.Get("/admin").StatusCode == http.StatusOK })
	expect("/readyz?database=1", http.StatusOK, "database up")
	v.CheckFaults(ctx)
	if k := hook.kinds(); len(k) != 2 || k[1] != alerts.AlertDatabaseResolved {
		t.Fatalf("alerts after the database came back: %v, want %s then %s", k, alerts.AlertDatabaseDown, alerts.AlertDatabaseResolved)
	}
	expect("/metrics", http.StatusOK, "vitrine_database_up 1")
	if d := admin.Get("/admin"); !strings.Contains(d.Text, "The database was unreachable from") {
		t.Fatalf("the dashboard's activity does not tell of the outage:\n%.3000s", d.Text)
	}
}

// smallTmpfs mounts a tmpfs of size bytes for the test, or skips it where
// mounting is not permitted (not root, a container without the right).
func smallTmpfs(t *testing.T, size string) string {
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); the injected full disk of app's tests covers the mirror", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the disk refuses more, and returns a
// function that removes it.
func fill(t *testing.T, dir string) (free func()) {
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v, want ENOSPC", dir, err)
	}
	// Small writes may still fit in the last blocks: fill those too.
	for _, n := range []int{4096, 512, 1} {
		f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
		}
		f.Close()
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDataDirectoryOnAFullDisk runs Vitrine on a real 6 MB tmpfs that
// fills up: the gallery keeps answering, every image it lists is whole,
// signing in says the data directory is full (503, not 500), the SQLite
// rows a refused write would have changed are as they were, ops are
// told, and everything comes back once there is room.
func TestDataDirectoryOnAFullDisk(t *testing.T) {
	testkit.SkipIfShort(t, "mounts a tmpfs (app's tests fill an injected disk in the short tier)")
	disk := smallTmpfs(t, "6m")
	hook := newHookReceiver(t)
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(3), testvitrine.StartAt(time.Now()),
		testvitrine.Configure(func(c *config.Config) {
			c.DataDir = disk
			c.Alerts.WebhookURL = hook.srv.URL + "/hook"
			c.Alerts.WebhookSecret = "shared-secret" // the receiver takes signed alerts only
		}))
	testfake.SmallPictures(v.Fake)
	v.ConnectAndSync(firstSyncPatience)
	before, ok := v.StoredToken()
	if !ok {
		t.Fatal("no token after connecting")
	}
	ctx := t.Context()

	free := fill(t, disk)
	v.CheckFaults(ctx)
	if k := hook.kinds(); len(k) != 1 || k[0] != alerts.AlertDiskFull {
		t.Fatalf("alerts once the disk is full: %v, want one %s", k, alerts.AlertDiskFull)
	}
	for _, p := range []string{"/widget", "/widget.js", "/widget.json", "/readyz"} {
		if resp, body := v.Get(p); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s on a full disk = %d:\n%.300s", p, resp.StatusCode, body)
		}
	}
	assertImagesWhole(t, v)

	b := v.Browser()
	form := b.Get("/admin/login")
	login := b.Post("/admin/login", url.Values{"password": {testvitrine.Password}, "csrf_token": {testkit.CSRFToken(t, form.Text)}})
	if login.StatusCode != http.StatusServiceUnavailable || !strings.Contains(login.Text, "data directory is full") {
		t.Fatalf("POST /admin/login on a full disk = %d:\n%.800s", login.StatusCode, login.Text)
	}

	// A refresh on the full disk: the error names it, and the row is the
	// old token, whole, as SQLite's rolled-back write left it.
	v.Clock.Advance(31 * 24 * time.Hour) // the token is due for a refresh
	err := v.Refresh(ctx)
	if !store.IsDiskFull(err) {
		t.Fatalf("refresh on a full disk: %v, want the disk named", err)
	}
	if after, ok := v.StoredToken(); !ok || after.AccessToken != before.AccessToken || !after.ExpiresAt.Equal(before.ExpiresAt) {
		t.Fatalf("a refresh that could not be saved changed the stored token (ok %v)", ok)
	}
	if !strings.Contains(v.Logs.String(), "full") {
		t.Fatalf("the log does not tell of the full disk:\n%s", v.Logs.String())
	}

	free()
	v.CheckFaults(ctx)
	if k := hook.kinds(); len(k) != 2 || k[1] != alerts.AlertDiskResolved {
		t.Fatalf("alerts once there is room: %v, want %s then %s", k, alerts.AlertDiskFull, alerts.AlertDiskResolved)
	}
	v.SignedIn()
	if err := v.Refresh(ctx); err != nil {
		t.Fatalf("refresh once there is room: %v", err)
	}
	if after, _ := v.StoredToken(); after.AccessToken == before.AccessToken {
		t.Fatal("the refresh once there is room kept the old token")
	}
}

// assertImagesWhole fetches every image /widget.json lists and decodes it.
func assertImagesWhole(t *testing.T, v *testvitrine.Vitrine) {
	t.Helper()
	var doc struct {
		Posts []struct {
			Images []struct{ URL string } `json:"images"`
		} `json:"posts"`
	}
	_, body := v.Get("/widget.json")
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Posts) == 0 {
		t.Fatalf("/widget.json: %v\n%.300s", err, body)
	}
	for _, p := range doc.Posts {
		for _, im := range p.Images {
			resp, b := v.Get(strings.TrimPrefix(im.URL, v.URL))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d", im.URL, resp.StatusCode)
			}
			if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
				t.Fatalf("%s is not a whole JPEG: %v", im.URL, err)
			}
		}
	}
}

// TestDatabaseGoesAwayUnderReplicas cuts PostgreSQL away from two
// replicas sharing it (one of them runs the jobs): both keep serving the
// gallery and stay ready, and ops hear of the outage once, from the
// replica that runs the jobs, and of its end once.
func TestDatabaseGoesAwayUnderReplicas(t *testing.T) {
	t.Parallel()
	proxy, hook, shared := behindDBProxy(t)
	a := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(3), testvitrine.StartAt(time.Now()), testvitrine.Configure(shared))
	testfake.SmallPictures(a.Fake)
	a.ConnectAndSync(firstSyncPatience)
	a.Jobs.Start()
	testkit.Eventually(t, "the first replica takes the jobs lease", a.Jobs.Leader)
	b := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(3), testvitrine.StartAt(time.Now()), testvitrine.Configure(shared),
		testvitrine.Configure(func(c *config.Config) { c.DataDir = a.Config.DataDir })) // one media directory
	ctx := t.Context()
	for _, v := range []*testvitrine.Vitrine{a, b} {
		v.CheckFaults(ctx) // each learns who tells ops while the database answers
	}

	proxy.setCut(true)
	for _, v := range []*testvitrine.Vitrine{a, b} {
		v.CheckFaults(ctx) // finds it away
		v.Clock.Advance(3 * time.Minute)
		v.CheckFaults(ctx) // away for longer than alerts.database_after
		for _, p := range []string{"/widget.json", "/readyz"} {
			if resp, body := v.Get(p); resp.StatusCode != http.StatusOK || p == "/widget.json" && !strings.Contains(string(body), `"images"`) {
				t.Fatalf("GET %s on a replica while the database is away = %d:\n%.300s", p, resp.StatusCode, body)
			}
		}
	}
	if k := hook.kinds(); len(k) != 1 || k[0] != alerts.AlertDatabaseDown {
		t.Fatalf("alerts from two replicas: %v, want one %s", k, alerts.AlertDatabaseDown)
	}

	proxy.setCut(false)
	for _, v := range []*testvitrine.Vitrine{a, b} {
		v.CheckFaults(ctx)
	}
	if k := hook.kinds(); len(k) != 2 || k[1] != alerts.AlertDatabaseResolved {
		t.Fatalf("alerts once the database is back: %v, want %s then %s", k, alerts.AlertDatabaseDown, alerts.AlertDatabaseResolved)
	}
}
