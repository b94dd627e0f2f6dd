package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"vitrine/jobs"
	"vitrine/store"
)

func TestConnectFlow(t *testing.T) {
	e := newEnv(t)
	e.login()

	auth := e.generate()
	q := auth.Query()
	state := q.Get("state")
	if len(state) < 22 { // base64 of ≥ 128 bits
		t.Errorf("state %d characters, want ≥ 22", len(state))
	}
	if q.Get("redirect_uri") != e.srv.URL+"/admin/callback" || q.Get("response_type") != "code" ||
		q.Get("client_id") != e.fake.ClientID() || q.Get("scope") != "instagram_business_basic" {
		t.Errorf("authorize query = %v", q)
	}
	if q.Has("client_secret") {
		t.Error("client secret in the authorize URL")
	}
	// A second Generate replaces the first state.
	if e.generate().Query().Get("state") == state {
		t.Error("state reused across Generate clicks")
	}

	back := e.decide(e.generate(), "approve")
	code := back.Query().Get("code")
	state = back.Query().Get("state")
	cb, res := e.callback(back)
	if cb.Header.Get("Referrer-Policy") != "no-referrer" || cb.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("callback headers: %v", cb.Header)
	}
	if res.StatusCode != http.StatusOK || !strings.Contains(res.body, `data-result="connected"`) ||
		!strings.Contains(res.body, "@vitrine.studio") {
		t.Fatalf("result page = %d:\n%.2000s", res.StatusCode, res.body)
	}
	assertAdminHeaders(t, res)

	tok, ok := e.token()
	if !ok {
		t.Fatal("no token stored")
	}
	if tok.Username == "" || tok.Status != store.StatusValid || tok.AccessToken == "" || tok.UserID == "" ||
		!tok.IssuedAt.Equal(testStart) || tok.ExpiresAt.Sub(testStart) < 59*24*time.Hour || tok.Scopes != "instagram_business_basic" {
		t.Errorf("stored token = %#v issued %v expires %v", tok, tok.IssuedAt, tok.ExpiresAt)
	}
	if n, runs := e.jobs.calls(); n != 1 || len(runs) != 0 {
		t.Errorf("the jobs heard of the new token %d times, runs %v", n, runs)
	}
	events, _ := e.st.Events(context.Background(), 0)
	if len(events) == 0 || events[0].Kind != "connected" || !strings.Contains(events[0].Message, "@"+tok.Username) {
		t.Errorf("events = %+v", events)
	}

	// The result page is shown once; a reload goes to the dashboard.
	if r := e.get("/admin/connected"); r.StatusCode != http.StatusFound {
		t.Errorf("reloaded result page = %d", r.StatusCode)
	}
	dash := e.get("/admin")
	if !strings.Contains(dash.body, "@"+tok.Username) || !strings.Contains(dash.body, "Connected") ||
		!strings.Contains(dash.body, "in 60 days") {
		t.Errorf("dashboard does not show the account:\n%.3000s", dash.body)
	}
	// The profile picture is our own copy (Instagram's CDN refuses
	// cross-origin embedding), so the CSP allows only our origin.
	if !strings.Contains(dash.Header.Get("Content-Security-Policy"), "img-src 'self' data:;") {
		t.Errorf("CSP img-src: %s", dash.Header.Get("Content-Security-Policy"))
	}
	m := regexp.MustCompile(`src="(/admin/avatar\?v=[0-9a-f]+)"`).FindStringSubmatch(dash.body)
	if m == nil {
		t.Fatalf("no avatar on the dashboard")
	}
	if av := e.get(m[1]); av.StatusCode != http.StatusOK || av.Header.Get("Content-Type") != "image/jpeg" || len(av.body) < 100 {
		t.Errorf("avatar = %d %s %d bytes", av.StatusCode, av.Header.Get("Content-Type"), len(av.body))
	}

	// Replaying the callback is refused and changes nothing.
	_, replay := e.callback(back)
	if replay.StatusCode != http.StatusBadRequest || !strings.Contains(replay.body, "already used") {
		t.Errorf("replayed callback = %d:\n%.1500s", replay.StatusCode, replay.body)
	}
	if again, _ := e.token(); again.AccessToken != tok.AccessToken {
		t.Error("replay changed the token")
	}

	for name, text := range map[string]string{"dashboard": dash.body, "logs": e.logs.String(), "result": res.body} {
		e.assertNoSecrets(name, text, tok.AccessToken, code, state)
	}
}

