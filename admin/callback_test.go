package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"vitrine/admin"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

func TestConnectFlow(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)

	auth := v.generate()
	q := auth.Query()
	state := q.Get("state")
	if len(state) < 22 { // base64 of ≥ 128 bits
		t.Errorf("state %d characters, want ≥ 22", len(state))
	}
	if q.Get("redirect_uri") != v.URL+"/admin/callback" || q.Get("response_type") != "code" ||
		q.Get("client_id") != v.Fake.ClientID() || q.Get("scope") != "instagram_business_basic" {
		t.Errorf("authorize query = %v", q)
	}
	if q.Has("client_secret") {
		t.Error("client secret in the authorize URL")
	}
	// A second Generate replaces the first state.
	if v.generate().Query().Get("state") == state {
		t.Error("state reused across Generate clicks")
	}

	back := v.decide(v.generate(), "approve")
	code := back.Query().Get("code")
	state = back.Query().Get("state")
	cb, res := v.callback(back)
	if cb.Header.Get("Referrer-Policy") != "no-referrer" || cb.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("callback headers: %v", cb.Header)
	}
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Text, `data-result="connected"`) ||
		!strings.Contains(res.Text, "@vitrine.studio") {
		t.Fatalf("result page = %d:\n%.2000s", res.StatusCode, res.Text)
	}
	assertAdminHeaders(t, res)

	tok, ok := v.StoredToken()
	if !ok {
		t.Fatal("no token stored")
	}
	if tok.Username == "" || tok.Status != store.StatusValid || tok.AccessToken == "" || tok.UserID == "" ||
		!tok.IssuedAt.Equal(testvitrine.Start) || tok.ExpiresAt.Sub(testvitrine.Start) < 59*24*time.Hour || tok.Scopes != "instagram_business_basic" {
		t.Errorf("stored token = %#v issued %v expires %v", tok, tok.IssuedAt, tok.ExpiresAt)
	}
	v.syncRuns(1) // the first sync follows a new token
	if ev := v.lastEvent("connected"); !strings.Contains(ev.Message, "@"+tok.Username) {
		t.Errorf("the connected event = %+v", ev)
	}

	// The result page is shown once; a reload goes to the dashboard.
	if r := v.client.Get("/admin/connected"); r.StatusCode != http.StatusFound {
		t.Errorf("reloaded result page = %d", r.StatusCode)
	}
	dash := v.client.Get("/admin")
	if !strings.Contains(dash.Text, "@"+tok.Username) || !strings.Contains(dash.Text, "Connected") ||
		!strings.Contains(dash.Text, "in 60 days") {
		t.Errorf("dashboard does not show the account:\n%.3000s", dash.Text)
	}
	// The profile picture is our own copy (Instagram's CDN refuses
	// cross-origin embedding), so the CSP allows only our origin.
	if !strings.Contains(dash.Header.Get("Content-Security-Policy"), "img-src 'self' data:;") {
		t.Errorf("CSP img-src: %s", dash.Header.Get("Content-Security-Policy"))
	}
	m := regexp.MustCompile(`src="(/admin/avatar\?v=[0-9a-f]+)"`).FindStringSubmatch(dash.Text)
	if m == nil {
		t.Fatalf("no avatar on the dashboard")
	}
	if av := v.client.Get(m[1]); av.StatusCode != http.StatusOK || av.Header.Get("Content-Type") != "image/jpeg" || len(av.Text) < 100 {
		t.Errorf("avatar = %d %s %d bytes", av.StatusCode, av.Header.Get("Content-Type"), len(av.Text))
	}

	// Replaying the callback is refused and changes nothing.
	_, replay := v.callback(back)
	if replay.StatusCode != http.StatusBadRequest || !strings.Contains(replay.Text, "already used") {
		t.Errorf("replayed callback = %d:\n%.1500s", replay.StatusCode, replay.Text)
	}
	if again, _ := v.StoredToken(); again.AccessToken != tok.AccessToken {
		t.Error("replay changed the token")
	}

	for name, text := range map[string]string{"dashboard": dash.Text, "logs": v.Logs.String(), "result": res.Text} {
		v.assertNoSecrets(name, text, tok.AccessToken, code, state)
	}
}

