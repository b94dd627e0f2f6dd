package fake

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/testkit"
)

func TestInvalidationSwitches(t *testing.T) {
	cases := []struct {
		name    string
		flip    func(*Fake)
		subcode int
		msg     string
	}{
		{"revoke", (*Fake).RevokeTokens, 458, "The user has not authorized application " + DefaultClientID},
		{"expire", (*Fake).ExpireTokens, 463, "Session has expired on Sunday, 01-Jun-25 12:00:00 UTC"},
		{"password", (*Fake).ChangePassword, 460, "changed their password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			long, short := h.longLivedToken(), h.shortLivedToken()
			c.flip(h.f)
			for _, tok := range []string{long, short} {
				if msg := h.wantGraphError("/me/media", tok, nil, 190, c.subcode); !strings.Contains(msg, c.msg) {
					t.Errorf("message %q lacks %q", msg, c.msg)
				}
			}
			h.wantGraphError("/access_token", short, url.Values{"grant_type": {"ig_exchange_token"}, "client_secret": {DefaultClientSecret}}, 190, c.subcode)
			h.f.Clock().Advance(48 * time.Hour)
			h.wantGraphError("/refresh_access_token", long, refreshQuery(), 190, c.subcode)
			h.f.ResetFaults() // does not bring tokens back
			h.wantGraphError("/me", long, nil, 190, c.subcode)

			// Reconnecting issues a token that works.
			if status, body := h.graph("/me/media", h.longLivedToken(), nil); status != http.StatusOK {
				t.Fatalf("new token after %s: %d %v", c.name, status, body)
			}
		})
	}
}

func TestRateLimited(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	h.f.SetRateLimited(true)
	resp, raw := h.get(h.ep.GraphURL + "/v24.0/me/media?access_token=" + tok)
	code, _, msg := graphErr(t, decode(t, raw))
	if resp.StatusCode != http.StatusBadRequest || code != 80002 || msg != "Application request limit reached" { // the Instagram Login API's code
		t.Fatalf("%d code %d %q", resp.StatusCode, code, msg)
	}
	if decode(t, raw)["error"].(map[string]any)["is_transient"] != true {
		t.Error("not transient")
	}
	var app map[string]int
	if err := json.Unmarshal([]byte(resp.Header.Get("X-App-Usage")), &app); err != nil || app["call_count"] != 100 {
		t.Errorf("X-App-Usage %q: %v", resp.Header.Get("X-App-Usage"), err)
	}
	if got := regainMinutes(t, resp); got != 15 {
		t.Errorf("estimated_time_to_regain_access %d", got)
	}
	// The authorize page and the code exchange are not graph calls.
	if status, body := h.exchangeCode(h.authorizeCode("x")); status != http.StatusOK {
		t.Errorf("code exchange while rate limited: %d %v", status, body)
	}
	h.f.SetRateLimited(false)
	if status, _ := h.graph("/me", tok, nil); status != http.StatusOK {
		t.Fatalf("after switching off: %d", status)
	}

	h.f.RateLimitFor(30 * time.Minute)
	resp, _ = h.get(h.ep.GraphURL + "/me?access_token=" + tok)
	if resp.StatusCode != http.StatusBadRequest || regainMinutes(t, resp) != 30 {
		t.Fatalf("RateLimitFor: %d %d", resp.StatusCode, regainMinutes(t, resp))
	}
	h.f.Clock().Advance(30 * time.Minute)
	if status, _ := h.graph("/me", tok, nil); status != http.StatusOK {
		t.Fatalf("after the wait: %d", status)
	}
}

func regainMinutes(t *testing.T, resp *http.Response) int {
	t.Helper()
	var buc map[string][]map[string]any
	if err := json.Unmarshal([]byte(resp.Header.Get("X-Business-Use-Case-Usage")), &buc); err != nil {
		t.Fatalf("X-Business-Use-Case-Usage %q: %v", resp.Header.Get("X-Business-Use-Case-Usage"), err)
	}
	entries := buc["17841405793187218"]
	if len(entries) != 1 {
		t.Fatalf("usage %v", buc)
	}
	n, _ := entries[0]["estimated_time_to_regain_access"].(float64)
	return int(n)
}

