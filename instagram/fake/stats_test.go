package fake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// TestStatsEndpoint: /_stats reports the counters under the mount prefix,
// counts neither itself nor anything else, and answers even while
// Instagram is "down".
func TestStatsEndpoint(t *testing.T) {
	const prefix = "/_fake/instagram"
	f := New(Options{Prefix: prefix, Clock: NewClock(testStart), RedirectURIs: []string{testRedirect}})
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	h := newHarnessFor(t, f, srv, srv.URL)
	stats := func() Stats {
		t.Helper()
		resp, body := h.get(srv.URL + prefix + StatsPath)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("stats: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var s Stats
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatalf("stats: %v\n%s", err, body)
		}
		return s
	}
	if s := stats(); s.Calls != 0 || len(s.CallsByPath) != 0 {
		t.Fatalf("fresh fake: %+v", s)
	}
	tok := h.longLivedToken()
	h.graph("/v24.0/me/media", tok, url.Values{"fields": {"id"}})
	s := stats()
	if s.Calls != f.Calls() || s.Calls < 3 || s.CallsByPath["/me/media"] != 1 {
		t.Errorf("after a code exchange, a long-lived exchange and /me/media: %+v (Calls %d)", s, f.Calls())
	}
	if again := stats(); again.Calls != s.Calls {
		t.Errorf("reading the stats counted: %d then %d", s.Calls, again.Calls)
	}

	f.FailFor(time.Hour, http.StatusServiceUnavailable)
	if again := stats(); again.Calls != s.Calls {
		t.Errorf("stats during an outage: %+v", again)
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+prefix+StatsPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := h.do(req); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
	if resp, _ := h.get(srv.URL + StatsPath); resp.StatusCode == http.StatusOK {
		t.Error("stats answered outside the prefix")
	}
}
