package systemtest

// Three replicas of the real binary on one PostgreSQL database, one fake
// Instagram and one media directory, as behind a load balancer: the
// issue's "Done when" for running several replicas.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

// The replicas' periods: short, so that a run of several fits in seconds.
const (
	replicaSyncEvery     = 2 * time.Second
	replicaValidateEvery = 3 * time.Second
	replicaLease         = 3 * time.Second
	replicaPollEvery     = 250 * time.Millisecond
	replicaPublicURL     = "http://gallery.example.com" // http: cookies without Secure
)

// fakeCalls stands in front of the fake Instagram and notes when each
// request arrived, by the job it belongs to, and which are in flight.
type fakeCalls struct {
	next http.Handler

	mu       sync.Mutex
	at       map[string][]time.Time
	inflight map[string]int
}

// replicaJobOf names the job a request to Instagram belongs to: each
// validate asks for /me, a refresh for /refresh_access_token, and each
// sync reads /me/media (one page: the account has few posts).
func replicaJobOf(path string) string {
	switch {
	case strings.HasSuffix(path, "/media"):
		return jobs.JobSync
	case strings.HasSuffix(path, "/refresh_access_token"):
		return jobs.JobRefresh
	case strings.HasSuffix(path, "/me"):
		return jobs.JobValidate
	}
	return "other" // connecting, carousel children, CDN downloads
}

func (c *fakeCalls) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	job := replicaJobOf(r.URL.Path)
	c.mu.Lock()
	c.at[job] = append(c.at[job], time.Now())
	c.inflight[job]++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inflight[job]--
		c.mu.Unlock()
	}()
	c.next.ServeHTTP(w, r)
}

// since returns the arrival times of job's requests at or after from.
func (c *fakeCalls) since(job string, from time.Time) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for _, at := range c.at[job] {
		if !at.Before(from) {
			out = append(out, at)
		}
	}
	return out
}

func (c *fakeCalls) inFlight(job string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inflight[job]
}

// jobsDone matches the scheduler's line for a successful run.
var jobsDone = regexp.MustCompile(`msg="jobs: done" job=(\w+) `)

func doneRuns(b *runningBinary, job string) int {
	n := 0
	for _, m := range jobsDone.FindAllStringSubmatch(b.logs.String(), -1) {
		if job == "" || m[1] == job {
			n++
		}
	}
	return n
}