func TestConnectWithoutJobs(t *testing.T) {
	v := newVitrine(t, testvitrine.Connected())
	b := serveAdmin(t, v, v.App, nil)
	b.SignIn(testPassword)
	dash := b.Get("/admin")
	if !strings.Contains(dash.Text, "@vitrine.studio") {
		t.Fatalf("the dashboard does not show the connected account:\n%.2000s", dash.Text)
	}
	if strings.Contains(dash.Text, `action="/admin/sync"`) || strings.Contains(dash.Text, "Background jobs") {
		t.Error("Sync now shown without jobs")
	}
	csrf := testkit.CSRFToken(t, dash.Text)
	if r := b.Post("/admin/sync", url.Values{"csrf_token": {csrf}}); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("sync without jobs = %d", r.StatusCode)
	}
}

func TestDeny(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)
	v.connect()
	before, _ := v.StoredToken()

	back := v.decide(v.generate(), "deny")
	if back.Query().Get("error") != "access_denied" {
		t.Fatalf("deny redirect = %s", back)
	}
	_, res := v.callback(back)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Text, "You declined") ||
		!strings.Contains(res.Text, "nothing changed") || !strings.Contains(res.Text, `data-result="declined"`) {
		t.Errorf("declined page = %d:\n%.2000s", res.StatusCode, res.Text)
	}
	after, _ := v.StoredToken()
	if after.AccessToken != before.AccessToken {
		t.Error("declining changed the token")
	}
	// The state was used up by the decline.
	u := *back
	q := u.Query()
	q.Del("error")
	q.Set("code", "AQBforged")
	u.RawQuery = q.Encode()
	if _, r := v.callback(&u); r.StatusCode != http.StatusBadRequest {
		t.Errorf("state reused after deny = %d", r.StatusCode)
	}
	// A decline without state (Instagram may leave it out) is still a
	// friendly page.
	_, r := v.callback(mustURL(t, v.URL+"/admin/callback?error=access_denied&error_reason=user_denied"))
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "You declined") {
		t.Errorf("decline without state = %d", r.StatusCode)
	}
}

