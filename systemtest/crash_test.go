package systemtest

// The whole-binary crash test: the real vitrine, pointed at a fake
// Instagram in this process, is SIGKILLed again and again while it refreshes
// the token, syncs the feed and mirrors images, and restarted on the same
// data_dir each time. store/crash_test.go does the same to the store alone;
// this one checks what an operator would: after any crash the token still
// decrypts and Instagram takes it, the database is intact, and the gallery
// serves exactly what the database holds, with every image whole.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"vitrine/config"
	"vitrine/instagram/fake"
	"vitrine/store"
	"vitrine/testkit"
)

const crashPublicURL = "https://gallery.example.com"

// listeningAddr is the address the binary bound (-addr 127.0.0.1:0), from
// its ready line; the public URL there is server.public_url.
var listeningAddr = regexp.MustCompile(`msg="Vitrine is listening" url=\S+ addr=(\S+)`)

// Upstream phases, as the fake sees the binary's requests.
const (
	phaseValidate = "validate" // GET /me
	phaseRefresh  = "refresh"  // GET /refresh_access_token
	phaseSync     = "sync"     // the feed: /me/media, /{id}/children
	phaseMirror   = "mirror"   // CDN downloads
)

func phaseOf(path string) string {
	switch {
	case strings.HasPrefix(path, "/cdn/"):
		return phaseMirror
	case strings.HasSuffix(path, "/refresh_access_token"):
		return phaseRefresh
	case strings.HasSuffix(path, "/me"):
		return phaseValidate
	default:
		return phaseSync
	}
}

// upstreamTap stands in front of the fake: it holds the binary's requests
// while a gate is shut (so a freshly restarted binary cannot change
// anything while the test inspects it) and tells the test which phase the
// binary is in, so kills can be aimed.
type upstreamTap struct {
	next   http.Handler
	notify chan struct{} // one pending signal per arrival burst

	mu       sync.Mutex
	gate     chan struct{} // closed: open
	inflight map[string]int
	arrived  map[string]int // per phase, since the last hold
	last     string         // phase of the latest arrival since the last hold
}

func newUpstreamTap(next http.Handler) *upstreamTap {
	open := make(chan struct{})
	close(open)
	return &upstreamTap{next: next, notify: make(chan struct{}, 1), gate: open,
		inflight: map[string]int{}, arrived: map[string]int{}}
}

func (u *upstreamTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	phase := phaseOf(r.URL.Path)
	u.mu.Lock()
	gate := u.gate
	u.mu.Unlock()
	select {
	case <-gate:
	case <-r.Context().Done(): // the binary was killed while held
		return
	}
	u.mu.Lock()
	u.inflight[phase]++
	u.arrived[phase]++
	u.last = phase
	u.mu.Unlock()
	select {
	case u.notify <- struct{}{}:
	default:
	}
	defer func() {
		u.mu.Lock()
		u.inflight[phase]--
		u.mu.Unlock()
	}()
	u.next.ServeHTTP(w, r)
}

// hold shuts the gate and starts counting arrivals afresh.
func (u *upstreamTap) hold() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.gate = make(chan struct{})
	clear(u.arrived)
	u.last = ""
}

func (u *upstreamTap) release() {
	u.mu.Lock()
	defer u.mu.Unlock()
	select {
	case <-u.gate:
	default:
		close(u.gate)
	}
}

func (u *upstreamTap) arrivals(phase string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.arrived[phase]
}

// phase names what the binary is doing upstream: a request in flight, or
// else the latest one it made (it is handling the answer: storing a token,
// writing posts, resizing and writing images). "startup" before any.
func (u *upstreamTap) phase() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, p := range []string{phaseRefresh, phaseMirror, phaseSync, phaseValidate} {
		if u.inflight[p] > 0 {
			return p
		}
	}
	if u.last == "" {
		return "startup"
	}
	return u.last
}

// crashTally adds up what the lanes did, for the assertions at the end.
type crashTally struct {
	mu        sync.Mutex
	kills     int
	byPhase   map[string]int
	refreshed int // rounds after which a new token was found stored
	synced    int // rounds after which a newer feed was found stored
	mirrored  int // rounds after which new images were found stored
	images    int // distinct JPEG files decoded completely
}

func (c *crashTally) add(phase string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kills++
	c.byPhase[phase]++
}

