package systemtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/instagram"
	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

// loadConcurrency is how many visitors hit the widget at once, each on its
// own keep-alive connection.
const loadConcurrency = 256

// TestLoadWidgetJSWhileSyncFailsHalfItsCalls puts 256 concurrent
// visitors on /widget.js, over loopback HTTP, while a sync runs every second
// against an Instagram that fails every other call and the feed changes
// under it, so snapshots are swapped mid-load, until several syncs have
// succeeded and several failed. No visitor may see anything but 200 or
// 304. Then, with the jobs stopped, visitors on every public route must not
// cause a single call to Instagram.
//
// The load lasts as many syncs as it takes, not a set time: on a loaded
// machine syncs are slower, and the load runs longer.
func TestLoadWidgetJSWhileSyncFailsHalfItsCalls(t *testing.T) {
	testkit.SkipIfShort(t, "a load test")
	t.Parallel()
	syncsEach := 3 // succeeded, and as many failed
	if longTests() {
		syncsEach = 30
	}
	la := newLoadApp(t)
	ctx := context.Background()

	// A first good sync, so there is a gallery to serve.
	if err := la.Jobs.RunNow(ctx, jobs.JobSync); err != nil {
		t.Fatalf("first sync: %v\n%s", err, la.Logs.String())
	}
	var doc widgetDoc
	if err := json.Unmarshal(la.get(t, "/widget.json"), &doc); err != nil || len(doc.Posts) == 0 {
		t.Fatalf("no gallery after the first sync (%v)", err)
	}
	la.Jobs.Start()
	callsBefore := la.Fake.Calls()

	// Sync every second, as "Sync now" does, with something new in the
	// feed each time, until syncsEach syncs have succeeded and as many
	// failed. Instagram fails every other call; re-arming that before
	// every other sync makes its first call a failing one, so syncs fail
	// and succeed in turn instead of falling in step with the alternation
	// (a sync that makes an even number of calls would otherwise succeed,
	// or fail, every time).
	syncCtx, stopSyncing := context.WithCancel(ctx)
	defer stopSyncing()
	var syncs struct{ ok, failed, busy int }
	syncerDone := make(chan struct{})
	go func() {
		defer close(syncerDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		// Only for a sync that never succeeds, or never fails: however
		// loaded the machine, a passing run is far from it.
		giveUp := time.Now().Add(5 * time.Minute)
		for n := 0; syncs.ok < syncsEach || syncs.failed < syncsEach; n++ {
			if time.Now().After(giveUp) {
				t.Errorf("syncs: %d ok, %d failed, %d busy after 5 minutes; want %d of each", syncs.ok, syncs.failed, syncs.busy, syncsEach)
				return
			}
			la.changeFeed(n)
			if n%2 == 0 {
				la.Fake.FailRatio(0.5, http.StatusTooManyRequests)
			}
			err := la.Jobs.RunNow(syncCtx, jobs.JobSync)
			switch {
			case syncCtx.Err() != nil:
				return
			case err == nil:
				syncs.ok++
			case errors.Is(err, jobs.ErrAlreadyRunning):
				syncs.busy++
			case errors.Is(err, instagram.ErrRateLimited):
				syncs.failed++
			default:
				t.Errorf("sync failed otherwise than by Instagram's 429: %v", err)
			}
			select {
			case <-tick.C:
			case <-syncCtx.Done():
				return
			}
		}
	}()

	loadStart := time.Now()
	res := la.visit(syncerDone, 0, func(i int) (string, bool) { return "/widget.js", i%3 == 0 })
	callsDuring := la.Fake.Calls() - callsBefore

	t.Logf("%v of load: %s; syncs: %d ok, %d failed, %d found one running; %d upstream calls",
		time.Since(loadStart).Round(time.Millisecond), res, syncs.ok, syncs.failed, syncs.busy, callsDuring)
	res.check(t)
	if res.status[http.StatusOK] == 0 || res.status[http.StatusNotModified] == 0 {
		t.Errorf("want both 200s and 304s: %s", res)
	}
	if res.etags < 2 {
		t.Errorf("/widget.js kept one ETag: no new snapshot was swapped in during the load")
	}
	// Not vacuous: the jobs were busy and failing all along (the syncer
	// ran until they had, or failed the test).
	if callsDuring < int64(syncs.ok+syncs.failed) {
		t.Errorf("%d syncs made %d calls to Instagram", syncs.ok+syncs.failed, callsDuring)
	}
	if n := la.metric(t, `vitrine_job_runs_total{job="sync",result="failure"}`); n < float64(syncs.failed) {
		t.Errorf("/metrics counts %v failed syncs, the test saw %d", n, syncs.failed)
	}

	// Visitors alone: the jobs stopped, every public route, no upstream call.
	if err := la.Jobs.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(la.get(t, "/widget.json"), &doc); err != nil || len(doc.Posts) == 0 {
		t.Fatalf("no gallery after the load (%v)", err)
	}
	paths := []string{"/widget.js", "/widget.json", "/widget", "/widget?fragment=1", "/healthz"}
	for _, p := range doc.Posts {
		for _, im := range p.Images {
			path, ok := strings.CutPrefix(im.URL, la.URL+"/media/")
			if !ok {
				t.Fatalf("image URL %q is not under %s/media/", im.URL, la.URL)
			}
			paths = append(paths, "/media/"+path)
		}
	}
	calls := la.Fake.Calls()
	now := make(chan struct{})
	close(now)
	res = la.visit(now, 10*loadConcurrency, func(i int) (string, bool) { return paths[i%len(paths)], i%4 == 0 })
	t.Logf("visitors alone on %d routes: %s", len(paths), res)
	res.check(t)
	if n := la.Fake.Calls() - calls; n != 0 {
		t.Errorf("visitors caused %d calls to Instagram", n)
	}
}

// loadApp is a Vitrine under test (served, logging at info as in
// production: debug logging turns the fast path off) whose fake account
// has a few small pictures
// (resizing big ones under -race would eat the CPU the visitors need, and
// this test is about the visitors), connected as after Generate, with the
// jobs not started.
type loadApp struct{ *testvitrine.Vitrine }

func newLoadApp(t *testing.T) *loadApp {
	t.Helper()
	// The jobs keep their schedules (validate hourly, sync every 15 min):
	// the test runs sync every second itself, since a scheduled sync backs
	// off for minutes after a failure, and with Instagram failing every
	// other call a second job calling each second would take all the good
	// turns and leave sync only the bad ones.
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(-1), testvitrine.RealTime(), testvitrine.Connected())
	for i := range 8 {
		v.Fake.AddPost(fake.Post{Caption: fmt.Sprintf("post %d #load", i), Width: 320, Height: 320 + 40*(i%3)})
	}
	return &loadApp{v}
}