func TestStateChecks(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)
	calls := v.Fake.CallsTo("/oauth/access_token")

	check := func(name string, u *url.URL, want string) {
		t.Helper()
		_, r := v.callback(u)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, want) ||
			!strings.Contains(r.Text, "Nothing was changed") {
			t.Errorf("%s: %d:\n%.1500s", name, r.StatusCode, r.Text)
		}
		if _, ok := v.StoredToken(); ok {
			t.Errorf("%s: a token was stored", name)
		}
	}

	// Forged: a state this session never made.
	back := v.decide(v.generate(), "approve")
	forged := *back
	q := forged.Query()
	q.Set("state", "forged-"+q.Get("state"))
	forged.RawQuery = q.Encode()
	check("forged", &forged, "doesn&#39;t belong")

	// Missing.
	q.Del("state")
	forged.RawQuery = q.Encode()
	check("missing", &forged, "missing its security check")
	if got := v.Fake.CallsTo("/oauth/access_token"); got != calls {
		t.Errorf("forged callbacks exchanged codes: %d calls, want %d", got, calls)
	}

	// The real state still works after those (they did not match it).
	if _, r := v.callback(back); r.StatusCode != http.StatusOK {
		t.Fatalf("real callback after forged ones = %d:\n%.1500s", r.StatusCode, r.Text)
	}
	if err := v.Store.DeleteToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls = v.Fake.CallsTo("/oauth/access_token")

	// Replayed.
	check("replayed", back, "already used")

	// Expired: 11 minutes after Generate.
	back = v.decide(v.generate(), "approve")
	v.Clock.Advance(11 * time.Minute)
	check("expired", back, "10 minutes")
	// … and used up by that attempt.
	v.Clock.Advance(-11 * time.Minute)
	check("expired then replayed", back, "already used")

	// Another browser (no session) with no state it can match is refused.
	r := v.Browser().Get("/admin/callback?code=abc&state=" + randomToken())
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "sign in") {
		t.Errorf("callback without a session or a pending state = %d:\n%.1500s", r.StatusCode, r.Text)
	}
	if r.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Error("callback page without no-referrer")
	}
	if got := v.Fake.CallsTo("/oauth/access_token"); got != calls {
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
	v := newVitrine(t)
	v.client.SignIn(testPassword)
	v.connect()
	before, _ := v.StoredToken()
	back := v.decide(v.generate(), "approve")
	phone := v.Browser()
	r := phone.Get(back.String())
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "Connected") || !strings.Contains(r.Text, "return to your dashboard") {
		t.Fatalf("callback in another browser = %d:\n%.1500s", r.StatusCode, r.Text)
	}
	tok, ok := v.StoredToken()
	if !ok || tok.AccessToken == "" || tok.AccessToken == before.AccessToken {
		t.Fatal("the token was not renewed")
	}
	v.syncRuns(2) // after the connection and after its renewal
	for _, private := range []string{tok.Username, `href="/admin"`, "csrf_token", "Disconnect"} {
		if strings.Contains(r.Text, private) {
			t.Errorf("the other browser's page shows %q", private)
		}
	}
	if r.Header.Get("Referrer-Policy") != "no-referrer" || len(phone.Jar.Cookies(mustURL(t, v.URL+"/admin"))) != 0 {
		t.Error("the other browser got a referrer policy other than no-referrer, or a session")
	}
	// The admin's dashboard knows (its status poll and its events).
	if st := v.client.Get("/admin/status.json"); !strings.Contains(st.Text, tok.Username) {
		t.Errorf("status.json does not show the new connection:\n%.500s", st.Text)
	}
	// Replayed, in a third browser or in the admin's own: nothing changes.
	calls := v.Fake.CallsTo("/oauth/access_token")
	if r := v.Browser().Get(back.String()); r.StatusCode != http.StatusBadRequest {
		t.Errorf("replay in another browser = %d", r.StatusCode)
	}
	if _, r := v.callback(back); !strings.Contains(r.Text, "already used") {
		t.Errorf("replay in the admin's browser:\n%.800s", r.Text)
	}
	if got := v.Fake.CallsTo("/oauth/access_token"); got != calls {
		t.Errorf("replays exchanged the code again: %d calls, want %d", got, calls)
	}

	// An error answer with a valid state: the other browser is told it
	// didn't finish, never Instagram's words; the dashboard's events are.
	auth := v.generate()
	state := auth.Query().Get("state")
	words := "Something odd happened upstream"
	r = v.Browser().Get("/admin/callback?error=server_error&error_description=" + url.QueryEscape(words) + "&state=" + url.QueryEscape(state))
	if r.StatusCode != http.StatusBadRequest || strings.Contains(r.Text, words) || !strings.Contains(r.Text, "didn&#39;t finish") {
		t.Errorf("error answer in another browser = %d:\n%.1000s", r.StatusCode, r.Text)
	}
	if d := v.client.Get("/admin"); !strings.Contains(d.Text, words) {
		t.Error("the dashboard's events do not show Instagram's words")
	}

	// Expired: eleven minutes after Generate.
	back = v.decide(v.generate(), "approve")
	v.Clock.Advance(11 * time.Minute)
	if r := v.Browser().Get(back.String()); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "expired") {
		t.Errorf("expired, in another browser = %d:\n%.800s", r.StatusCode, r.Text)
	}
}