// crashLane is one data_dir with its own fake Instagram, killed and
// restarted round after round. Lanes run in parallel.
type crashLane struct {
	t     *testing.T
	id    int
	bin   string
	rng   *rand.Rand
	tally *crashTally

	fake    *fake.Fake
	tap     *upstreamTap
	dataDir string
	st      *store.Store // the lane's database, open for the whole test
	env     []string
	client  *http.Client

	latency time.Duration // the fake's, varied per round
	token   string        // the access token found stored after the last round
	// feeds[r] is the fake's feed (post id → caption) during round r; the
	// stored posts must always be one of them, never a mixture of two, and
	// never older than the one found before.
	feeds    []map[string]string
	matched  int               // index in feeds of the feed last found stored
	mirrored map[string]bool   // media ids with an image stored after the last round
	expect   []expectedPost    // what /widget.json must list after the next restart
	verified map[[32]byte]bool // JPEG contents already decoded completely
}

// expectedPost is a post the gallery must show, from the database.
type expectedPost struct {
	ID, Caption string
	Children    []string // ids of the carousel items that are mirrored
}

func TestCrashSIGKILLDuringRefreshSyncAndMirroring(t *testing.T) {
	testkit.SkipIfShort(t, "runs the binary through 100 SIGKILLs")
	t.Parallel()
	bin := vitrineBinary(t)
	// Two lanes share the 2 cores: much of a round is the binary starting
	// up, and two of those overlap well.
	lanes, perLane := 2, 50
	if longTests() {
		perLane = 200 // give it -timeout 30m on a busy machine
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d: %d lanes × %d kills", seed, lanes, perLane)
	tally := &crashTally{byPhase: map[string]int{}}
	start := time.Now()
	t.Run("lanes", func(t *testing.T) {
		for i := range lanes {
			t.Run(fmt.Sprintf("lane%d", i), func(t *testing.T) {
				t.Parallel()
				l := newCrashLane(t, i, bin, rand.New(rand.NewPCG(seed, uint64(i))), tally)
				for r := range perLane {
					l.round(r)
					if t.Failed() {
						return
					}
				}
			})
		}
	})
	t.Logf("%d kills in %v: by phase %v; afterwards a refreshed token was found stored %d times, a newer feed %d times, more images %d times; %d distinct images decoded",
		tally.kills, time.Since(start).Round(time.Millisecond), tally.byPhase, tally.refreshed, tally.synced, tally.mirrored, tally.images)
	if t.Failed() {
		return
	}
	// The kills must have landed where it hurts, and the work must have
	// gone on between them, or the test proves little.
	if want := lanes * perLane; tally.kills != want {
		t.Errorf("%d kills, want %d", tally.kills, want)
	}
	for _, p := range []string{phaseRefresh, phaseSync, phaseMirror} {
		if n := tally.byPhase[p]; n < tally.kills/10 {
			t.Errorf("only %d of %d kills landed during %s", n, tally.kills, p)
		}
	}
	if tally.refreshed < lanes || tally.synced < lanes || tally.mirrored < lanes {
		t.Errorf("too little progress between kills: %d refreshes, %d syncs, %d mirrorings stored",
			tally.refreshed, tally.synced, tally.mirrored)
	}
}

func newCrashLane(t *testing.T, id int, bin string, rng *rand.Rand, tally *crashTally) *crashLane {
	l := &crashLane{t: t, id: id, bin: bin, rng: rng, tally: tally, dataDir: t.TempDir(), verified: map[[32]byte]bool{}}

	f := fake.New(fake.Options{
		Clock:        fake.NewClock(time.Now()),
		RedirectURIs: []string{crashPublicURL + "/admin/callback"},
		Posts:        -1,
	})
	for range 5 {
		l.addPost(f)
	}
	l.fake = f
	l.tap = newUpstreamTap(f)
	srv := httptest.NewServer(l.tap)
	t.Cleanup(func() {
		l.tap.release()
		srv.Close()
	})
	transport := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(transport.CloseIdleConnections)
	l.client = &http.Client{Transport: transport, Timeout: 20 * time.Second}

	// Connected, as after Generate: a long-lived token. Instagram refreshes
	// only tokens older than a day, so the fake's clock moves past that.
	//
	// The test keeps the database open throughout, as a `vitrine status`
	// beside the server would: SQLite serves a second process reading and,
	// while the binary is dead, writing. (Opening it afresh after every
	// kill costs a schema migration under -race each time.)
	key, err := store.LoadOrCreateKey(l.dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	if l.st, err = store.Open(filepath.Join(l.dataDir, "vitrine.db"), key); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.st.Close() })
	acct := f.Account()
	l.token = f.IssueLongLivedToken()
	f.Clock().Advance(25 * time.Hour)
	now := time.Now()
	err = l.st.SaveToken(context.Background(), store.Token{
		AccessToken: l.token, UserID: acct.UserID, Username: acct.Username, Name: acct.Name,
		AccountType: acct.AccountType, Scopes: "instagram_business_basic",
		IssuedAt: now.Add(-3 * 24 * time.Hour), ExpiresAt: now.Add(57 * 24 * time.Hour), Status: store.StatusValid,
	})
	if err != nil {
		t.Fatal(err)
	}
	l.feeds = []map[string]string{l.feed()}
	l.matched = -1 // nothing synced yet
	l.warmCDN()

	hash, _ := bcrypt.GenerateFromPassword([]byte("unused"), config.MinPasswordCost)
	ep := f.Endpoints(srv.URL)
	l.env = binaryEnv(map[string]string{
		"DATA_DIR":                l.dataDir,
		"SERVER_ADDR":             "127.0.0.1:0",
		"SERVER_PUBLIC_URL":       crashPublicURL,
		"ADMIN_PASSWORD_HASH":     string(hash),
		"INSTAGRAM_CLIENT_ID":     f.ClientID(),
		"INSTAGRAM_CLIENT_SECRET": f.ClientSecret(),
		"INSTAGRAM_AUTH_URL":      ep.AuthURL,
		"INSTAGRAM_TOKEN_URL":     ep.TokenURL,
		"INSTAGRAM_GRAPH_URL":     ep.GraphURL,
		"INSTAGRAM_MEDIA_HOSTS":   ep.MediaHost,
		"JOBS_SYNC":               "@every 1s",
		"JOBS_VALIDATE":           "@every 1s", // refresh runs on this schedule too
		"JOBS_REFRESH_BEFORE":     "58d",
		"LOG_LEVEL":               "info",
	})
	return l
}

