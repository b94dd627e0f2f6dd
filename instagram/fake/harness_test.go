package fake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testRedirect = "https://vitrine.example/admin/callback"

var testStart = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// harness is a fake served on loopback and a client that does not follow
// redirects, so tests see Instagram's 302s.
type harness struct {
	t      *testing.T
	f      *Fake
	srv    *httptest.Server
	ep     Endpoints
	client *http.Client
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = NewClock(testStart)
	}
	if opts.RedirectURIs == nil {
		opts.RedirectURIs = []string{testRedirect}
	}
	f := New(opts)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return newHarnessFor(t, f, srv, srv.URL)
}

func newHarnessFor(t *testing.T, f *Fake, srv *httptest.Server, base string) *harness {
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client.Timeout = 30 * time.Second
	return &harness{t: t, f: f, srv: srv, ep: f.Endpoints(base), client: client}
}

// do sends req and returns the response with its body read.
func (h *harness) do(req *http.Request) (*http.Response, []byte) {
	h.t.Helper()
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	return resp, body
}

func (h *harness) get(rawURL string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(req)
}

func (h *harness) postForm(rawURL string, form url.Values) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return h.do(req)
}

// graph GETs GraphURL+path with the token in the query and decodes the JSON.
func (h *harness) graph(path, token string, q url.Values) (int, map[string]any) {
	h.t.Helper()
	if q == nil {
		q = url.Values{}
	}
	if token != "" {
		q.Set("access_token", token)
	}
	resp, body := h.get(h.ep.GraphURL + path + "?" + q.Encode())
	return resp.StatusCode, decode(h.t, body)
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber() // ids beyond 2^53 must survive
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return m
}

// graphErr returns code and subcode of a graph error body (0, 0 if none).
func graphErr(t *testing.T, body map[string]any) (code, subcode int, msg string) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok {
		return 0, 0, ""
	}
	if e["type"] != "OAuthException" || e["fbtrace_id"] == "" {
		t.Errorf("error body lacks type/fbtrace_id: %v", e)
	}
	num := func(k string) int {
		n, _ := e[k].(json.Number)
		i, _ := n.Int64()
		return int(i)
	}
	msg, _ = e["message"].(string)
	return num("code"), num("error_subcode"), msg
}

func (h *harness) wantGraphError(path, token string, q url.Values, code, subcode int) string {
	h.t.Helper()
	status, body := h.graph(path, token, q)
	gotCode, gotSub, msg := graphErr(h.t, body)
	if status != http.StatusBadRequest || gotCode != code || gotSub != subcode {
		h.t.Fatalf("GET %s: status %d code %d/%d (%q), want 400 code %d/%d", path, status, gotCode, gotSub, msg, code, subcode)
	}
	return msg
}

// authorizeCode approves the dialog over HTTP and returns the code.
func (h *harness) authorizeCode(state string) string {
	h.t.Helper()
	resp, _ := h.postForm(h.ep.AuthURL, url.Values{
		"client_id": {h.f.ClientID()}, "redirect_uri": {testRedirect}, "response_type": {"code"},
		"scope": {"instagram_business_basic"}, "state": {state}, "decision": {"approve"},
	})
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("approve: status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	return loc.Query().Get("code")
}

func (h *harness) exchangeCode(code string) (int, map[string]any) {
	h.t.Helper()
	resp, body := h.postForm(h.ep.TokenURL, url.Values{
		"client_id": {h.f.ClientID()}, "client_secret": {h.f.ClientSecret()},
		"grant_type": {"authorization_code"}, "redirect_uri": {testRedirect}, "code": {code},
	})
	return resp.StatusCode, decode(h.t, body)
}

func (h *harness) shortLivedToken() string {
	h.t.Helper()
	status, body := h.exchangeCode(h.authorizeCode("s"))
	if status != http.StatusOK {
		h.t.Fatalf("exchange: %d %v", status, body)
	}
	return body["access_token"].(string)
}

func (h *harness) exchangeLongLived(short string) (int, map[string]any) {
	h.t.Helper()
	return h.graph("/v24.0/access_token", short, url.Values{
		"grant_type": {"ig_exchange_token"}, "client_secret": {h.f.ClientSecret()},
	})
}

// longLivedToken runs the whole OAuth flow over HTTP.
func (h *harness) longLivedToken() string {
	h.t.Helper()
	status, body := h.exchangeLongLived(h.shortLivedToken())
	if status != http.StatusOK {
		h.t.Fatalf("long-lived exchange: %d %v", status, body)
	}
	return body["access_token"].(string)
}

func str(v any) string { s, _ := v.(string); return s }

func items(body map[string]any) []map[string]any {
	data, _ := body["data"].([]any)
	out := make([]map[string]any, 0, len(data))
	for _, d := range data {
		m, _ := d.(map[string]any)
		out = append(out, m)
	}
	return out
}
