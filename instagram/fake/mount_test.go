package fake

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestPrefixMount runs the whole flow with the fake mounted under
// /_fake/instagram next to another handler, as `vitrine -demo` does.
func TestPrefixMount(t *testing.T) {
	const prefix = "/_fake/instagram"
	f := New(Options{Prefix: prefix + "/", Clock: NewClock(testStart), RedirectURIs: []string{testRedirect}})
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", f)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h := newHarnessFor(t, f, srv, srv.URL)

	if h.ep.AuthURL != srv.URL+prefix+"/oauth/authorize" || h.ep.TokenURL != srv.URL+prefix+"/oauth/access_token" || h.ep.GraphURL != srv.URL+prefix {
		t.Fatalf("endpoints %+v", h.ep)
	}
	_, page := h.get(h.ep.AuthURL + "?" + authParams(nil).Encode())
	if !strings.Contains(string(page), `action="`+prefix+`/oauth/authorize"`) {
		t.Fatal("form does not post back under the prefix")
	}
	tok := h.longLivedToken()

	status, body := h.graph("/v24.0/me/media", tok, url.Values{"limit": {"3"}, "fields": {"id,media_url"}})
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	next := str(body["paging"].(map[string]any)["next"])
	if !strings.HasPrefix(next, srv.URL+prefix+"/v24.0/17841405793187218/media?") {
		t.Errorf("paging.next %q", next)
	}
	if resp, _ := h.get(next); resp.StatusCode != http.StatusOK {
		t.Errorf("following next: %d", resp.StatusCode)
	}
	media := str(items(body)[0]["media_url"])
	if !strings.HasPrefix(media, srv.URL+prefix+"/cdn/") {
		t.Errorf("media_url %q", media)
	}
	if resp, _ := h.get(media); resp.StatusCode != http.StatusOK {
		t.Errorf("media: %d", resp.StatusCode)
	}
	if _, other := h.get(srv.URL + "/me"); string(other) != "app" {
		t.Error("the fake answered outside its prefix")
	}
	// Reached directly, a path outside the prefix is not Instagram's.
	direct := httptest.NewServer(f)
	t.Cleanup(direct.Close)
	if resp, _ := h.get(direct.URL + "/oauth/authorize?" + authParams(nil).Encode()); resp.StatusCode != http.StatusNotFound {
		t.Errorf("authorize outside the prefix: %d", resp.StatusCode)
	}
	if h.f.CallsTo("/me/media") != 2 {
		t.Errorf("CallsTo(/me/media) = %d; counts must not depend on the prefix", h.f.CallsTo("/me/media"))
	}
}

func TestAbsoluteURLsFollowTheRequest(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	req, _ := http.NewRequest(http.MethodGet, h.ep.GraphURL+"/me?fields=profile_picture_url&access_token="+tok, nil)
	req.Host = "vitrine.example"
	req.Header.Set("X-Forwarded-Proto", "https")
	_, raw := h.do(req)
	if got := str(decode(t, raw)["profile_picture_url"]); !strings.HasPrefix(got, "https://vitrine.example/cdn/") {
		t.Errorf("profile_picture_url %q", got)
	}

	fixed := newHarness(t, Options{BaseURL: "https://graph.example/"})
	_, body := fixed.graph("/me", fixed.f.IssueLongLivedToken(), url.Values{"fields": {"profile_picture_url"}})
	if got := str(body["profile_picture_url"]); !strings.HasPrefix(got, "https://graph.example/cdn/") {
		t.Errorf("with BaseURL: %q", got)
	}
}