func TestFailNext(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	h.f.FailNext(2, http.StatusInternalServerError)
	for range 2 {
		resp, raw := h.get(h.ep.GraphURL + "/me?access_token=" + tok)
		body := decode(t, raw)
		code, _, msg := graphErr(t, body)
		if resp.StatusCode != 500 || code != 2 || msg != msgUnexpected || body["error"].(map[string]any)["is_transient"] != true {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
	}
	if status, _ := h.graph("/me", tok, nil); status != http.StatusOK {
		t.Fatalf("third request: %d", status)
	}

	h.f.FailNext(1, http.StatusServiceUnavailable)
	status, raw := h.exchangeCodeRaw(h.authorizeCode("x")) // token endpoints fail too
	if status != http.StatusServiceUnavailable || string(raw) != "Service Unavailable" {
		t.Fatalf("%d %q", status, raw)
	}
	h.f.FailNext(5, http.StatusBadGateway)
	h.f.ResetFaults()
	if status, _ := h.graph("/me", tok, nil); status != http.StatusOK {
		t.Fatalf("after reset: %d", status)
	}
}

func TestFailForEndsWithTheClock(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	h.f.FailFor(5*time.Minute, http.StatusServiceUnavailable)
	if left := h.f.OutageLeft(); left != 5*time.Minute {
		t.Fatalf("OutageLeft = %v, want 5m", left)
	}
	me := h.ep.GraphURL + "/me?access_token=" + tok
	for range 3 {
		if resp, _ := h.get(me); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("during the outage: %d", resp.StatusCode)
		}
	}
	h.f.Clock().Advance(4 * time.Minute)
	if resp, _ := h.get(me); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a minute before the end: %d", resp.StatusCode)
	}
	h.f.Clock().Advance(time.Minute)
	if status, _ := h.graph("/me", tok, nil); status != http.StatusOK {
		t.Fatalf("after the outage: %d", status)
	}
	if left := h.f.OutageLeft(); left != 0 {
		t.Fatalf("OutageLeft after the end = %v", left)
	}

	h.f.FailFor(time.Hour, http.StatusInternalServerError)
	h.f.ResetFaults()
	if status, _ := h.graph("/me", tok, nil); status != http.StatusOK {
		t.Fatalf("after reset: %d", status)
	}
}

func TestAgeTokensMakesARefreshPossible(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	h.wantGraphError("/refresh_access_token", tok, refreshQuery(), 100, 0) // younger than 24 h
	h.f.AgeTokens(31 * 24 * time.Hour)
	if status, body := h.graph("/v24.0/refresh_access_token", tok, refreshQuery()); status != http.StatusOK {
		t.Fatalf("refreshing a token aged 31 days: %d %v", status, body)
	}
	h.f.AgeTokens(30 * 24 * time.Hour) // 61 days old: expired
	h.wantGraphError("/me", tok, nil, 190, 463)
}

func (h *harness) exchangeCodeRaw(code string) (int, []byte) {
	resp, body := h.postForm(h.ep.TokenURL, url.Values{
		"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret},
		"grant_type": {"authorization_code"}, "redirect_uri": {testRedirect}, "code": {code},
	})
	return resp.StatusCode, body
}

func TestLatencyDelaysResponses(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	h.f.SetLatency(50 * time.Millisecond)
	start := time.Now()
	if status, _ := h.graph("/me", tok, nil); status != http.StatusOK {
		t.Fatal(status)
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Errorf("answered after %v", elapsed)
	}
}

func TestLatencyEndsWhenTheClientGivesUp(t *testing.T) {
	h := newHarness(t, Options{})
	h.f.SetLatency(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.ep.GraphURL+"/me", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := h.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	testkit.Eventually(t, "the request to reach the fake", func() bool { return h.f.inflight.Load() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error %v", err)
	}
	testkit.Eventually(t, "the handler to return", func() bool { return h.f.inflight.Load() == 0 })
}

func TestDropConnections(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	h.f.SetDropConnections(true)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, err := client.Get(h.ep.GraphURL + "/me?access_token=" + tok)
	if err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("want EOF, got %v", err)
	}
	// The authorize page is a browser page, never dropped.
	if resp, _ := h.get(h.ep.AuthURL + "?" + authParams(nil).Encode()); resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize page: %d", resp.StatusCode)
	}
	h.f.SetDropConnections(false)
	if status, _ := h.graph("/me", tok, nil); status != http.StatusOK {
		t.Fatal(status)
	}
}

