package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"vitrine/store"
)

// FuzzCallbackParams sends arbitrary query strings to GET /admin/callback,
// as a browser without a session, with the signed-in admin's session, and
// with a forged session id. "{state}" in the query becomes a state that
// Generate just issued to the admin's session, "{code}" a fresh valid
// authorization code, so the fuzzer can reach the paths behind both
// checks. Whatever the query: no 5xx, no stack trace, and a token is
// stored exactly when the request carries the session, its state (first
// value) and a valid code (first value), and no error; without the
// session such a request parks the token instead (nothing is connected
// here, so its account is not the connected one).
func FuzzCallbackParams(f *testing.F) {
	for _, s := range []struct {
		mode uint8
		q    string
	}{
		{1, "state={state}&code={code}"},
		{1, "code={code}&state={state}"},
		{1, "state={state}&code={code}%23_"},
		{1, "state={state}&code=%20{code}"},
		{1, "state={state}"},
		{1, "code={code}"},
		{1, "state=x&code={code}"},
		{1, "state={state}&state=x&code={code}"},
		{1, "state=x&state={state}&code={code}"},
		{1, "state={state}&code=AQBforged&code={code}"},
		{1, "error=access_denied&state={state}&code={code}"},
		{1, "error=server_error&error_description=%3Cscript%3E&state={state}"},
		{1, "error=&state={state}&code={code}"},
		{1, "state={state};code={code}"},
		{1, "%zz&state=%&code"},
		{0, "state={state}&code={code}"},
		{0, "error=server_error&error_description=x"},
		{0, "error=access_denied"},
		{0, ""},
		{2, "state={state}&code={code}"},
		{2, "error=x"},
	} {
		f.Add(s.mode, s.q)
	}

	v := newVitrine(f)
	v.client.SignIn(testPassword)
	base, _ := url.Parse(v.URL + "/admin")
	var session string
	for _, c := range v.client.Jar.Cookies(base) {
		if c.Name == sessionCookie {
			session = c.Value
		}
	}
	if session == "" {
		f.Fatal("no session cookie after signing in")
	}
	h := v.Server.Handler
	stack := regexp.MustCompile(`goroutine \d|\.go:\d|(?i)\bpanic\b`)
	serve := func(rawQuery, path, cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.URL.RawQuery = rawQuery
		if cookie != "" {
			req.Header.Set("Cookie", sessionCookie+"="+cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	f.Fuzz(func(t *testing.T, mode uint8, raw string) {
		ctx := context.Background()
		gen := serve("", "/admin/generate", session)
		loc, err := url.Parse(gen.Header().Get("Location"))
		if gen.Code != http.StatusFound || err != nil {
			t.Fatalf("generate = %d %q", gen.Code, gen.Header().Get("Location"))
		}
		state := loc.Query().Get("state")
		var code string
		if strings.Contains(raw, "{code}") {
			if code, err = v.Fake.Authorize(v.Config.RedirectURI(), "instagram_business_basic"); err != nil {
				t.Fatal(err)
			}
		}
		raw = strings.ReplaceAll(raw, "{state}", url.QueryEscape(state))
		raw = strings.ReplaceAll(raw, "{code}", url.QueryEscape(code))

		var cookie string
		switch mode % 3 {
		case 1:
			cookie = session
		case 2:
			cookie = randomToken() // the shape of a real session id
		}
		events, err := adminEvents(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		rec := serve(raw, "/admin/callback", cookie)

		if rec.Code >= 500 {
			t.Errorf("HTTP %d for %q (mode %d)", rec.Code, raw, mode%3)
		}
		if m := stack.FindString(rec.Body.String()); m != "" {
			t.Errorf("stack trace or panic (%q) in the answer to %q", m, raw)
		}
		q, _ := url.ParseQuery(raw) // what the handler reads (r.URL.Query)
		// The pending state is enough: in another browser (a phone's) too,
		// where it parks the token for the owner to confirm.
		valid := q.Get("error") == "" && state != "" && q.Get("state") == state &&
			code != "" && strings.TrimSuffix(strings.TrimSpace(q.Get("code")), "#_") == code
		want, wantParked := valid && mode%3 == 1, valid && mode%3 != 1
		tok, err := v.Store.Token(ctx) // not e.token: its helpers belong to f
		stored := err == nil
		if err != nil && !errors.Is(err, store.ErrNoToken) {
			t.Fatal(err)
		}
		_, err = v.Store.ParkedToken(ctx)
		parked := err == nil
		if err != nil && !errors.Is(err, store.ErrNoParkedToken) {
			t.Fatal(err)
		}
		switch {
		case stored && !want:
			t.Errorf("a token was stored for %q (mode %d)", raw, mode%3)
		case want && !stored:
			t.Errorf("valid state and code, no token stored: %q → %d\n%.500s", raw, rec.Code, rec.Body.String())
		case parked && !wantParked:
			t.Errorf("a token was parked for %q (mode %d)", raw, mode%3)
		case wantParked && !parked:
			t.Errorf("valid state and code without the session, no token parked: %q → %d\n%.500s", raw, rec.Code, rec.Body.String())
		}
		if stored {
			if rec.Code != http.StatusSeeOther || tok.AccessToken == "" {
				t.Errorf("connected with %d, want %d", rec.Code, http.StatusSeeOther)
			}
			if err := v.Store.DeleteToken(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if parked {
			if rec.Code != http.StatusOK { // the other browser's plain page
				t.Errorf("parked with %d, want %d", rec.Code, http.StatusOK)
			}
			if err := v.Store.DiscardParkedToken(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if mode%3 != 1 && q.Get("state") != state {
			after, err := adminEvents(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(events) {
				t.Errorf("a request without a session wrote to the audit log: %q", after[0].Message)
			}
		}
	})
}

// An error redirect that reaches a browser with no admin session is not an
// upstream failure to report: 400, nothing logged for the dashboard, and
// Instagram's words are not shown. (It was a 502 anyone could provoke, and
// a decline wrote an event to the audit log.)
func TestCallbackErrorWithoutSession(t *testing.T) {
	v := newVitrine(t)
	for _, q := range []string{
		"error=server_error&error_description=%3Cb%3EYour+account+was+suspended%3C%2Fb%3E",
		"error=access_denied&error_reason=user_denied&error_description=The+user+denied+your+request",
		"error=" + strings.Repeat("x", 10000) + "&state=abc",
	} {
		r := v.client.Get("/admin/callback?" + q)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "Please sign in first") ||
			strings.Contains(r.Text, "suspended") {
			t.Errorf("%.60s: %d\n%.1000s", q, r.StatusCode, r.Text)
		}
	}
	if events, _ := v.Store.Events(context.Background(), 0); len(events) != 0 {
		t.Errorf("events written by anonymous callbacks: %+v", events)
	}
}

// A signed-in admin's browser can be sent to the callback by any site. An
// error answer shows Instagram's words only when it answers this admin's
// own request (its state matches); otherwise it is a 400 saying nothing
// of what the link carried.
func TestCallbackErrorShowsInstagramsWordsOnlyForOwnRequest(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)

	r := v.client.Get("/admin/callback?error=server_error&error_description=Your+account+is+suspended%2C+call+0800")
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("forged error callback = %d", r.StatusCode)
	}
	page := v.client.Get("/admin/connected")
	if page.StatusCode != http.StatusBadRequest || strings.Contains(page.Text, "suspended") || !strings.Contains(page.Text, "didn&#39;t ask for") {
		t.Errorf("forged error: %d\n%.1500s", page.StatusCode, page.Text)
	}

	state := v.generate().Query().Get("state")
	v.client.Get("/admin/callback?error=server_error&error_description=Temporarily+unavailable&state=" + state)
	page = v.client.Get("/admin/connected")
	if page.StatusCode != http.StatusBadGateway || !strings.Contains(page.Text, "Instagram said: Temporarily unavailable") {
		t.Errorf("genuine error: %d\n%.1500s", page.StatusCode, page.Text)
	}
}

// adminEvents are the events in the dashboard's log but those the app
// writes in the background after a connection (its sync, its alerts),
// which an earlier input's connection may still be writing.
func adminEvents(ctx context.Context, v *vitrine) ([]store.Event, error) {
	evs, err := v.Store.Events(ctx, 0)
	return slices.DeleteFunc(evs, func(e store.Event) bool { return e.Kind == "sync" || e.Kind == "alert" }), err
}