// TestUpstreamFailures: whichever step fails, the admin is told which and
// why, and the previous token stays.
func TestUpstreamFailures(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)
	if r := v.connect(); r.StatusCode != http.StatusOK {
		t.Fatal("first connect failed")
	}
	v.syncRuns(1)
	before, _ := v.StoredToken()
	v.Fake.ResetFaults()

	cases := []struct {
		name, step, why string
		status          int
		setup           func()
	}{
		{"code exchange 500", "Exchanging the authorization code", "unavailable", http.StatusBadGateway,
			func() { v.Fake.FailNext(10, http.StatusInternalServerError) }},
		{"long-lived 503", "Getting a long-lived token", "unavailable", http.StatusBadGateway,
			func() { v.steps.set(func() { v.Fake.FailNext(10, http.StatusServiceUnavailable) }, nil) }},
		{"long-lived rate limited", "Getting a long-lived token", "rate-limiting", http.StatusBadGateway,
			func() { v.steps.set(func() { v.Fake.SetRateLimited(true) }, nil) }},
		{"me revoked", "Reading your Instagram profile", "App access removed", http.StatusBadGateway,
			func() { v.steps.set(nil, func() { v.Fake.RevokeTokens() }) }},
		{"me 500", "Reading your Instagram profile", "unavailable", http.StatusBadGateway,
			func() { v.steps.set(nil, func() { v.Fake.FailNext(10, http.StatusInternalServerError) }) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			back := v.decide(v.generate(), "approve")
			tc.setup()
			_, r := v.callback(back)
			v.Fake.ResetFaults()
			v.steps.set(nil, nil)
			if r.StatusCode != tc.status || !strings.Contains(r.Text, tc.step) || !strings.Contains(r.Text, tc.why) ||
				!strings.Contains(r.Text, "previous connection") || !strings.Contains(r.Text, `data-result="failed"`) {
				t.Errorf("%d:\n%.2500s", r.StatusCode, r.Text)
			}
			after, ok := v.StoredToken()
			if !ok || after.AccessToken != before.AccessToken || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Error("the previous token was changed")
			}
			v.assertNoSecrets("page", r.Text, before.AccessToken, back.Query().Get("code"))
		})
	}
	// A used code is rejected by Instagram: words, not codes.
	back := v.decide(v.generate(), "approve")
	code := back.Query().Get("code")
	if _, err := v.Instagram.ExchangeCode(context.Background(), code); err != nil {
		t.Fatal(err)
	}
	_, r := v.callback(back)
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(r.Text, "rejected the authorization code") {
		t.Errorf("used code = %d:\n%.2000s", r.StatusCode, r.Text)
	}
	events, _ := v.Store.Events(context.Background(), 1)
	if len(events) != 1 || events[0].Level != store.LevelError || !strings.Contains(events[0].Message, "exchanging the authorization code") {
		t.Errorf("failure event = %+v", events)
	}
	v.assertNoSecrets("logs", v.Logs.String(), before.AccessToken, code)
}