func TestConnectWithoutJobs(t *testing.T) {
	e := newEnv(t, withoutJobs())
	e.login()
	if res := e.connect(); res.StatusCode != http.StatusOK {
		t.Fatalf("connect = %d", res.StatusCode)
	}
	dash := e.get("/admin")
	if strings.Contains(dash.body, `action="/admin/sync"`) || strings.Contains(dash.body, "Background jobs") {
		t.Error("Sync now shown without jobs")
	}
	csrf := csrfFrom(t, dash.body)
	if r := e.post("/admin/sync", url.Values{"csrf_token": {csrf}}); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("sync without jobs = %d", r.StatusCode)
	}
}

func TestDeny(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.connect()
	before, _ := e.token()

	back := e.decide(e.generate(), "deny")
	if back.Query().Get("error") != "access_denied" {
		t.Fatalf("deny redirect = %s", back)
	}
	_, res := e.callback(back)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.body, "You declined") ||
		!strings.Contains(res.body, "nothing changed") || !strings.Contains(res.body, `data-result="declined"`) {
		t.Errorf("declined page = %d:\n%.2000s", res.StatusCode, res.body)
	}
	after, _ := e.token()
	if after.AccessToken != before.AccessToken {
		t.Error("declining changed the token")
	}
	// The state was used up by the decline.
	u := *back
	q := u.Query()
	q.Del("error")
	q.Set("code", "AQBforged")
	u.RawQuery = q.Encode()
	if _, r := e.callback(&u); r.StatusCode != http.StatusBadRequest {
		t.Errorf("state reused after deny = %d", r.StatusCode)
	}
	// A decline without state (Instagram may leave it out) is still a
	// friendly page.
	_, r := e.callback(mustURL(t, e.srv.URL+"/admin/callback?error=access_denied&error_reason=user_denied"))
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "You declined") {
		t.Errorf("decline without state = %d", r.StatusCode)
	}
}

func TestStateChecks(t *testing.T) {
	e := newEnv(t)
	e.login()
	calls := e.fake.CallsTo("/oauth/access_token")

	check := func(name string, u *url.URL, want string) {
		t.Helper()
		_, r := e.callback(u)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, want) ||
			!strings.Contains(r.body, "Nothing was changed") {
			t.Errorf("%s: %d:\n%.1500s", name, r.StatusCode, r.body)
		}
		if _, ok := e.token(); ok {
			t.Errorf("%s: a token was stored", name)
		}
	}

	// Forged: a state this session never made.
	back := e.decide(e.generate(), "approve")
	forged := *back
	q := forged.Query()
	q.Set("state", "forged-"+q.Get("state"))
	forged.RawQuery = q.Encode()
	check("forged", &forged, "doesn&#39;t belong")

	// Missing.
	q.Del("state")
	forged.RawQuery = q.Encode()
	check("missing", &forged, "missing its security check")

	// The real state still works after those (they did not match it).
	if _, r := e.callback(back); r.StatusCode != http.StatusOK {
		t.Fatalf("real callback after forged ones = %d:\n%.1500s", r.StatusCode, r.body)
	}
	if err := e.st.DeleteToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls = e.fake.CallsTo("/oauth/access_token")

	// Replayed.
	check("replayed", back, "already used")

	// Expired: 11 minutes after Generate.
	back = e.decide(e.generate(), "approve")
	e.clock.Advance(11 * time.Minute)
	check("expired", back, "10 minutes")
	// … and used up by that attempt.
	e.clock.Advance(-11 * time.Minute)
	check("expired then replayed", back, "already used")

	// Another browser (no session) with no state it can match is refused.
	r := e.getWith(e.newClient(), "/admin/callback?code=abc&state="+randomToken())
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "sign in") {
		t.Errorf("callback without a session or a pending state = %d:\n%.1500s", r.StatusCode, r.body)
	}
	if r.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Error("callback page without no-referrer")
	}
	if got := e.fake.CallsTo("/oauth/access_token"); got != calls {
		t.Errorf("refused callbacks exchanged codes: %d calls, want %d", got, calls)
	}
}

