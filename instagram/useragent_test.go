package instagram

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"vitrine/buildinfo"
)

// The Graph API and the CDN both see the build's version in User-Agent.
func TestUserAgentNamesTheBuild(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	record := func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.URL.Path+" "+r.UserAgent())
	}
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"1","user_id":"1","username":"someone"}`))
	}))
	defer graph.Close()
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngHeader)
	}))
	defer cdn.Close()

	e := newEnv(t, withPosts(-1), withConfig(func(c *Config) {
		c.GraphURL = graph.URL
		c.MediaHosts = []string{hostOf(t, cdn.URL)}
	}))
	if _, err := e.c.Me(context.Background(), "a-token"); err != nil {
		t.Fatalf("Me: %v", err)
	}
	if _, _, err := e.c.Download(context.Background(), cdn.URL+"/x.png", 0); err != nil {
		t.Fatalf("Download: %v", err)
	}
	want := buildinfo.Get().UserAgent()
	if !strings.HasPrefix(want, "vitrine/") {
		t.Fatalf("UserAgent() = %q, want vitrine/…", want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("requests = %q, want one to each server", seen)
	}
	for _, s := range seen {
		if !strings.HasSuffix(s, " "+want) {
			t.Errorf("request %q, want User-Agent %q", s, want)
		}
	}
}

// pngHeader is enough of a PNG for the download's sniffing.
var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde")