// changeFeed edits a caption every time and adds a post every third time
// (dropping the oldest past twelve), so successful syncs change the gallery.
func (la *loadApp) changeFeed(n int) {
	ids := la.Fake.MediaIDs()
	la.Fake.SetCaption(ids[n%len(ids)], fmt.Sprintf("edited at tick %d ✨", n))
	if n%3 == 0 {
		la.Fake.AddPost(fake.Post{Caption: fmt.Sprintf("new at tick %d", n), Width: 320, Height: 320})
		if ids := la.Fake.MediaIDs(); len(ids) > 12 {
			la.Fake.DeletePost(ids[len(ids)-1])
		}
	}
}

func (la *loadApp) get(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := http.Get(la.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return body
}

// metric reads one sample from /metrics; 0 when absent (a labelled
// counter appears at its first increment).
func (la *loadApp) metric(t *testing.T, sample string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`)
	m := re.FindSubmatch(la.get(t, "/metrics"))
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// loadResult is what the visitors got.
type loadResult struct {
	requests    int64
	status      map[int]int64
	errors      int64
	firstErr    string
	etags       int // distinct ETags of 200 answers
	idle        int // visitors that finished no request
	maxConns    int
	conditional int64 // requests sent with If-None-Match
}

func (r loadResult) String() string {
	return fmt.Sprintf("%d requests (%d conditional) on up to %d connections, statuses %v, %d transport errors, %d ETags",
		r.requests, r.conditional, r.maxConns, r.status, r.errors, r.etags)
}

// check: every answer 200 or 304, no transport error, every visitor
// answered, and all 256 at work at once.
func (r loadResult) check(t *testing.T) {
	t.Helper()
	if r.errors > 0 {
		t.Errorf("%d requests failed; first: %s", r.errors, r.firstErr)
	}
	for status, n := range r.status {
		if status != http.StatusOK && status != http.StatusNotModified {
			t.Errorf("%d answers with status %d", n, status)
		}
	}
	if r.idle > 0 || r.maxConns < loadConcurrency {
		t.Errorf("%d visitors got no answer, at most %d connections open: the load was not %d wide",
			r.idle, r.maxConns, loadConcurrency)
	}
}

// visit runs loadConcurrency visitors on keep-alive connections until
// until is closed and they have made at least minRequests requests in all;
// each makes one more request after that, so every visitor sees what the
// app serves at the end (the last snapshot). Visitor request i goes to
// pathFor(i); when conditional is true it sends the latest ETag seen for
// that path in If-None-Match.
func (la *loadApp) visit(until <-chan struct{}, minRequests int64, pathFor func(i int) (path string, conditional bool)) loadResult {
	// Connections are counted where they are dialled: the server's fast
	// path must keep its own *net.TCPConn (writev).
	var conns struct {
		sync.Mutex
		open, max int
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		MaxIdleConns: 2 * loadConcurrency, MaxIdleConnsPerHost: loadConcurrency, IdleConnTimeout: time.Minute,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			conns.Lock()
			conns.open++
			conns.max = max(conns.max, conns.open)
			conns.Unlock()
			return &countedConn{Conn: c, closed: func() {
				conns.Lock()
				conns.open--
				conns.Unlock()
			}}, nil
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	var (
		mu       sync.Mutex
		res      = loadResult{status: map[int]int64{}}
		etags    = map[string]bool{}
		lastETag sync.Map // path → ETag
		requests atomic.Int64
		wg       sync.WaitGroup
	)
	stopped := func() bool {
		select {
		case <-until:
			return requests.Load() >= minRequests
		default:
			return false
		}
	}
	for range loadConcurrency {
		wg.Go(func() {
			status := map[int]int64{}
			var done, errs, cond int64
			var firstErr string
			for last := false; !last; {
				last = stopped()
				path, conditional := pathFor(int(requests.Add(1)))
				req, _ := http.NewRequest(http.MethodGet, la.URL+path, nil)
				if tag, ok := lastETag.Load(path); ok && conditional {
					req.Header.Set("If-None-Match", tag.(string))
					cond++
				}
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				done++
				status[resp.StatusCode]++
				if tag := resp.Header.Get("ETag"); resp.StatusCode == http.StatusOK && tag != "" {
					if old, _ := lastETag.Swap(path, tag); old != tag {
						mu.Lock()
						etags[path+" "+tag] = true
						mu.Unlock()
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.requests += done + errs
			res.errors += errs
			res.conditional += cond
			if res.firstErr == "" {
				res.firstErr = firstErr
			}
			for s, n := range status {
				res.status[s] += n
			}
			if done == 0 {
				res.idle++
			}
		})
	}
	wg.Wait()
	res.etags = len(etags)
	conns.Lock()
	res.maxConns = conns.max
	conns.Unlock()
	return res
}

// countedConn reports its first Close.
type countedConn struct {
	net.Conn
	once   sync.Once
	closed func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.closed)
	return c.Conn.Close()
}
