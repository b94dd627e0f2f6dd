package systemtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"vitrine/alerts"
	"vitrine/config"
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

// webhook is a loopback receiver of Vitrine's alerts.
type webhook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []alerts.Alert
}

func newWebhook(t testing.TB) *webhook {
	h := &webhook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a alerts.Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		h.mu.Lock()
		h.alerts = append(h.alerts, a)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *webhook) kinds() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, a := range h.alerts {
		out = append(out, a.Kind)
	}
	return out
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
	u, err := url.Parse(testkit.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newDBProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	hook := newWebhook(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(3), testvitrine.StartAt(time.Now()),
		testvitrine.Configure(func(c *config.Config) {
			c.Database.URL = u.String()
			c.SecretKey = base64.StdEncoding.EncodeToString(key)
			c.Alerts.WebhookURL = hook.srv.URL + "/hook"
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
		if strings.Contains(r, u.Host) || strings.Contains(r, "postgres") {
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