// addPost publishes a post with a small image, mirrored at one or two
// widths (a big one takes the race-enabled binary long enough to resize
// that few kills would let it finish): now and then a carousel or a video,
// whose thumbnail is what gets mirrored.
func (l *crashLane) addPost(f *fake.Fake) string {
	sizes := [][2]int{{320, 320}, {320, 400}, {400, 300}, {320, 320}, {640, 480}}
	size := sizes[l.rng.IntN(len(sizes))]
	p := fake.Post{MediaType: fake.MediaImage, Width: size[0], Height: size[1],
		Caption: fmt.Sprintf("new in lane %d ☕️ #%d", l.id, l.rng.IntN(1000))}
	switch l.rng.IntN(6) {
	case 0:
		p.MediaType = fake.MediaCarousel
		p.Children = []fake.Post{{MediaType: fake.MediaImage}, {MediaType: fake.MediaImage}}
	case 1:
		p.MediaType = fake.MediaVideo
	}
	return f.AddPost(p)
}

// warmCDN has the fake draw every picture of the feed now, while the
// binary is down: it renders a JPEG on the first request for it, which
// under -race takes longer than most kills would leave a download.
func (l *crashLane) warmCDN() {
	t := l.t
	t.Helper()
	l.fake.SetLatency(0)
	get := func(target string) []byte {
		rec := httptest.NewRecorder()
		l.fake.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("warming the fake's CDN: %s: %d %s", target, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	type media struct {
		MediaURL     string `json:"media_url"`
		ThumbnailURL string `json:"thumbnail_url"`
		Children     *struct {
			Data []media `json:"data"`
		} `json:"children"`
	}
	var page struct{ Data []media }
	q := url.Values{"limit": {"100"}, "access_token": {l.token},
		"fields": {"media_url,thumbnail_url,children{media_url,thumbnail_url}"}}
	if err := json.Unmarshal(get("/v24.0/me/media?"+q.Encode()), &page); err != nil {
		t.Fatal(err)
	}
	var all []media
	for _, m := range page.Data {
		all = append(all, m)
		if m.Children != nil {
			all = append(all, m.Children.Data...)
		}
	}
	for _, m := range all {
		for _, s := range []string{m.MediaURL, m.ThumbnailURL} {
			if u, err := url.Parse(s); err == nil && strings.HasSuffix(u.Path, ".jpg") {
				get(u.RequestURI())
			}
		}
	}
}

func (l *crashLane) feed() map[string]string {
	out := map[string]string{}
	for _, p := range l.fake.Posts() {
		out[p.ID] = p.Caption
	}
	return out
}

// mirrorPending reports whether the fake has images the store lacks.
func (l *crashLane) mirrorPending() bool {
	for _, p := range l.fake.Posts() {
		if !l.mirrored[p.ID] {
			return true
		}
		for _, c := range p.Children {
			if !l.mirrored[c.ID] {
				return true
			}
		}
	}
	return false
}

// round restarts the binary, checks what it serves, aims a SIGKILL, checks
// what it left behind, then changes the feed for the next round.
func (l *crashLane) round(r int) {
	t := l.t
	t.Helper()
	l.latency = time.Duration(5+l.rng.IntN(36)) * time.Millisecond
	l.fake.SetLatency(l.latency)

	// Start with Instagram on hold: the gallery must serve what the
	// database held at the crash, before any job can change it.
	l.tap.hold()
	logs := testkit.NewLogBuffer()
	cmd := exec.Command(l.bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = l.env, io.Discard, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			<-waited
		}
	}()
	base := "http://" + waitForReady(t, logs, waited)
	l.checkGallery(r, base, logs)
	if t.Failed() {
		return
	}

	target := crashTargets[r%len(crashTargets)]
	if target == phaseMirror && !l.mirrorPending() {
		target = "any"
	}
	l.tap.release()
	phase := l.killAimedAt(cmd, target, logs)
	<-waited
	exited = true
	l.tally.add(phase)
	if out := logs.String(); strings.Contains(out, "level=ERROR") || strings.Contains(out, "panic") {
		t.Errorf("round %d: the binary logged an error before the kill:\n%s", r, out)
	}

	l.checkAfterKill(r, phase, logs)
	if t.Failed() {
		return
	}
	l.changeFeed(r)
}

// crashTargets are what the rounds aim their kills at, in turn: a phase
// upstream, a random moment, or a moment after a sync finished (so that
// mirroring makes progress and later rounds have images to check).
var crashTargets = []string{phaseRefresh, phaseSync, phaseMirror, "any", phaseRefresh, phaseSync, phaseMirror, "settled"}

// waitForReady returns the address in the binary's ready line, failing
// at once if it exits first.
func waitForReady(t *testing.T, logs *testkit.LogBuffer, waited <-chan error) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if m := listeningAddr.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		select {
		case <-logs.Changed():
		case err := <-waited:
			t.Fatalf("the binary exited before it was ready (%v):\n%s", err, logs.String())
		case <-deadline:
			t.Fatalf("the binary is not ready after 30 s:\n%s", logs.String())
		}
	}
}

