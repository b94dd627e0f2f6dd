package systemtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/app"
	"vitrine/config"
	"vitrine/connection"
	"vitrine/instagram"
	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/testkit/testvitrine"
)

// The backoff design of jobs/scheduler.go: after the n-th consecutive
// transient failure a job waits 1m·2^(n-1), at most an hour.
const (
	outageBackoffBase = time.Minute
	outageBackoffMax  = time.Hour
)

// outageHangTimeout is instagram.timeout during TestOutage's hanging
// phase. Instagram hangs for a real 20 s then; the client gives up after
// this, so each hung attempt costs the test this much real time, not 20 s.
// The other phases keep the default timeout, which no answer of the fake's
// comes near however loaded the machine.
const outageHangTimeout = 50 * time.Millisecond

// outageAttempts counts, at the app's side, the Graph requests its
// Instagram client attempts. The fake counts those that reach it, which
// for a hung attempt depends on the machine: a loaded one can time the
// attempt out before its request is written, or deliver the request after
// the client gave up on it.
type outageAttempts struct{ n atomic.Int64 }

// client is an HTTP client for instagram.Config that counts into c: a
// transport of its own (so no connection outlives a swap of clients), no
// redirects followed, as the default client.
func (c *outageAttempts) client() *http.Client {
	next := http.DefaultTransport.(*http.Transport).Clone()
	return &http.Client{
		Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
			c.n.Add(1)
			return next.RoundTrip(req)
		}),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// outageGate is graph.instagram.com as the app sees it: a listener of the
// test's own that serves the fake and can be closed (connections refused)
// and opened again on the same port.
type outageGate struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func newOutageGate(t *testing.T) (*outageGate, net.Listener) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &outageGate{t: t, addr: ln.Addr().String()}
	t.Cleanup(g.close)
	return g, ln
}

func (g *outageGate) URL() string { return "http://" + g.addr }

func (g *outageGate) serve(ln net.Listener, h http.Handler) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go g.srv.Serve(ln)
}

// open listens on the gate's port again.
func (g *outageGate) open(h http.Handler) {
	g.t.Helper()
	ln, err := net.Listen("tcp", g.addr)
	if err != nil {
		g.t.Fatalf("reopen %s: %v", g.addr, err)
	}
	g.serve(ln, h)
}

// close stops listening and drops every connection: from now on dialing
// the gate is refused.
func (g *outageGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.srv != nil {
		g.srv.Close()
		g.srv = nil
	}
}

// outageRunLog remembers every run of each job, from the store's job_runs row
// after each scheduler step.
type outageRunLog struct {
	last map[string]store.JobRun
	runs map[string][]store.JobRun
}

func (l *outageRunLog) record(t *testing.T, st *store.Store) {
	t.Helper()
	list, err := st.JobRuns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		prev, seen := l.last[r.Name]
		if seen && prev.LastRun.Equal(r.LastRun) && prev.Failures == r.Failures {
			continue
		}
		l.last[r.Name] = r
		l.runs[r.Name] = append(l.runs[r.Name], r)
	}
}

// between returns the runs of job that started in (from, to].
func (l *outageRunLog) between(job string, from, to time.Time) []store.JobRun {
	var out []store.JobRun
	for _, r := range l.runs[job] {
		if r.LastRun.After(from) && !r.LastRun.After(to) {
			out = append(out, r)
		}
	}
	return out
}