// On a phone, the Instagram app may take over the authorize link and open
// the callback in another browser, without the admin's cookie. The pending
// state is enough to finish renewing the connected account there (another
// account waits for confirmation: parked_test.go); that browser sees only
// that it worked, and a replay changes nothing. Before, the code was
// dropped ("Please sign in first").
func TestCallbackInAnotherBrowserConnects(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.connect()
	before, _ := e.token()
	back := e.decide(e.generate(), "approve")
	phone := e.newClient()
	r := e.getWith(phone, back.String())
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Connected") || !strings.Contains(r.body, "return to your dashboard") {
		t.Fatalf("callback in another browser = %d:\n%.1500s", r.StatusCode, r.body)
	}
	tok, ok := e.token()
	if !ok || tok.AccessToken == "" || tok.AccessToken == before.AccessToken {
		t.Fatal("the token was not renewed")
	}
	if n, _ := e.jobs.calls(); n != 2 {
		t.Errorf("OnConnected ran %d times, want 2", n)
	}
	for _, private := range []string{tok.Username, `href="/admin"`, "csrf_token", "Disconnect"} {
		if strings.Contains(r.body, private) {
			t.Errorf("the other browser's page shows %q", private)
		}
	}
	if r.Header.Get("Referrer-Policy") != "no-referrer" || len(phone.Jar.Cookies(mustURL(t, e.srv.URL+"/admin"))) != 0 {
		t.Error("the other browser got a referrer policy other than no-referrer, or a session")
	}
	// The admin's dashboard knows (its status poll and its events).
	if st := e.get("/admin/status.json"); !strings.Contains(st.body, tok.Username) {
		t.Errorf("status.json does not show the new connection:\n%.500s", st.body)
	}
	// Replayed, in a third browser or in the admin's own: nothing changes.
	calls := e.fake.CallsTo("/oauth/access_token")
	if r := e.getWith(e.newClient(), back.String()); r.StatusCode != http.StatusBadRequest {
		t.Errorf("replay in another browser = %d", r.StatusCode)
	}
	if _, r := e.callback(back); !strings.Contains(r.body, "already used") {
		t.Errorf("replay in the admin's browser:\n%.800s", r.body)
	}
	if got := e.fake.CallsTo("/oauth/access_token"); got != calls {
		t.Errorf("replays exchanged the code again: %d calls, want %d", got, calls)
	}

	// An error answer with a valid state: the other browser is told it
	// didn't finish, never Instagram's words; the dashboard's events are.
	auth := e.generate()
	state := auth.Query().Get("state")
	words := "Something odd happened upstream"
	r = e.getWith(e.newClient(), "/admin/callback?error=server_error&error_description="+url.QueryEscape(words)+"&state="+url.QueryEscape(state))
	if r.StatusCode != http.StatusBadRequest || strings.Contains(r.body, words) || !strings.Contains(r.body, "didn&#39;t finish") {
		t.Errorf("error answer in another browser = %d:\n%.1000s", r.StatusCode, r.body)
	}
	if d := e.get("/admin"); !strings.Contains(d.body, words) {
		t.Error("the dashboard's events do not show Instagram's words")
	}

	// Expired: eleven minutes after Generate.
	back = e.decide(e.generate(), "approve")
	e.clock.Advance(11 * time.Minute)
	if r := e.getWith(e.newClient(), back.String()); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "expired") {
		t.Errorf("expired, in another browser = %d:\n%.800s", r.StatusCode, r.body)
	}
}