// killAimedAt SIGKILLs the binary soon after it starts the target phase
// upstream: at a random moment within the request or while it handles the
// answer (stores the token, writes the posts, resizes and writes images).
// "any" is a random moment after the start, "settled" one after the first
// complete sync. If the phase does not come within a second (two for a
// sync to finish), it kills anyway. It returns the phase the kill landed
// in.
func (l *crashLane) killAimedAt(cmd *exec.Cmd, target string, logs *testkit.LogBuffer) string {
	var wait time.Duration
	switch target {
	case "any":
		wait = time.Duration(l.rng.Int64N(int64(400 * time.Millisecond)))
	case "settled":
		deadline := time.NewTimer(2 * time.Second)
		defer deadline.Stop()
	synced:
		for !strings.Contains(logs.String(), `msg="jobs: synced"`) {
			select {
			case <-logs.Changed():
			case <-deadline.C:
				break synced
			}
		}
		wait = time.Duration(l.rng.Int64N(int64(300 * time.Millisecond)))
	default:
		deadline := time.NewTimer(time.Second)
		defer deadline.Stop()
	arrived:
		for l.tap.arrivals(target) == 0 {
			select {
			case <-l.tap.notify:
			case <-deadline.C:
				break arrived
			}
		}
		after := map[string]time.Duration{phaseRefresh: 20 * time.Millisecond, phaseSync: 40 * time.Millisecond, phaseMirror: 300 * time.Millisecond}[target]
		wait = time.Duration(l.rng.Int64N(int64(l.latency + after)))
	}
	time.Sleep(wait)
	phase := l.tap.phase()
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code runs
		l.t.Fatal(err)
	}
	return phase
}