func TestReplicasShareOnePostgreSQL(t *testing.T) {
	testkit.SkipIfShort(t, "runs the binary three times, on PostgreSQL")
	t.Parallel()
	testkit.CleanEnv(t)
	dbURL := testkit.PostgresURL(t)

	f := fake.New(fake.Options{Posts: 3, RedirectURIs: []string{replicaPublicURL + "/admin/callback"}})
	calls := &fakeCalls{next: f, at: map[string][]time.Time{}, inflight: map[string]int{}}
	fakeSrv := httptest.NewServer(calls)
	t.Cleanup(fakeSrv.Close)
	ep := f.Endpoints(fakeSrv.URL)

	key := make([]byte, store.KeySize)
	rand.Read(key)
	dataDir := t.TempDir() // one data_dir, so one media directory, for all
	env := binaryEnv(map[string]string{
		"DATA_DIR":                dataDir,
		"DATABASE_URL":            dbURL,
		"SECRET_KEY":              base64.StdEncoding.EncodeToString(key),
		"SERVER_ADDR":             "127.0.0.1:0",
		"SERVER_PUBLIC_URL":       replicaPublicURL,
		"ADMIN_PASSWORD_HASH":     testvitrine.PasswordHash(),
		"INSTAGRAM_CLIENT_ID":     f.ClientID(),
		"INSTAGRAM_CLIENT_SECRET": f.ClientSecret(),
		"INSTAGRAM_AUTH_URL":      ep.AuthURL,
		"INSTAGRAM_TOKEN_URL":     ep.TokenURL,
		"INSTAGRAM_GRAPH_URL":     ep.GraphURL,
		"INSTAGRAM_MEDIA_HOSTS":   ep.MediaHost,
		"JOBS_SYNC":               "@every " + replicaSyncEvery.String(),
		"JOBS_VALIDATE":           "@every " + replicaValidateEvery.String(), // refresh's schedule too
		"JOBS_REFRESH_BEFORE":     "58d",
		"JOBS_LEASE":              replicaLease.String(),
		"WIDGET_POLL_EVERY":       replicaPollEvery.String(),
		"LOG_LEVEL":               "info",
	})

	// All three at the same moment: the migrations must not race.
	r := startBinaries(t, env, env, env)
	for i, b := range r {
		if out := b.logs.String(); strings.Contains(out, "level=ERROR") {
			t.Fatalf("replica %d logged an error starting:\n%s", i, out)
		}
	}

	// The test's own look at the database, as `vitrine status` has.
	st, err := store.Open(dbURL, key, store.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	leader := func() *runningBinary {
		holder, _, ok, err := st.LeaseHolder(ctx, jobs.LeaseName)
		if err != nil || !ok {
			return nil
		}
		for _, b := range r {
			if holderPID(holder) == b.pid {
				return b
			}
		}
		return nil
	}
	var lead *runningBinary
	testkit.Eventually(t, "a replica holds the jobs' lease", func() bool {
		if lead = leader(); lead == nil {
			return false
		}
		// Each replica's metric agrees: only the holder says it runs the jobs.
		for _, b := range r {
			if leaseHeldMetric(t, b) != (b == lead) {
				return false
			}
		}
		return true
	})

	// The owner goes through a load balancer without sticky sessions:
	// every step lands on another replica. The one Instagram's answer
	// reaches (b) is not the holder, so the sync connecting starts there is
	// the only one it runs.
	var a, b, c *runningBinary
	for _, x := range r {
		switch {
		case x == lead:
			a = x
		case b == nil:
			b = x
		default:
			c = x
		}
	}
	owner := cookieClient()
	form := url.Values{"password": {testPassword}, "csrf_token": {a.loginToken(owner)}}
	if code, hdr, page := b.request(owner, http.MethodPost, "/admin/login", form); code != http.StatusSeeOther || hdr.Get("Location") != "/admin" {
		t.Fatalf("the login form from one replica posted to another = %d %q:\n%.600s", code, hdr.Get("Location"), page)
	}
	for i, x := range r {
		if code, _, page := x.request(owner, http.MethodGet, "/admin", nil); code != http.StatusOK || !strings.Contains(page, `name="csrf_token" value="`) {
			t.Fatalf("the dashboard on replica %d with another's session = %d:\n%.600s", i, code, page)
		}
	}

	// Generate on a, Instagram's answer to b, the popup's result on c.
	code, hdr, _ := a.request(owner, http.MethodGet, "/admin/generate", nil)
	authorize, err := url.Parse(hdr.Get("Location"))
	if code != http.StatusFound || err != nil || !strings.HasPrefix(authorize.String(), ep.AuthURL) {
		t.Fatalf("Generate = %d, Location %q", code, hdr.Get("Location"))
	}
	approve := authorize.Query()
	approve.Set("decision", "approve")
	resp, err := cookieClient().PostForm(ep.AuthURL, approve)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(callback.String(), replicaPublicURL+"/admin/callback?") {
		t.Fatalf("approving on the fake: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, hdr, page := b.request(owner, http.MethodGet, "/admin/callback?"+callback.RawQuery, nil); code != http.StatusSeeOther || hdr.Get("Location") != "/admin/connected" {
		t.Fatalf("the callback on another replica = %d %q:\n%.600s", code, hdr.Get("Location"), page)
	}
	if code, _, page := c.request(owner, http.MethodGet, "/admin/connected", nil); code != http.StatusOK || !strings.Contains(page, "Instagram is connected") {
		t.Fatalf("the callback's outcome on the third replica = %d:\n%.600s", code, page)
	}

	// The first sync, on b, reaches every replica's gallery through the
	// generation they poll.
	testkit.Eventually(t, "the sync after connecting finishes", func() bool { return doneRuns(b, jobs.JobSync) > 0 })
	want := f.MediaIDs()
	for i, x := range r {
		testkit.Eventually(t, fmt.Sprintf("replica %d serves the connected account's %d posts", i, len(want)), func() bool {
			return len(galleryIDs(t, x)) == len(want)
		})
	}

	// Make the token due for a refresh: three days old at Instagram and
	// in the database, so 57 days are left, under jobs.refresh_before. Two
	// replicas refreshing it at once would each spend it.
	tok, err := st.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const aged = 72 * time.Hour
	f.AgeTokens(aged)
	if err := st.ReplaceAccessToken(ctx, tok.AccessToken, tok.IssuedAt.Add(-aged), tok.ExpiresAt.Add(-aged)); err != nil {
		t.Fatal(err)
	}

	// A run of several sync periods: the fake sees each job once per
	// period, all from the lease holder.
	if leader() != lead {
		t.Fatal("the jobs' lease changed hands with every replica alive")
	}
	from := time.Now()
	doneBefore := make([]int, len(r))
	for i, b := range r {
		doneBefore[i] = doneRuns(b, "")
	}
	testkit.Eventually(t, "five syncs, three validations and the refresh", func() bool {
		return len(calls.since(jobs.JobSync, from)) >= 5 && len(calls.since(jobs.JobValidate, from)) >= 3 &&
			len(calls.since(jobs.JobRefresh, from)) >= 1
	})
	// One more sync period, so that a second refresh would have shown.
	time.Sleep(replicaSyncEvery)
	elapsed := time.Since(from)
	for job, every := range map[string]time.Duration{jobs.JobSync: replicaSyncEvery, jobs.JobValidate: replicaValidateEvery} {
		at := calls.since(job, from)
		periods := float64(elapsed) / float64(every)
		if n := float64(len(at)); n < periods-1.5 || n > periods+1.5 {
			t.Errorf("%s: %d calls at the fake in %v, want one per %v", job, len(at), elapsed.Round(time.Millisecond), every)
		}
		for k := 1; k < len(at); k++ {
			if gap := at[k].Sub(at[k-1]); gap < every/2 {
				t.Errorf("%s: two calls %v apart, within one %v period", job, gap.Round(time.Millisecond), every)
			}
		}
		t.Logf("%s: %d calls at the fake in %v (every %v)", job, len(at), elapsed.Round(time.Millisecond), every)
	}
	if n := len(calls.since(jobs.JobRefresh, time.Time{})); n != 1 {
		t.Errorf("the token was refreshed %d times at the fake, want once", n)
	}
	if nt, err := st.Token(ctx); err != nil || nt.AccessToken == tok.AccessToken || nt.Status != store.StatusValid {
		t.Errorf("after the refresh: the stored token changed %v, status %q (%v)", nt.AccessToken != tok.AccessToken, nt.Status, err)
	}
	if leader() != lead {
		t.Fatal("the jobs' lease changed hands with every replica alive")
	}
	for i, b := range r {
		if n := doneRuns(b, "") - doneBefore[i]; (b == lead) != (n > 0) {
			t.Errorf("replica %d (holder %v) finished %d job runs during the run of periods", i, b == lead, n)
		}
	}

	// Instagram slows down; while the holder's sync waits on it, the
	// holder is SIGKILLed.
	f.SetLatency(time.Minute)
	testkit.Eventually(t, "a sync is under way upstream", func() bool { return calls.inFlight(jobs.JobSync) > 0 })
	if holder, _, ok, err := st.LeaseHolder(ctx, "job:sync"); err != nil || !ok || holderPID(holder) != lead.pid {
		t.Fatalf("the sync under way is not the jobs' holder's (%q, %v, %v)", holder, ok, err)
	}
	survivors := map[*runningBinary]int{}
	for _, b := range r {
		if b != lead {
			survivors[b] = doneRuns(b, jobs.JobSync)
		}
	}
	lead.stop()
	killed := time.Now()
	f.SetLatency(0)
	var next *runningBinary
	testkit.Eventually(t, "another replica takes the jobs' lease", func() bool {
		next = leader()
		return next != nil && next != lead
	})
	took := time.Since(killed)
	t.Logf("the jobs' lease was taken over %v after the kill (lease %v)", took.Round(time.Millisecond), replicaLease)
	// It expires at most a lease after the holder's last renewal, and the
	// others try for it every third of one; two seconds of slack for a
	// loaded machine.
	if limit := replicaLease + replicaLease/3 + 2*time.Second; took > limit {
		t.Errorf("the jobs' lease was taken over %v after the kill, want within %v", took, limit)
	}
	if _, ok := survivors[next]; !ok {
		t.Fatalf("the new holder (pid %d) is not a surviving replica", next.pid)
	}
	testkit.Eventually(t, "the new holder finishes a sync", func() bool { return doneRuns(next, jobs.JobSync) > survivors[next] })
	t.Logf("the new holder finished a sync %v after the kill", time.Since(killed).Round(time.Millisecond))

	// The killed replica comes back; a new post reaches every gallery.
	for i, b := range r {
		if b == lead {
			r[i] = startBinary(t, env)
		}
	}
	id := f.AddPost(fake.Post{MediaType: fake.MediaImage, Width: 640, Height: 480, Caption: "posted while three replicas run"})
	posted := time.Now()
	for i, b := range r {
		testkit.Eventually(t, fmt.Sprintf("replica %d serves the new post", i), func() bool {
			return galleryIDs(t, b)[id] != ""
		})
	}
	t.Logf("all three replicas served the new post %v after it was posted", time.Since(posted).Round(time.Millisecond))
	// Its image was mirrored once, by the holder, into the shared media
	// directory: every replica serves it.
	image := galleryIDs(t, r[0])[id]
	for i, b := range r {
		if code, hdr, body := b.request(nil, http.MethodGet, image, nil); code != http.StatusOK || hdr.Get("Content-Type") != "image/jpeg" || len(body) == 0 {
			t.Errorf("the new post's image %s on replica %d = %d %q, %d bytes", image, i, code, hdr.Get("Content-Type"), len(body))
		}
	}

	// The restarted replica accepts the session signed in before.
	for i, b := range r {
		if code, _, _ := b.request(owner, http.MethodGet, "/admin", nil); code != http.StatusOK {
			t.Errorf("the dashboard on replica %d after the restart = %d", i, code)
		}
	}

	// The throttle counts together: wrong passwords spread over the three
	// replicas are slowed down after as many as one replica alone allows
	// (counted apart, three times as many would pass), and the next
	// replica in turn then refuses them.
	aloneDelayed, aloneThrottled := wrongPasswordsUntilThrottled(t, "127.0.0.2", r[:1])
	spreadDelayed, spreadThrottled := wrongPasswordsUntilThrottled(t, "127.0.0.3", r)
	t.Logf("wrong passwords: the first delay at attempt %d on one replica, %d spread over three; the first 429 at attempt %d and %d",
		aloneDelayed, spreadDelayed, aloneThrottled, spreadThrottled)
	if aloneDelayed == 0 || spreadDelayed != aloneDelayed {
		t.Errorf("the first delayed wrong password: attempt %d on one replica, %d spread over three; want the same", aloneDelayed, spreadDelayed)
	}
}

// holderPID is the process id in a lease holder's name (host-pid-random).
func holderPID(holder string) int {
	parts := strings.Split(holder, "-")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

// leaseHeldMetric reads vitrine_jobs_lease_held off the replica's
// /metrics, which loopback may read.
func leaseHeldMetric(t *testing.T, b *runningBinary) bool {
	code, _, body := b.request(nil, http.MethodGet, "/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	return strings.Contains(body, "\nvitrine_jobs_lease_held 1\n")
}

// galleryIDs maps the ids of the posts /widget.json lists to the path of
// each one's first image ("" without one).
func galleryIDs(t *testing.T, b *runningBinary) map[string]string {
	code, _, body := b.request(nil, http.MethodGet, "/widget.json", nil)
	var doc struct {
		Posts []struct {
			ID     string `json:"id"`
			Images []struct {
				URL string `json:"url"`
			} `json:"images"`
		} `json:"posts"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &doc) != nil {
		return nil
	}
	ids := map[string]string{}
	for _, p := range doc.Posts {
		ids[p.ID] = ""
		if len(p.Images) > 0 {
			if u, err := url.Parse(p.Images[0].URL); err == nil {
				ids[p.ID] = u.RequestURI()
			}
		}
	}
	return ids
}

// wrongPasswordsUntilThrottled signs in with wrong passwords from the
// loopback address ip, on each replica in turn, until one answers 429. It
// returns which attempt was the first to be answered with a delay (401
// with Retry-After), and which the 429 answered. The delay runs from the
// moment the password check began, so a slow bcrypt (-race) may outlast
// it and let another attempt through before the 429: only the first is
// exact.
func wrongPasswordsUntilThrottled(t *testing.T, ip string, on []*runningBinary) (delayed, throttled int) {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{DialContext: dialer.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tokens := make([]string, len(on))
	for i, b := range on {
		tokens[i] = b.loginToken(c)
	}
	for n := 1; n <= 20; n++ {
		i := n % len(on)
		code, hdr, page := on[i].request(c, http.MethodPost, "/admin/login", url.Values{"password": {"wrong " + ip}, "csrf_token": {tokens[i]}})
		switch code {
		case http.StatusUnauthorized:
			if delayed == 0 && hdr.Get("Retry-After") != "" {
				delayed = n
			}
		case http.StatusTooManyRequests:
			return delayed, n
		default:
			t.Fatalf("wrong password from %s on replica %d = %d:\n%.500s", ip, i, code, page)
		}
	}
	t.Fatalf("20 wrong passwords from %s and no 429", ip)
	return 0, 0
}