func TestCallsCountsAPIRequestsOnly(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	h.get(h.ep.AuthURL + "?" + authParams(nil).Encode())
	h.graph("/me/media", tok, nil)
	h.graph("/v24.0/me/media", tok, nil)
	h.graph("/v24.0/me", tok, nil)
	h.f.FailNext(1, 500)
	h.graph("/me/media", tok, nil) // failed calls still reached Instagram
	if h.f.Calls() != 4 || h.f.CallsTo("/me/media") != 3 || h.f.CallsTo("/me") != 1 || h.f.CallsTo("/oauth/authorize") != 0 {
		t.Errorf("Calls %d, /me/media %d, /me %d", h.f.Calls(), h.f.CallsTo("/me/media"), h.f.CallsTo("/me"))
	}
}

// TestConcurrentUse gives the race detector something to chew on: reads,
// token traffic, edits and fault switches at once.
func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, Options{Posts: 12})
	tok := h.f.IssueLongLivedToken()
	var wg sync.WaitGroup
	var added atomic.Int64
	for i := range 6 {
		wg.Go(func() {
			for j := range 10 {
				switch (i + j) % 4 {
				case 0:
					h.client.Get(h.ep.GraphURL + "/me/media?limit=5&fields=" + url.QueryEscape(allMediaFields) + "&access_token=" + tok)
				case 1:
					h.f.AddPost(Post{Caption: "concurrent"})
					added.Add(1)
				case 2:
					h.f.Authorize(testRedirect, "instagram_business_basic")
					h.f.IssueLongLivedToken()
				case 3:
					h.f.SetLatency(0)
					h.f.FailNext(0, 500)
					h.f.Clock().Advance(time.Second)
					h.f.MediaIDs()
					h.f.CallsTo("/me")
				}
			}
		})
	}
	wg.Wait()
	if n := len(h.f.MediaIDs()); int64(n) != 12+added.Load() {
		t.Errorf("%d posts", n)
	}
}

func TestFailRatioFailsAnEvenShare(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	me := h.ep.GraphURL + "/me?access_token=" + tok
	statuses := func(n int) []int {
		var got []int
		for range n {
			resp, _ := h.get(me)
			got = append(got, resp.StatusCode)
		}
		return got
	}

	h.f.FailRatio(0.5, http.StatusTooManyRequests)
	if got, want := statuses(6), []int{429, 200, 429, 200, 429, 200}; !slices.Equal(got, want) {
		t.Fatalf("FailRatio(0.5): %v, want %v", got, want)
	}
	// Setting it again starts the count afresh; the share holds for any p.
	h.f.FailRatio(0.25, http.StatusServiceUnavailable)
	if got, want := statuses(8), []int{503, 200, 200, 200, 503, 200, 200, 200}; !slices.Equal(got, want) {
		t.Fatalf("FailRatio(0.25): %v, want %v", got, want)
	}
	// A 500 carries Instagram's transient error JSON, as FailNext's does;
	// a status outside 400–599 counts as 500.
	h.f.FailRatio(1, 200)
	resp, raw := h.get(me)
	if code, _, _ := graphErr(t, decode(t, raw)); resp.StatusCode != http.StatusInternalServerError || code != 2 {
		t.Fatalf("FailRatio(1, 200): %d %s", resp.StatusCode, raw)
	}
	if got := statuses(3); !slices.Equal(got, []int{500, 500, 500}) {
		t.Fatalf("FailRatio(1): %v", got)
	}

	// FailNext goes first, and the requests it fails are not judged.
	h.f.FailRatio(0.5, http.StatusBadGateway)
	h.f.FailNext(1, http.StatusServiceUnavailable)
	if got, want := statuses(3), []int{503, 502, 200}; !slices.Equal(got, want) {
		t.Fatalf("FailNext under FailRatio: %v, want %v", got, want)
	}

	h.f.FailRatio(0, http.StatusBadGateway)
	if got := statuses(2); !slices.Equal(got, []int{200, 200}) {
		t.Fatalf("FailRatio(0) cancels: %v", got)
	}
	h.f.FailRatio(0.5, http.StatusBadGateway)
	h.f.ResetFaults()
	if got := statuses(2); !slices.Equal(got, []int{200, 200}) {
		t.Fatalf("after ResetFaults: %v", got)
	}
	// Failed requests reached Instagram all the same.
	if n := h.f.CallsTo("/me"); n != 25 {
		t.Errorf("CallsTo(/me) = %d, want 25", n)
	}
}