// widgetDoc is the part of /widget.json the test reads.
type widgetDoc struct {
	Account *struct {
		Username string `json:"username"`
	} `json:"account"`
	Posts []struct {
		ID       string        `json:"id"`
		Caption  string        `json:"caption"`
		Images   []widgetImage `json:"images"`
		Children []struct {
			ID     string        `json:"id"`
			Images []widgetImage `json:"images"`
		} `json:"children"`
	} `json:"posts"`
}

type widgetImage struct {
	URL           string `json:"url"`
	Width, Height int
}

// checkGallery: after a restart, /readyz and /widget.json answer, the
// gallery lists exactly the posts the database held (those with a mirrored
// picture, newest first, with their captions), and every image it links
// is a whole JPEG of the advertised size.
func (l *crashLane) checkGallery(r int, base string, logs *testkit.LogBuffer) {
	t := l.t
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("round %d: "+format+"\nlogs:\n%s", append(append([]any{r}, args...), logs.String())...)
	}
	if status, _, _ := l.get(base + "/readyz"); status != http.StatusOK {
		fail("/readyz = %d", status)
		return
	}
	status, _, body := l.get(base + "/widget.json")
	if status != http.StatusOK {
		fail("/widget.json = %d", status)
		return
	}
	var doc widgetDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		fail("/widget.json: %v", err)
		return
	}
	if doc.Account == nil || doc.Account.Username != l.fake.Account().Username {
		fail("/widget.json has no account: %.300s", body)
	}
	var got []expectedPost
	var images []widgetImage
	for _, p := range doc.Posts {
		e := expectedPost{ID: p.ID, Caption: p.Caption}
		images = append(images, p.Images...)
		for _, c := range p.Children {
			e.Children = append(e.Children, c.ID)
			images = append(images, c.Images...)
		}
		got = append(got, e)
	}
	if !slices.EqualFunc(got, l.expect, func(a, b expectedPost) bool {
		return a.ID == b.ID && a.Caption == b.Caption && slices.Equal(a.Children, b.Children)
	}) {
		fail("/widget.json lists\n  %v\nthe database held\n  %v", got, l.expect)
		return
	}
	if len(l.expect) > 0 && len(images) == 0 {
		fail("posts without images: %.300s", body)
	}
	for _, im := range images {
		u, err := url.Parse(im.URL)
		if err != nil || u.Scheme+"://"+u.Host != crashPublicURL || !strings.HasPrefix(u.Path, "/media/") {
			fail("image URL %q is not on %s/media/", im.URL, crashPublicURL)
			continue
		}
		status, ctype, data := l.get(base + u.Path)
		if status != http.StatusOK || ctype != "image/jpeg" {
			fail("%s = %d %s", u.Path, status, ctype)
			continue
		}
		sum := sha256.Sum256(data)
		if l.verified[sum] {
			continue // these very bytes decoded completely before
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			fail("%s (%d bytes) is not a whole JPEG: %v", u.Path, len(data), err)
			continue
		}
		if b := img.Bounds(); b.Dx() != im.Width || b.Dy() != im.Height {
			fail("%s is %dx%d, /widget.json says %dx%d", u.Path, b.Dx(), b.Dy(), im.Width, im.Height)
			continue
		}
		l.verified[sum] = true
		l.tally.mu.Lock()
		l.tally.images++
		l.tally.mu.Unlock()
	}
}