func TestDisconnect(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	v.connect()
	v.syncRuns(1) // the posts and images that disconnecting removes
	tok, _ := v.StoredToken()
	if n, err := v.Store.PostCount(context.Background()); err != nil || n == 0 {
		t.Fatalf("no posts cached before disconnecting (%v)", err)
	}

	confirm := v.client.Get("/admin/disconnect")
	if confirm.StatusCode != http.StatusOK || !strings.Contains(confirm.Text, "@"+tok.Username) ||
		!strings.Contains(confirm.Text, `action="/admin/disconnect"`) {
		t.Fatalf("confirm page = %d:\n%.1500s", confirm.StatusCode, confirm.Text)
	}
	if _, ok := v.StoredToken(); !ok {
		t.Fatal("GET deleted the token")
	}
	r := v.client.Post("/admin/disconnect", url.Values{"csrf_token": {csrf}, "confirm": {"yes"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
		t.Fatalf("disconnect = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if _, ok := v.StoredToken(); ok {
		t.Fatal("token still stored")
	}
	if n, err := v.Store.PostCount(context.Background()); err != nil || n != 0 {
		t.Errorf("%d posts kept after disconnect (%v)", n, err)
	}
	if ims, err := v.Store.Images(context.Background()); err != nil || len(ims) != 0 {
		t.Errorf("%d images kept after disconnect (%v)", len(ims), err)
	}
	if r := v.client.Get("/admin/avatar"); r.StatusCode != http.StatusNotFound {
		t.Errorf("profile picture kept after disconnect: %d", r.StatusCode)
	}
	dash := v.client.Get("/admin")
	if !strings.Contains(dash.Text, "Disconnected") || !strings.Contains(dash.Text, "token, the cached posts and the mirrored images were deleted") ||
		!strings.Contains(dash.Text, "Connect your Instagram account") {
		t.Errorf("dashboard after disconnect:\n%.2500s", dash.Text)
	}
	// The notice is shown once.
	if strings.Contains(v.client.Get("/admin").Text, "alert alert-info flash") {
		t.Error("notice shown twice")
	}
}

func TestSyncNow(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	if r := v.client.Post("/admin/sync", url.Values{"csrf_token": {csrf}}); r.StatusCode != http.StatusConflict {
		t.Errorf("sync without a token = %d", r.StatusCode)
	}
	v.connect()
	v.syncRuns(1)
	r := v.client.Post("/admin/sync", url.Values{"csrf_token": {csrf}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sync = %d", r.StatusCode)
	}
	if !strings.Contains(v.client.Get("/admin").Text, "Sync started") {
		t.Error("no notice after sync")
	}
	v.syncRuns(2)
	// This one holds at Instagram until released: the next finds it running.
	release := v.feed.hold()
	defer release()
	r = v.client.Post("/admin/sync", url.Values{"csrf_token": {csrf}}, "Accept", "application/json")
	var ok struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	}
	if r.StatusCode != http.StatusAccepted || json.Unmarshal([]byte(r.Text), &ok) != nil || !ok.OK {
		t.Errorf("JSON sync = %d %s", r.StatusCode, r.Text)
	}
	select {
	case <-v.feed.held:
	case <-time.After(time.Minute):
		t.Fatal("the sync never read the feed")
	}
	if r := v.client.Post("/admin/sync", url.Values{"csrf_token": {csrf}}); r.StatusCode != http.StatusConflict || !strings.Contains(r.Text, "already running") {
		t.Errorf("sync while running = %d", r.StatusCode)
	}
	release()
	v.syncRuns(3) // the connection's, and the two started here; not the refused one
}

// "Sync now" must not hold the request while a long sync runs (a large
// account outlasts the server's write timeout): it answers while the sync
// is still running, and the dashboard then reports the sync's result.
func TestSyncNowAnswersWhileASlowSyncRuns(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	v.connect()
	v.syncRuns(1)
	// The next sync reads the feed and waits there, then Instagram fails.
	release := v.feed.hold()
	defer release()
	v.feed.fail(true)

	answered := make(chan testkit.Response, 1)
	go func() {
		answered <- v.client.Post("/admin/sync", url.Values{"csrf_token": {csrf}}, "Accept", "application/json")
	}()
	var r testkit.Response
	select {
	case r = <-answered:
	case <-time.After(10 * time.Second):
		release()
		t.Fatal("Sync now waited for the sync to finish")
	}
	select { // the sync is running, and has not finished: it waits for release
	case <-v.feed.held:
	case <-time.After(time.Minute):
		t.Fatal("the sync never read the feed")
	}
	if r.StatusCode != http.StatusAccepted || !strings.Contains(r.Text, `"ok":true`) {
		t.Fatalf("Sync now = %d %s", r.StatusCode, r.Text)
	}
	if s := v.statusJSON(); !s.Syncing || s.SyncResult != "Running…" {
		t.Errorf("while syncing the dashboard says syncing=%v %q", s.Syncing, s.SyncResult)
	}
	release()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := v.statusJSON()
		if !s.Syncing && strings.HasPrefix(s.SyncResult, "Failed: ") && strings.Contains(s.SyncResult, "unavailable") && s.SyncTone == "bad" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard never reported the sync's result: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (v *vitrine) statusJSON() admin.StatusView {
	v.T.Helper()
	r := v.client.Get("/admin/status.json")
	var s admin.StatusView
	if r.StatusCode != http.StatusOK || json.Unmarshal([]byte(r.Text), &s) != nil {
		v.T.Fatalf("status.json = %d %s", r.StatusCode, r.Text)
	}
	return s
}

// A navigation from another site must not start a connection flow: it
// would overwrite the pending state and open Instagram's consent page.
func TestGenerateRefusesCrossSiteNavigation(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)
	auth := v.generate() // from the dashboard's popup: same-origin
	for _, site := range []string{"cross-site", "same-site"} {
		r := v.client.Get("/admin/generate", "Sec-Fetch-Site", site)
		if r.StatusCode != http.StatusForbidden || r.Header.Get("Location") != "" {
			t.Errorf("generate from a %s navigation = %d, Location %q", site, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// The refused navigations left the pending state alone: the flow the
	// dashboard started still completes.
	if _, res := v.callback(v.decide(auth, "approve")); !strings.Contains(res.Text, `data-result="connected"`) {
		t.Errorf("the dashboard's flow failed after the refusals:\n%.1000s", res.Text)
	}
	if r := v.client.Get("/admin/generate", "Sec-Fetch-Site", "none"); r.StatusCode != http.StatusFound {
		t.Errorf("generate typed into the address bar = %d", r.StatusCode)
	}
}