// TestUpstreamFailures: whichever step fails, the admin is told which and
// why, and the previous token stays.
func TestUpstreamFailures(t *testing.T) {
	e := newEnv(t)
	e.login()
	if r := e.connect(); r.StatusCode != http.StatusOK {
		t.Fatal("first connect failed")
	}
	before, _ := e.token()
	e.fake.ResetFaults()

	cases := []struct {
		name, step, why string
		status          int
		setup           func()
	}{
		{"code exchange 500", "Exchanging the authorization code", "unavailable", http.StatusBadGateway,
			func() { e.fake.FailNext(10, http.StatusInternalServerError) }},
		{"long-lived 503", "Getting a long-lived token", "unavailable", http.StatusBadGateway,
			func() { e.ig.setHooks(func() { e.fake.FailNext(10, http.StatusServiceUnavailable) }, nil) }},
		{"long-lived rate limited", "Getting a long-lived token", "rate-limiting", http.StatusBadGateway,
			func() { e.ig.setHooks(func() { e.fake.SetRateLimited(true) }, nil) }},
		{"me revoked", "Reading your Instagram profile", "App access removed", http.StatusBadGateway,
			func() { e.ig.setHooks(nil, func() { e.fake.RevokeTokens() }) }},
		{"me 500", "Reading your Instagram profile", "unavailable", http.StatusBadGateway,
			func() { e.ig.setHooks(nil, func() { e.fake.FailNext(10, http.StatusInternalServerError) }) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			back := e.decide(e.generate(), "approve")
			tc.setup()
			_, r := e.callback(back)
			e.fake.ResetFaults()
			e.ig.setHooks(nil, nil)
			if r.StatusCode != tc.status || !strings.Contains(r.body, tc.step) || !strings.Contains(r.body, tc.why) ||
				!strings.Contains(r.body, "previous connection") || !strings.Contains(r.body, `data-result="failed"`) {
				t.Errorf("%d:\n%.2500s", r.StatusCode, r.body)
			}
			after, ok := e.token()
			if !ok || after.AccessToken != before.AccessToken || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Error("the previous token was changed")
			}
			e.assertNoSecrets("page", r.body, before.AccessToken, back.Query().Get("code"))
		})
	}
	// A used code is rejected by Instagram: words, not codes.
	back := e.decide(e.generate(), "approve")
	code := back.Query().Get("code")
	if _, err := e.ig.ExchangeCode(context.Background(), code); err != nil {
		t.Fatal(err)
	}
	_, r := e.callback(back)
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(r.body, "rejected the authorization code") {
		t.Errorf("used code = %d:\n%.2000s", r.StatusCode, r.body)
	}
	events, _ := e.st.Events(context.Background(), 1)
	if len(events) != 1 || events[0].Level != store.LevelError || !strings.Contains(events[0].Message, "exchanging the authorization code") {
		t.Errorf("failure event = %+v", events)
	}
	e.assertNoSecrets("logs", e.logs.String(), before.AccessToken, code)
}