// get fetches u and returns status, Content-Type and the whole body.
func (l *crashLane) get(u string) (int, string, []byte) {
	l.t.Helper()
	resp, err := l.client.Get(u)
	if err != nil {
		l.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		l.t.Fatalf("GET %s: reading the body: %v", u, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// checkAfterKill reads what the killed binary left behind: the database
// passes integrity_check, the token decrypts, is not marked for re-auth
// and Instagram accepts it; the stored feed is one the fake really served
// (never a mixture of two syncs, never older than before); every stored
// image's files are on disk at their recorded size. It records what the
// next restart must serve, then ages the token so the next round
// refreshes it again.
func (l *crashLane) checkAfterKill(r int, phase string, logs *testkit.LogBuffer) {
	t := l.t
	ctx := context.Background()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("round %d, killed during %s: "+format+"\nlogs of the killed binary:\n%s",
			append(append([]any{r, phase}, args...), logs.String())...)
	}
	st := l.st
	if err := st.IntegrityCheck(ctx); err != nil {
		fail("%v", err)
	}

	tok, err := st.Token(ctx)
	if err != nil {
		fail("token: %v", err)
		return
	}
	if tok.Status != store.StatusValid && tok.Status != store.StatusRefreshDue {
		fail("token status %s (%s)", tok.Status, tok.StatusReason)
	}
	if tok.Username != l.fake.Account().Username {
		fail("token of %q", tok.Username)
	}
	rec := httptest.NewRecorder()
	l.fake.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v24.0/me?fields=user_id,username&access_token="+url.QueryEscape(tok.AccessToken), nil))
	if rec.Code != http.StatusOK {
		fail("Instagram refuses the stored token: %d %s", rec.Code, rec.Body)
	}
	if tok.AccessToken != l.token {
		l.token = tok.AccessToken
		l.tally.mu.Lock()
		l.tally.refreshed++
		l.tally.mu.Unlock()
		// The fake refreshes only tokens a day old.
		l.fake.Clock().Advance(25 * time.Hour)
	}
	// Refresh is due when less than refresh_before (58d) is left and the
	// token is a day old; move a fresh one three days into the past.
	now := time.Now()
	if now.Sub(tok.IssuedAt) < 25*time.Hour || tok.ExpiresAt.Sub(now) > 57*24*time.Hour {
		tok.IssuedAt = tok.IssuedAt.Add(-3 * 24 * time.Hour)
		tok.ExpiresAt = tok.ExpiresAt.Add(-3 * 24 * time.Hour)
		if err := st.SaveToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}

	posts, err := st.Posts(ctx, 1000)
	if err != nil {
		fail("posts: %v", err)
		return
	}
	stored := map[string]string{}
	for _, p := range posts {
		stored[p.ID] = p.Caption
	}
	if len(posts) > 0 {
		i := slices.IndexFunc(l.feeds, func(f map[string]string) bool { return maps.Equal(f, stored) })
		switch {
		case i < 0:
			fail("the stored posts %v are none of the feeds the fake served", stored)
			return
		case i < l.matched:
			fail("the stored posts went back from feed %d to feed %d", l.matched, i)
		case i > l.matched:
			l.tally.mu.Lock()
			l.tally.synced++
			l.tally.mu.Unlock()
		}
		l.matched = i
	}

	ims, err := st.Images(ctx)
	if err != nil {
		fail("images: %v", err)
		return
	}
	mirrored := map[string]bool{}
	for _, im := range ims {
		if len(im.Variants) == 0 {
			fail("image %s has no variants", im.MediaID)
		}
		for _, v := range im.Variants {
			fi, err := os.Stat(filepath.Join(l.dataDir, "media", filepath.FromSlash(v.Path)))
			if err != nil || fi.Size() != v.Bytes {
				fail("image %s, %d px: recorded %d bytes, on disk %v (%v)", im.MediaID, v.Width, v.Bytes, fi, err)
			}
		}
		mirrored[im.MediaID] = true
	}
	for id := range mirrored {
		if !l.mirrored[id] {
			l.tally.mu.Lock()
			l.tally.mirrored++
			l.tally.mu.Unlock()
			break
		}
	}
	l.mirrored = mirrored

	l.expect = l.expect[:0]
	for _, p := range posts {
		if !mirrored[p.ID] {
			continue // not mirrored yet: the gallery leaves it out
		}
		e := expectedPost{ID: p.ID, Caption: p.Caption}
		for _, c := range p.Children {
			if mirrored[c.ID] {
				e.Children = append(e.Children, c.ID)
			}
		}
		l.expect = append(l.expect, e)
	}
}

// changeFeed gives the next round's sync work: a caption edited every
// round, often a new post (images to mirror), now and then one deleted.
func (l *crashLane) changeFeed(r int) {
	ids := l.fake.MediaIDs()
	l.fake.SetCaption(ids[l.rng.IntN(len(ids))], fmt.Sprintf("round %d of lane %d ✨ #crash", r, l.id))
	if l.rng.IntN(3) > 0 {
		l.addPost(l.fake)
	}
	if ids := l.fake.MediaIDs(); len(ids) > 9 || (len(ids) > 3 && l.rng.IntN(4) == 0) {
		l.fake.DeletePost(ids[l.rng.IntN(len(ids))])
	}
	l.feeds = append(l.feeds, l.feed())
	l.warmCDN()
}