// TestOutage takes the fake Instagram down for a simulated day: connection
// refused for 10 h, then HTTP 500 for 10 h, then requests that hang for
// 20 s (past instagram.timeout) for 4 h. Through all of it the gallery
// serves its last good posts flagged stale, the token stays valid, no
// re-auth alert goes out, and the jobs back off; when Instagram comes back,
// syncing resumes by itself and brings the posts published meanwhile.
func TestOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var alerts struct {
		sync.Mutex
		bodies []string
	}
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		alerts.Lock()
		alerts.bodies = append(alerts.bodies, string(b))
		alerts.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer webhook.Close()

	gate, ln := newOutageGate(t)
	v := testvitrine.New(t, testvitrine.Served(),
		testvitrine.Posts(-1), // only the small posts below: mirroring 1080 px images under -race is slow
		testvitrine.StartAt(time.Now()),
		testvitrine.Configure(func(c *config.Config) {
			// Graph reads, refresh and the CDN (its URLs follow the host
			// asked) go through the gate; the code exchange does not.
			c.Instagram.GraphURL = gate.URL()
			c.Instagram.MediaHosts = []string{gate.addr}
			c.Alerts.WebhookURL = webhook.URL
		}),
	)
	gate.serve(ln, v.Fake)
	// The app's Instagram client with its Graph requests counted and the
	// timeout given, swapped in place while no job runs (the scheduler and
	// admin hold v.Instagram). As quickRetries has it: as many attempts
	// per call as in production, without their real-time waits (up to
	// 1.75 s per failing call, ~60 calls).
	tally := &outageAttempts{}
	log := slog.New(slog.NewTextHandler(v.Logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	useClient := func(timeout time.Duration) {
		t.Helper()
		ic := app.InstagramConfig(&v.Config, log, v.Clock.Now)
		ic.Backoff, ic.Timeout, ic.HTTPClient = time.Millisecond, timeout, tally.client()
		c, err := instagram.New(ic)
		if err != nil {
			t.Fatal(err)
		}
		*v.Instagram = *c
	}
	useClient(instagram.DefaultTimeout)

	now := v.Clock.Now()
	before := []string{ // oldest first
		v.Fake.AddPost(fake.Post{Caption: "Before the outage, one", Width: 320, Height: 320, Timestamp: now.Add(-2 * time.Hour)}),
		v.Fake.AddPost(fake.Post{Caption: "Before the outage, two", Width: 320, Height: 320, Timestamp: now.Add(-time.Hour)}),
	}
	v.ConnectAndSync(firstSyncPatience)
	if err := v.Jobs.RunDue(ctx); err != nil { // validate and refresh, for a clean start
		t.Fatal(err)
	}
	doc := outageWidget(t, v)
	if doc.Stale || len(doc.Posts) != 2 {
		t.Fatalf("before the outage: stale %v, %d posts", doc.Stale, len(doc.Posts))
	}

	start := v.Clock.Now()
	runs := &outageRunLog{last: map[string]store.JobRun{}, runs: map[string][]store.JobRun{}}
	runs.record(t, v.Store)
	// step moves the simulated clock a minute at a time up to `until`
	// after the outage began and runs what the scheduler finds due (cron
	// does not fire on a simulated clock); every failure must be
	// Instagram being unavailable.
	step := func(until time.Duration, done func() bool) {
		t.Helper()
		for v.Clock.Now().Before(start.Add(until)) {
			v.Clock.Advance(time.Minute)
			if err := v.Jobs.RunDue(ctx); err != nil {
				for _, e := range outageUnjoin(err) {
					if !errors.Is(e, instagram.ErrUnavailable) || errors.Is(e, connection.ErrNeedsReauth) {
						t.Fatalf("%s into the outage: a job failed with something else than Instagram being unavailable: %v",
							v.Clock.Now().Sub(start), e)
					}
				}
			}
			runs.record(t, v.Store)
			if done != nil && done() {
				return
			}
		}
	}
	// servingStale checks what visitors, the store and the dashboard see
	// while Instagram is down.
	servingStale := func(phase string) {
		t.Helper()
		doc := outageWidget(t, v)
		if !doc.Stale || len(doc.Posts) != 2 || doc.Posts[0].ID != before[1] || doc.Posts[1].ID != before[0] {
			t.Errorf("%s: /widget.json stale %v with %d posts, want the 2 last good ones flagged stale", phase, doc.Stale, len(doc.Posts))
		}
		for _, path := range []string{"/widget", "/widget?fragment=1", "/widget.js"} {
			resp, body := v.Get(path)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Before the outage, one") ||
				!strings.Contains(string(body), "/media/"+before[1]+"/") {
				t.Errorf("%s: %s = %d without the last good posts", phase, path, resp.StatusCode)
			}
		}
		for _, id := range before {
			if resp, _ := v.Get("/media/" + id + "/320.jpg"); resp.StatusCode != http.StatusOK {
				t.Errorf("%s: mirrored image of %s = %d", phase, id, resp.StatusCode)
			}
		}
		tok, err := v.Store.Token(ctx)
		if err != nil || tok.Status != store.StatusValid {
			t.Errorf("%s: token %s (%s), err %v; an outage is not an expiry", phase, tok.Status, tok.StatusReason, err)
		}
		if st := outageDashboard(t, v); st.State != string(store.StatusValid) || st.NeedsReauth {
			t.Errorf("%s: dashboard says %q, needs_reauth %v", phase, st.State, st.NeedsReauth)
		}
		outageNoAlerts(t, v, phase, &alerts.Mutex, &alerts.bodies)
	}

	// counts returns the requests that reached Instagram and those the
	// client attempted since the outage began.
	callsAt0, attemptsAt0 := v.Fake.Calls(), tally.n.Load()
	counts := func() (calls, attempts int64) {
		return v.Fake.Calls() - callsAt0, tally.n.Load() - attemptsAt0
	}

	// Phase 1, 0–10 h: nothing listens on graph.instagram.com.
	gate.close()
	step(10*time.Hour, nil)
	servingStale("connection refused")
	callsAt10h, attemptsAt10h := counts()
	if callsAt10h != 0 {
		t.Errorf("%d requests reached Instagram while its port was closed", callsAt10h)
	}

	// Phase 2, 10–20 h: Instagram answers 500 (its transient error).
	// FailFor runs a little past 20 h: the phase ends when the hangs start.
	v.Fake.FailFor(10*time.Hour+time.Minute, http.StatusInternalServerError)
	gate.open(v.Fake)
	step(12*time.Hour, nil)
	added := v.Fake.AddPost(fake.Post{Caption: "Posted during the outage", Width: 320, Height: 320})
	step(20*time.Hour, nil)
	servingStale("HTTP 500")
	callsAt20h, attemptsAt20h := counts()

	// Phase 3, 20–24 h: every request hangs for 20 s, far past the
	// client's timeout (a real 20 s: the fake answers nothing until the
	// client gives up and hangs up).
	v.Fake.ResetFaults()
	v.Fake.SetLatency(20 * time.Second)
	useClient(outageHangTimeout)
	step(24*time.Hour, nil)
	servingStale("hanging requests")
	callsAt24h, attemptsAt24h := counts()

	// Instagram is back. Nobody clicks anything: the scheduler alone must
	// pick it up, at the latest when the longest backoff has passed.
	v.Fake.ResetFaults()
	useClient(instagram.DefaultTimeout)
	back := v.Clock.Now()
	step(26*time.Hour, func() bool { return !outageWidget(t, v).Stale })
	recovered := v.Clock.Now().Sub(back)
	doc = outageWidget(t, v)
	if doc.Stale {
		t.Fatalf("still stale %s after Instagram came back", recovered)
	}
	if recovered > outageBackoffMax+time.Minute {
		t.Errorf("syncing resumed %s after Instagram came back, want within the longest backoff (%s)", recovered, outageBackoffMax)
	}
	if len(doc.Posts) != 3 || doc.Posts[0].ID != added {
		t.Errorf("after recovery /widget.json has %d posts (first %q), want 3 with the new %s first", len(doc.Posts), outageFirstID(doc), added)
	}
	if _, body := v.Get("/widget"); !strings.Contains(string(body), "Posted during the outage") {
		t.Error("the post published during the outage is not in /widget")
	}
	if resp, _ := v.Get("/media/" + added + "/320.jpg"); resp.StatusCode != http.StatusOK {
		t.Errorf("the new post's image: %d", resp.StatusCode)
	}
	t.Logf("syncing resumed by itself %s after Instagram came back", recovered)

	outageNoAlerts(t, v, "after recovery", &alerts.Mutex, &alerts.bodies)
	if tok, _ := v.Store.Token(ctx); tok.Status != store.StatusValid {
		t.Errorf("after recovery the token is %s", tok.Status)
	}

	// Backing off, not hammering. Each failed run of validate (GET /me)
	// and sync (GET /me/media) is one call the client tries 1+MaxRetries
	// times; refresh has nothing to do 60 days from expiry.
	end := start.Add(24 * time.Hour)
	attempts := int64(instagram.DefaultMaxRetries + 1)
	schedule := map[string]time.Duration{jobs.JobValidate: time.Hour, jobs.JobSync: 15 * time.Minute} // config defaults
	var failedRuns, scheduleRuns int
	for job, every := range schedule {
		rs := runs.between(job, start, end)
		for i, r := range rs {
			if r.LastOK {
				t.Errorf("%s succeeded during the outage at +%s", job, r.LastRun.Sub(start))
				continue
			}
			if i == 0 || rs[i-1].Failures < 1 {
				continue
			}
			// Never sooner than the backoff of the previous failure,
			// never later than the schedule or that backoff allows.
			gap := r.LastRun.Sub(rs[i-1].LastRun)
			want := min(outageBackoffBase<<min(rs[i-1].Failures-1, 10), outageBackoffMax)
			if gap < want || gap > max(want, every)+time.Minute {
				t.Errorf("%s run %d at +%s came %s after the previous (failure %d), want %s–%s",
					job, i+1, r.LastRun.Sub(start), gap, rs[i-1].Failures, want, max(want, every))
			}
		}
		// Once the backoff reached its cap (after the first hour or
		// two), at most one run an hour.
		if late := runs.between(job, start.Add(2*time.Hour), end); len(late) > 22+1 {
			t.Errorf("%s ran %d times in the outage's last 22 h, want at most one an hour", job, len(late))
		}
		failedRuns += len(rs)
		scheduleRuns += int(24 * time.Hour / every)
		t.Logf("%s: %d runs during the 24 h outage; its schedule alone: %d", job, len(rs), int(24*time.Hour/every))
	}
	if failedRuns*2 > scheduleRuns {
		t.Errorf("%d job runs during the outage, want at most half of the %d the schedules alone would make", failedRuns, scheduleRuns)
	}
	// The client's attempts: exactly those of the failed runs. Those that
	// reached Instagram: all of them while it answered 500; while it hung,
	// no more than them (see outageAttempts for why not exactly).
	for _, ph := range []struct {
		name            string
		from, to        time.Duration
		calls, attempts int64
		hours           int
	}{
		{"HTTP 500", 10 * time.Hour, 20 * time.Hour, callsAt20h - callsAt10h, attemptsAt20h - attemptsAt10h, 10},
		{"hanging", 20 * time.Hour, 24 * time.Hour, callsAt24h - callsAt20h, attemptsAt24h - attemptsAt20h, 4},
	} {
		var n int64
		for job := range schedule {
			n += int64(len(runs.between(job, start.Add(ph.from), start.Add(ph.to))))
		}
		if ph.attempts != n*attempts {
			t.Errorf("%s phase: the client made %d requests for %d failed runs, want %d (%d attempts each)", ph.name, ph.attempts, n, n*attempts, attempts)
		}
		if ph.calls > ph.attempts || ph.name == "HTTP 500" && ph.calls != ph.attempts {
			t.Errorf("%s phase: %d requests reached Instagram of the %d the client made", ph.name, ph.calls, ph.attempts)
		}
		alone := int64(ph.hours) * (1 + 4) * attempts
		t.Logf("%s phase (%d h): %d requests to Instagram (%d attempted); the schedules alone would make %d", ph.name, ph.hours, ph.calls, ph.attempts, alone)
		if ph.attempts*2 > alone {
			t.Errorf("%s phase: %d requests to Instagram, want at most half of the %d the schedules alone would make", ph.name, ph.attempts, alone)
		}
	}
}

type outageWidgetJSON struct {
	Stale bool `json:"stale"`
	Posts []struct {
		ID      string `json:"id"`
		Caption string `json:"caption"`
	} `json:"posts"`
}

func outageWidget(t *testing.T, v *testvitrine.Vitrine) outageWidgetJSON {
	t.Helper()
	resp, body := v.Get("/widget.json")
	var doc outageWidgetJSON
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/widget.json = %d", resp.StatusCode)
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("/widget.json: %v", err)
	}
	return doc
}