func TestDisconnect(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	e.connect()
	tok, _ := e.token()

	confirm := e.get("/admin/disconnect")
	if confirm.StatusCode != http.StatusOK || !strings.Contains(confirm.body, "@"+tok.Username) ||
		!strings.Contains(confirm.body, `action="/admin/disconnect"`) {
		t.Fatalf("confirm page = %d:\n%.1500s", confirm.StatusCode, confirm.body)
	}
	if _, ok := e.token(); !ok {
		t.Fatal("GET deleted the token")
	}
	r := e.post("/admin/disconnect", url.Values{"csrf_token": {csrf}, "confirm": {"yes"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
		t.Fatalf("disconnect = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if _, ok := e.token(); ok {
		t.Fatal("token still stored")
	}
	if n := e.disconnects.Load(); n != 1 {
		t.Errorf("OnDisconnect called %d times, want 1", n)
	}
	if r := e.get("/admin/avatar"); r.StatusCode != http.StatusNotFound {
		t.Errorf("profile picture kept after disconnect: %d", r.StatusCode)
	}
	dash := e.get("/admin")
	if !strings.Contains(dash.body, "Disconnected") || !strings.Contains(dash.body, "token, the cached posts and the mirrored images were deleted") ||
		!strings.Contains(dash.body, "Connect your Instagram account") {
		t.Errorf("dashboard after disconnect:\n%.2500s", dash.body)
	}
	// The notice is shown once.
	if strings.Contains(e.get("/admin").body, "alert alert-info flash") {
		t.Error("notice shown twice")
	}
}

func TestSyncNow(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	if r := e.post("/admin/sync", url.Values{"csrf_token": {csrf}}); r.StatusCode != http.StatusConflict {
		t.Errorf("sync without a token = %d", r.StatusCode)
	}
	e.connect()
	r := e.post("/admin/sync", url.Values{"csrf_token": {csrf}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sync = %d", r.StatusCode)
	}
	if !strings.Contains(e.get("/admin").body, "Sync started") {
		t.Error("no notice after sync")
	}
	r = e.post("/admin/sync", url.Values{"csrf_token": {csrf}}, "Accept", "application/json")
	var ok struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	}
	if r.StatusCode != http.StatusAccepted || json.Unmarshal([]byte(r.body), &ok) != nil || !ok.OK {
		t.Errorf("JSON sync = %d %s", r.StatusCode, r.body)
	}
	e.jobs.mu.Lock()
	e.jobs.busy = true
	e.jobs.mu.Unlock()
	if r := e.post("/admin/sync", url.Values{"csrf_token": {csrf}}); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "already running") {
		t.Errorf("sync while running = %d", r.StatusCode)
	}
	if _, runs := e.jobs.calls(); len(runs) != 3 || runs[0] != jobs.JobSync {
		t.Errorf("runs = %v", runs)
	}
}

// "Sync now" must not hold the request while a long sync runs (a large
// account outlasts the server's write timeout): it answers while the sync
// is still running, and the dashboard then reports the sync's result.
func TestSyncNowAnswersWhileASlowSyncRuns(t *testing.T) {
	inside, release := make(chan struct{}), make(chan struct{})
	e := newEnv(t, withJobs(func(e *env) Jobs {
		sched, err := jobs.New(jobs.Options{Runs: e.st, Now: e.clock.Now, Tasks: []jobs.Task{{
			Name: jobs.JobSync, Schedule: "@every 1h",
			Run: func(ctx context.Context) error {
				close(inside)
				select {
				case <-release:
				case <-ctx.Done():
				}
				return errString("sync: Instagram unavailable")
			},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = sched.Stop(ctx)
		})
		return sched
	}))
	csrf := e.login()
	e.connect()

	answered := make(chan response, 1)
	go func() {
		answered <- e.post("/admin/sync", url.Values{"csrf_token": {csrf}}, "Accept", "application/json")
	}()
	var r response
	select {
	case r = <-answered:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("Sync now waited for the sync to finish")
	}
	<-inside // the sync is running, and has not finished: it waits for release
	if r.StatusCode != http.StatusAccepted || !strings.Contains(r.body, `"ok":true`) {
		t.Fatalf("Sync now = %d %s", r.StatusCode, r.body)
	}
	if s := e.statusJSON(); !s.Syncing || s.SyncResult != "Running…" {
		t.Errorf("while syncing the dashboard says syncing=%v %q", s.Syncing, s.SyncResult)
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := e.statusJSON()
		if !s.Syncing && strings.Contains(s.SyncResult, "Instagram unavailable") && s.SyncTone == "bad" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard never reported the sync's result: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) statusJSON() statusView {
	e.t.Helper()
	r := e.get("/admin/status.json")
	var s statusView
	if r.StatusCode != http.StatusOK || json.Unmarshal([]byte(r.body), &s) != nil {
		e.t.Fatalf("status.json = %d %s", r.StatusCode, r.body)
	}
	return s
}

type errString string

func (e errString) Error() string { return string(e) }

// A navigation from another site must not start a connection flow: it
// would overwrite the pending state and open Instagram's consent page.
func TestGenerateRefusesCrossSiteNavigation(t *testing.T) {
	e := newEnv(t)
	e.login()
	auth := e.generate() // from the dashboard's popup: same-origin
	for _, site := range []string{"cross-site", "same-site"} {
		r := e.get("/admin/generate", "Sec-Fetch-Site", site)
		if r.StatusCode != http.StatusForbidden || r.Header.Get("Location") != "" {
			t.Errorf("generate from a %s navigation = %d, Location %q", site, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// The refused navigations left the pending state alone: the flow the
	// dashboard started still completes.
	if _, res := e.callback(e.decide(auth, "approve")); !strings.Contains(res.body, `data-result="connected"`) {
		t.Errorf("the dashboard's flow failed after the refusals:\n%.1000s", res.body)
	}
	if r := e.get("/admin/generate", "Sec-Fetch-Site", "none"); r.StatusCode != http.StatusFound {
		t.Errorf("generate typed into the address bar = %d", r.StatusCode)
	}
}