func outageFirstID(doc outageWidgetJSON) string {
	if len(doc.Posts) == 0 {
		return ""
	}
	return doc.Posts[0].ID
}

type outageStatusJSON struct {
	State       string `json:"state"`
	NeedsReauth bool   `json:"needs_reauth"`
	LastError   string `json:"last_error"`
}

// outageDashboard signs in (sessions expire on the simulated clock, so
// afresh each time) and reads /admin/status.json.
func outageDashboard(t *testing.T, v *testvitrine.Vitrine) outageStatusJSON {
	t.Helper()
	c := v.SignedIn()
	resp, err := c.Client.Get(v.URL + "/admin/status.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st outageStatusJSON
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/admin/status.json = %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// outageNoAlerts checks that ops heard nothing: no webhook, no alert or token
// event in the log the dashboard shows.
func outageNoAlerts(t *testing.T, v *testvitrine.Vitrine, phase string, mu *sync.Mutex, bodies *[]string) {
	t.Helper()
	mu.Lock()
	if len(*bodies) > 0 {
		t.Errorf("%s: %d alerts sent, first: %s", phase, len(*bodies), (*bodies)[0])
	}
	mu.Unlock()
	events, err := v.Store.Events(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Kind == "alert" || e.Kind == "token" || strings.Contains(strings.ToLower(e.Message), "reconnect") {
			t.Errorf("%s: event %s/%s: %s", phase, e.Kind, e.Level, e.Message)
		}
	}
}

// outageUnjoin lists the errors RunDue joined, one per failed job.
func outageUnjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok && strings.Contains(err.Error(), "\n") {
		return j.Unwrap()
	}
	return []error{err}
}
