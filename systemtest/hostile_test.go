package systemtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

// hostilePayloads are what an attacker types into URLs, headers, forms and
// cookies, and what a hostile Instagram serves as captions and names. Each
// carries a <vtx-N> element: escaped for HTML it reads "&lt;vtx-N", so
// "<vtx" in a page means input came back as markup.
var hostilePayloads = []string{
	`<script>alert("vtx1")</script><vtx-1>`,
	`</style><style>*{display:none}</style><vtx-2>`,
	`javascript:alert('vtx3')//<vtx-3>`,
	`"><img src=x onerror=alert('vtx4')><vtx-4>`,
	`' onmouseover='alert(5)' x='<vtx-5>`,
	`{{.}}{{template "page" .}}<vtx-6>`,
	`</textarea></title></script><vtx-7>`,
	`expression(alert(8));}</style><vtx-8 style="x:expression(alert(8))">`,
	`%3Cvtx-9%3E<vtx-9>`,
	`<svg/onload=alert(10)><vtx-10>`,
	"\u2028\u2029</script><vtx-11>",
	`<!--<vtx-12>--><![CDATA[<vtx-12>]]>`,
}

func payload(i int) string { return hostilePayloads[i%len(hostilePayloads)] }

var (
	// A stack trace or a panic message in a response.
	stackRE = regexp.MustCompile(`goroutine \d|\.go:\d|(?i)\bpanic\b`)
	// Input reflected as markup, or a javascript: URL in a link.
	markupRE = regexp.MustCompile(`(?i)<\s*/?\s*vtx|(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:`)
	// What a traversal must never serve.
	fileContentRE = regexp.MustCompile(`root:.*:0:0:|SQLite format 3|module vitrine|-----BEGIN`)
)

// hostileReq is one request, sent byte for byte as written: the
// request-target is not cleaned or re-encoded on the way.
type hostileReq struct {
	name   string
	method string // default GET
	target string // path?query, raw
	// targetFn builds the target when it needs fresh state (a pending OAuth
	// state, a valid code); it runs right before the request.
	targetFn func(t *testing.T) string
	header   []string // name, value pairs; "Host" replaces the default
	body     string
	as       *testkit.Browser // nil: anonymous
	// upstream: the request makes Vitrine talk to an Instagram that is
	// sabotaged or says no; the admin then answers 502/504 on purpose
	// ("Instagram refused", "Sync failed"), which is allowed.
	upstream bool
	// follow: a 303 to /admin/connected is followed, as the popup does.
	follow bool
	// mayDrop: the server may reset the connection before answering (a
	// request line over its limit).
	mayDrop bool
	want    func(status int) bool
	after   func(t *testing.T)
}

type hostileResp struct {
	status int
	header http.Header
	body   []byte
}

// hostileApp is a Vitrine under attack, with its fake Instagram wrapped so
// the test can make it serve markup, garbage, or echo secrets, and can
// record every token it hands out.
type hostileApp struct {
	v       *testvitrine.Vitrine
	garbage atomic.Pointer[garbageMode]
	// markup makes the account's username and name and some posts'
	// permalinks hostile, as served by the (wrapped) fake.
	markup  atomic.Bool
	permaJS atomic.Value // post id whose permalink becomes javascript:
	permaQ  atomic.Value // post id whose permalink breaks out of its attribute
	// offCDN gives one post a media_url on a host that is no media host.
	offCDN atomic.Pointer[offCDNMedia]

	escaped atomic.Int64 // answers that showed hostile input, escaped

	mu     sync.Mutex
	tokens []string // every access_token the fake issued
	codes  []string // every authorization code the test obtained
}

type offCDNMedia struct{ postID, url string }

var accessTokenRE = regexp.MustCompile(`"access_token":"([^"]+)"`)

// graphVersionRE is the version segment of a Graph path ("/v26.0").
var graphVersionRE = regexp.MustCompile(`/v[0-9]+\.[0-9]+`)

// garbageMode corrupts the fake's answers on some paths.
type garbageMode struct {
	name  string
	paths []string // suffixes of the request path (version stripped)
	fn    func(r *http.Request, status int, body []byte) (int, string, []byte)
}

// applies: the path, without its version, is one of g.paths; "*x" means
// any path ending in x.
func (g *garbageMode) applies(r *http.Request) bool {
	p := graphVersionRE.ReplaceAllString(r.URL.Path, "")
	for _, s := range g.paths {
		if suffix, ok := strings.CutPrefix(s, "*"); ok && strings.HasSuffix(p, suffix) || p == s {
			return true
		}
	}
	return false
}

func (h *hostileApp) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		status, body := rec.Code, rec.Body.Bytes()
		ctype := rec.Header().Get("Content-Type")
		for _, m := range accessTokenRE.FindAllSubmatch(body, -1) {
			h.mu.Lock()
			h.tokens = append(h.tokens, string(m[1]))
			h.mu.Unlock()
		}
		if g := h.garbage.Load(); g != nil && g.applies(r) {
			status, ctype, body = g.fn(r, status, body)
		} else if (h.markup.Load() || h.offCDN.Load() != nil) && status == http.StatusOK && strings.HasPrefix(ctype, "application/json") {
			body = h.injectMarkup(r, body)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		w.Write(body)
	})
}

// injectMarkup rewrites the profile, some permalinks and a media_url the
// way a hostile upstream (or a man in the middle) could.
func (h *hostileApp) injectMarkup(r *http.Request, body []byte) []byte {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/me") && h.markup.Load():
		doc["username"] = `vtx.user"'<vtx-u>&`
		doc["name"] = `<vtx-n onclick="alert(1)">Name</vtx-n>`
	case strings.HasSuffix(r.URL.Path, "/media"):
		data, _ := doc["data"].([]any)
		for _, it := range data {
			m, _ := it.(map[string]any)
			if m == nil {
				continue
			}
			id, _ := m["id"].(string)
			if off := h.offCDN.Load(); off != nil && id == off.postID {
				m["media_url"] = off.url
			}
			if !h.markup.Load() {
				continue
			}
			if id == h.permaJS.Load() {
				m["permalink"] = `javascript:alert('vtx-p')//<vtx-p>`
			} else if id == h.permaQ.Load() {
				m["permalink"] = `https://www.instagram.com/p/"><vtx-q>/`
			}
		}
	default:
		return body
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

func (h *hostileApp) secrets() []string {
	out := []string{h.v.Fake.ClientSecret()}
	h.mu.Lock()
	out = append(out, h.tokens...)
	out = append(out, h.codes...)
	h.mu.Unlock()
	if tok, err := h.v.Store.Token(context.Background()); err == nil {
		out = append(out, tok.AccessToken)
	}
	// The key that encrypts the token at rest.
	if b, err := os.ReadFile(filepath.Join(h.v.Config.DataDir, store.KeyFileName)); err == nil {
		out = append(out, strings.TrimSpace(string(b)))
	}
	return out
}

func (h *hostileApp) token(t *testing.T) string {
	t.Helper()
	tok, err := h.v.Store.Token(context.Background())
	if err != nil {
		t.Fatalf("stored token: %v", err)
	}
	return tok.AccessToken
}

// send writes r on its own connection and reads the answer.
func (h *hostileApp) send(t *testing.T, r hostileReq, target string) (hostileResp, bool) {
	t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	u, err := url.Parse(h.v.URL)
	if err != nil {
		t.Fatal(err)
	}
	host := u.Host
	var hdr bytes.Buffer
	for i := 0; i+1 < len(r.header); i += 2 {
		if strings.EqualFold(r.header[i], "Host") {
			host = r.header[i+1]
			continue
		}
		fmt.Fprintf(&hdr, "%s: %s\r\n", r.header[i], r.header[i+1])
	}
	if r.as != nil {
		path, _, _ := strings.Cut(target, "?")
		cu := *u
		cu.Path = path
		var cookies []string
		for _, c := range r.as.Jar.Cookies(&cu) {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
		if len(cookies) > 0 {
			fmt.Fprintf(&hdr, "Cookie: %s\r\n", strings.Join(cookies, "; "))
		}
	}
	if r.body != "" || method == http.MethodPost {
		fmt.Fprintf(&hdr, "Content-Length: %d\r\n", len(r.body))
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	go func() {
		// Written concurrently: the server may answer (and stop reading)
		// before a huge request is fully written.
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n%s", method, target, host, hdr.String(), r.body)
	}()
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 64<<10), &http.Request{Method: method})
	if err != nil {
		if !r.mayDrop {
			t.Errorf("%s: no HTTP answer: %v", r.name, err)
		}
		return hostileResp{}, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil && !r.mayDrop {
		t.Errorf("%s: reading the answer: %v", r.name, err)
	}
	return hostileResp{status: resp.StatusCode, header: resp.Header, body: body}, true
}

// check asserts what holds for every answer to every hostile request.
func (h *hostileApp) check(t *testing.T, what string, r hostileResp, upstream bool) {
	t.Helper()
	for _, p := range hostileProblems(r, upstream, h.secrets()) {
		t.Errorf("%s: %s", what, p)
	}
	if bytes.Contains(r.body, []byte("&lt;vtx")) {
		h.escaped.Add(1)
	}
}

// hostileProblems lists what is wrong with one answer: a 5xx (but the
// admin's deliberate 502/504 when upstream), a stack trace, a file served
// by traversal, input reflected as markup in HTML or JavaScript, a secret.
func hostileProblems(r hostileResp, upstream bool, secrets []string) []string {
	var out []string
	if r.status >= 500 && !(upstream && (r.status == http.StatusBadGateway || r.status == http.StatusGatewayTimeout)) {
		out = append(out, fmt.Sprintf("HTTP %d\n%.600s", r.status, r.body))
	}
	text := string(r.body)
	ctype := r.header.Get("Content-Type")
	if !strings.HasPrefix(ctype, "image/") {
		if m := stackRE.FindStringIndex(text); m != nil {
			out = append(out, "looks like a stack trace or panic: …"+around(text, m)+"…")
		}
		if m := fileContentRE.FindStringIndex(text); m != nil {
			out = append(out, "serves a file it must not: …"+around(text, m)+"…")
		}
	}
	if strings.Contains(ctype, "html") || strings.Contains(ctype, "javascript") || (ctype == "" && len(text) > 0) {
		if m := markupRE.FindStringIndex(text); m != nil {
			out = append(out, fmt.Sprintf("input reflected as markup (%s): …%s…", ctype, around(text, m)))
		}
		for _, p := range hostilePayloads {
			if strings.Contains(text, p) {
				out = append(out, fmt.Sprintf("payload %q reflected verbatim (%s)", p, ctype))
			}
		}
	}
	var headers strings.Builder
	for k, vs := range r.header {
		headers.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
	}
	for _, s := range secrets {
		if s != "" && (strings.Contains(text, s) || strings.Contains(headers.String(), s)) {
			out = append(out, fmt.Sprintf("the answer contains a secret (%.8s…)", s))
		}
	}
	return out
}

// The checks catch what they are for: each answer below must be flagged.
func TestHostileProblemsCatches(t *testing.T) {
	html := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	js := http.Header{"Content-Type": {"text/javascript"}}
	for _, c := range []struct {
		name     string
		r        hostileResp
		upstream bool
	}{
		{"500", hostileResp{status: 500, header: html}, false},
		{"503 upstream", hostileResp{status: 503, header: html}, true},
		{"stack", hostileResp{status: 200, header: html, body: []byte("goroutine 1 [running]:\nmain.go:12")}, false},
		{"panic", hostileResp{status: 400, header: http.Header{}, body: []byte("Panic: boom")}, false},
		{"reflected tag", hostileResp{status: 400, header: html, body: []byte(`<p>Hello <vtx-4></p>`)}, false},
		{"reflected attribute", hostileResp{status: 200, header: html, body: []byte(`<a href="x" onclick=1 <VTX-5 x>`)}, false},
		{"javascript link", hostileResp{status: 200, header: html, body: []byte(`<a href=" javascript:alert(1)">`)}, false},
		{"reflected in JS", hostileResp{status: 200, header: js, body: []byte(`r.innerHTML="<vtx-1>"`)}, false},
		{"verbatim payload", hostileResp{status: 200, header: html, body: []byte(payload(0))}, false},
		{"no content type", hostileResp{status: 200, header: http.Header{}, body: []byte("<vtx-2>")}, false},
		{"passwd", hostileResp{status: 200, header: http.Header{"Content-Type": {"text/plain"}}, body: []byte("root:x:0:0:root:/root:/bin/sh")}, false},
		{"secret in body", hostileResp{status: 200, header: http.Header{}, body: []byte(`{"t":"IGAAsecret"}`)}, false},
		{"secret in a header", hostileResp{status: 302, header: http.Header{"Location": {"/x?t=IGAAsecret"}}}, false},
	} {
		if p := hostileProblems(c.r, c.upstream, []string{"IGAAsecret"}); len(p) == 0 {
			t.Errorf("%s: not flagged", c.name)
		}
	}
	// And what is fine passes: escaped input, JSON with raw text, 502 from
	// a sabotaged upstream, images.
	for _, r := range []hostileResp{
		{status: 200, header: html, body: []byte(`<p>&lt;vtx-1&gt; &#34;&gt;&lt;vtx-4&gt;</p>`)},
		{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: []byte(`{"caption":"<vtx-1>"}`)},
		{status: 200, header: http.Header{"Content-Type": {"image/jpeg"}}, body: []byte("\xff\xd8 goroutine 1 .go:1")},
	} {
		if p := hostileProblems(r, false, []string{"IGAAsecret"}); len(p) != 0 {
			t.Errorf("flagged a fine answer: %v", p)
		}
	}
	if p := hostileProblems(hostileResp{status: 502, header: html}, true, nil); len(p) != 0 {
		t.Errorf("flagged the deliberate 502: %v", p)
	}
}

func around(s string, m []int) string {
	return s[max(m[0]-80, 0):min(m[1]+80, len(s))]
}

// run sends every request and checks its answer (and the page a 303 leads
// to, when asked).
func (h *hostileApp) run(t *testing.T, reqs []hostileReq) {
	t.Helper()
	statuses := map[int]int{}
	defer func() { t.Logf("answers by status: %v", statuses) }()
	for _, r := range reqs {
		target := r.target
		if r.targetFn != nil {
			target = r.targetFn(t)
		}
		what := fmt.Sprintf("%s (%s %.80s)", r.name, orGET(r.method), target)
		resp, ok := h.send(t, r, target)
		if !ok {
			continue
		}
		statuses[resp.status]++
		if os.Getenv("HOSTILE_VERBOSE") != "" {
			t.Logf("%d %s", resp.status, what)
		}
		h.check(t, what, resp, r.upstream)
		if r.want != nil && !r.want(resp.status) {
			t.Errorf("%s: HTTP %d\n%.400s", what, resp.status, resp.body)
		}
		if r.follow && resp.status == http.StatusSeeOther && resp.header.Get("Location") == "/admin/connected" {
			res, ok := h.send(t, hostileReq{name: r.name + " → result", as: r.as}, "/admin/connected")
			if ok {
				h.check(t, what+" → /admin/connected", res, r.upstream)
			}
		}
		if r.after != nil {
			r.after(t)
		}
	}
}

func orGET(m string) string {
	if m == "" {
		return http.MethodGet
	}
	return m
}

func statusIn(codes ...int) func(int) bool {
	return func(s int) bool {
		for _, c := range codes {
			if s == c {
				return true
			}
		}
		return false
	}
}

// newHostileApp starts a connected Vitrine whose fake Instagram serves
// hostile captions, alt texts, username, name and permalinks.
func newHostileApp(t *testing.T) (*hostileApp, *testkit.Browser, *testkit.Browser) {
	h := &hostileApp{}
	h.permaJS.Store("")
	h.permaQ.Store("")
	// Quick retries: the garbage answers are retried as often as in
	// production, without the real-time waits between attempts.
	h.v = testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(-1), testvitrine.RealTime(), testvitrine.QuickRetries(), testvitrine.WrapFake(h.wrap))
	f := h.v.Fake
	now := time.Now()
	var ids []string
	for i := range 4 {
		ids = append(ids, f.AddPost(fake.Post{
			Caption: payload(i) + " caption " + payload(i+4), AltText: payload(i + 8),
			Width: 320, Height: 320, Timestamp: now.Add(-time.Duration(i+1) * time.Hour),
		}))
	}
	ids = append(ids, f.AddPost(fake.Post{MediaType: fake.MediaCarousel, Caption: payload(10), Width: 320, Height: 320,
		Timestamp: now.Add(-10 * time.Hour),
		Children:  []fake.Post{{AltText: payload(11)}, {AltText: payload(3)}}}))
	h.permaJS.Store(ids[0])
	h.permaQ.Store(ids[1])
	h.markup.Store(true)

	a, b := h.v.SignedIn(), h.v.SignedIn()
	// Connect through the real popup path, as the admin would.
	cb, res := h.connectThrough(t, a)
	if cb.status != http.StatusSeeOther || res.status != http.StatusOK || !strings.Contains(string(res.body), `data-result="connected"`) {
		t.Fatalf("connecting: callback %d, result %d:\n%.2000s", cb.status, res.status, res.body)
	}
	h.check(t, "connect result page", res, false)
	// Wait for the posts: the sync after connecting runs in the background.
	deadline := time.Now().Add(firstSyncPatience)
	for {
		_, body := h.v.Get("/widget.json")
		if strings.Count(string(body), `"permalink"`) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no gallery after connecting: %.1000s\nlog:\n%s", body, h.v.Logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The hostile content is there to be escaped (else the checks below
	// would pass for want of anything to check). Captions are in the
	// markup only where they are shown: these galleries show them.
	for _, c := range []struct {
		path string
		as   *testkit.Browser
		want []string
	}{
		{"/widget?captions=true", nil, []string{"&lt;vtx-1&gt;", "&lt;vtx-u&gt;", "&lt;vtx-n"}},
		{"/widget.js?captions=true", nil, []string{"&lt;vtx-1&gt;", "&lt;vtx-u&gt;"}},
		{"/admin", a, []string{"&lt;vtx-u&gt;", "&lt;vtx-n", "&lt;vtx-1&gt;"}}, // the last in the Posts section
	} {
		r, _ := h.send(t, hostileReq{name: c.path, as: c.as}, c.path)
		for _, w := range c.want {
			if !bytes.Contains(r.body, []byte(w)) {
				t.Errorf("%s does not show the hostile content %q (escaped): %d\n%.1500s", c.path, w, r.status, r.body)
			}
		}
	}
	return h, a, b
}

// state starts a connection for c (Generate) and returns its OAuth state.
func (h *hostileApp) state(t *testing.T, c *testkit.Browser) string {
	t.Helper()
	resp, ok := h.send(t, hostileReq{name: "generate", as: c}, "/admin/generate")
	if !ok || resp.status != http.StatusFound {
		t.Fatalf("generate = %d", resp.status)
	}
	loc, err := url.Parse(resp.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query().Get("state")
}

// code is what Instagram's redirect would carry after the admin approved.
func (h *hostileApp) code(t *testing.T) string {
	t.Helper()
	c, err := h.v.Fake.Authorize(h.v.Config.RedirectURI(), strings.Join(h.v.Config.Instagram.Scopes, ","))
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.codes = append(h.codes, c)
	h.mu.Unlock()
	return c
}

func (h *hostileApp) callbackTarget(t *testing.T, c *testkit.Browser) string {
	return "/admin/callback?" + url.Values{"code": {h.code(t)}, "state": {h.state(t, c)}}.Encode()
}

// connectThrough runs Generate → approve → callback → result for c.
func (h *hostileApp) connectThrough(t *testing.T, c *testkit.Browser) (cb, res hostileResp) {
	t.Helper()
	target := h.callbackTarget(t, c)
	cb, _ = h.send(t, hostileReq{name: "callback", as: c}, target)
	if cb.status == http.StatusSeeOther {
		res, _ = h.send(t, hostileReq{name: "result", as: c}, "/admin/connected")
	} else {
		res = cb
	}
	return cb, res
}

// TestHostile sends ~190 hostile requests to every route of a connected
// Vitrine whose Instagram serves markup, then connects and syncs while
// Instagram serves garbage: no 5xx (but the admin's deliberate 502/504
// where Instagram failed), no stack traces, no input reflected as markup,
// no token, code or client secret in any answer or log line.
func TestHostile(t *testing.T) {
	t.Parallel()
	h, a, b := newHostileApp(t)
	v := h.v
	ctx := context.Background()
	postID, shownID := v.Fake.MediaIDs()[0], v.Fake.MediaIDs()[1] // the first is hidden below
	tokenAtStart := h.token(t)
	tokenKept := func(t *testing.T) {
		t.Helper()
		if got := h.token(t); got != tokenAtStart {
			t.Error("the stored token changed")
		}
	}
	csrfRejected := statusIn(http.StatusForbidden)
	mb := strings.Repeat("A", 1_000_000)

	// The pages that must show the hostile content escaped, after a post
	// with a hostile caption was hidden (the audit log names it).
	reqs := []hostileReq{{name: "hide a hostile post", method: "POST", target: "/admin/posts/" + postID, as: a,
		header: []string{"Content-Type", "application/x-www-form-urlencoded"},
		body:   "action=hide&csrf_token=" + url.QueryEscape(a.CSRF), want: statusIn(http.StatusSeeOther)}}
	for _, p := range []string{"/widget", "/widget?fragment=1", "/widget.js", "/widget.js?captions=true", "/widget.json", "/admin", "/admin/status.json",
		"/admin/disconnect", "/admin/connected"} {
		reqs = append(reqs, hostileReq{name: "hostile content", target: p, as: a, want: statusIn(200, 302)})
	}

	// Every route: a reflected payload in the query, anonymous and signed
	// in; a 1 MB query string; a method it does not take.
	routes := []string{"/", "/healthz", "/readyz", "/metrics", "/widget", "/widget.js", "/widget.css", "/widget.json",
		"/media/" + postID + "/320.jpg", "/admin", "/admin/login", "/admin/callback", "/admin/status.json",
		"/admin/avatar", "/admin/generate", "/admin/connected", "/admin/disconnect", "/admin/sync", "/admin/logout",
		"/admin/posts/" + postID, "/admin/parked/confirm", "/admin/parked/discard", "/admin/static/admin.css", "/admin/static/admin.js", "/admin/nope", "/nope",
		"/instagram/deauthorize", "/instagram/data-deletion", "/instagram/deletion"}
	badMethods := []string{"PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "PROPFIND", "CONNECT", "BREW"}
	for i, r := range routes {
		q := url.Values{"q": {payload(i)}, "fragment": {payload(i + 1)}, "signed_out": {payload(i + 2)},
			"error": {payload(i + 3)}, "v": {payload(i + 4)}}.Encode()
		reqs = append(reqs,
			hostileReq{name: "reflected query", target: r + "?" + q},
			hostileReq{name: "reflected query, signed in", target: r + "?" + q, as: a, follow: true, upstream: r == "/admin/callback"},
			hostileReq{name: "1 MB query", target: r + "?x=" + mb[:1_000_000-len(r)-10]},
			hostileReq{name: "bad method", method: badMethods[i%len(badMethods)], target: r, as: a, after: tokenKept},
		)
	}
	reqs = append(reqs,
		hostileReq{name: "2 MB query", target: "/widget?x=" + mb + mb, mayDrop: true},
		hostileReq{name: "120k parameters", target: "/admin/callback?" + strings.Repeat("state=x&", 120_000), as: a, follow: true},
		hostileReq{name: "raw markup in the query", target: `/admin/login?x=<vtx-r>"'`},
		hostileReq{name: "invalid method token", method: "GE(T", target: "/widget"},
		hostileReq{name: "GET on POST-only sync", target: "/admin/sync", as: a, want: statusIn(405)},
		hostileReq{name: "GET on POST-only logout", target: "/admin/logout", as: a, want: statusIn(405)},
		hostileReq{name: "POST to the widget", method: "POST", target: "/widget.json", body: "x=1", want: statusIn(404, 405)},
		hostileReq{name: "HEAD media", method: "HEAD", target: "/media/" + shownID + "/320.jpg", want: statusIn(200)},
		hostileReq{name: "HEAD a hidden post's media", method: "HEAD", target: "/media/" + postID + "/320.jpg", want: statusIn(404)},
	)
	// Meta's callbacks take no cookie and no CSRF token, only a signature:
	// anything else is a 400 that changes nothing.
	formType := "application/x-www-form-urlencoded"
	for _, path := range []string{"/instagram/deauthorize", "/instagram/data-deletion"} {
		for i, body := range []string{
			"signed_request=" + url.QueryEscape(payload(0)),
			"signed_request=" + strings.Repeat("A", 40_000) + "." + strings.Repeat("B", 40_000),
			"signed_request=" + mb[:200_000],
			"signed_request=a.b&signed_request=c.d",
			"",
			"signed_request=" + url.QueryEscape(v.Fake.SignedRequest(v.Fake.Account().UserID, time.Now())[3:]),
		} {
			reqs = append(reqs, hostileReq{name: fmt.Sprintf("bad signed request %d", i), method: "POST", target: path,
				header: []string{"Content-Type", formType}, body: body, want: statusIn(400, 413), after: tokenKept})
		}
	}
	reqs = append(reqs, hostileReq{name: "deletion status, hostile code", target: "/instagram/deletion?code=" + url.QueryEscape(payload(3)), want: statusIn(404)})

	// The OAuth callback: forged, replayed, oversized, missing and
	// duplicated state and code, and Instagram's error parameters.
	replay := h.callbackTarget(t, a)
	if r, _ := h.send(t, hostileReq{name: "legit callback", as: a}, replay); r.status != http.StatusSeeOther {
		t.Fatalf("legit callback = %d", r.status)
	}
	h.send(t, hostileReq{name: "result", as: a}, "/admin/connected")
	if h.token(t) == tokenAtStart {
		t.Fatal("the legit callback did not connect")
	}
	tokenAtStart = h.token(t)
	cb := func(name string, as *testkit.Browser, fn func(t *testing.T) string, upstream bool) hostileReq {
		return hostileReq{name: "callback: " + name, targetFn: fn, as: as, follow: true, upstream: upstream, after: tokenKept}
	}
	fixed := func(q string) func(*testing.T) string {
		return func(*testing.T) string { return "/admin/callback?" + q }
	}
	forged := "AQB" + strings.Repeat("x", 120)
	for _, as := range []*testkit.Browser{nil, a} {
		who := "anonymous"
		if as != nil {
			who = "signed in"
		}
		reqs = append(reqs,
			cb("forged state and code, "+who, as, fixed("code="+forged+"&state=forged"), false),
			cb("forged state, "+who, as, fixed("state="+strings.Repeat("s", 43)), false),
			cb("missing state, "+who, as, func(t *testing.T) string { return "/admin/callback?code=" + h.code(t) }, false),
			cb("nothing, "+who, as, fixed(""), false),
			cb("1 MB state, "+who, as, fixed("code=x&state="+mb[:999_000]), false),
			cb("1 MB code, "+who, as, fixed("state=x&code="+mb[:999_000]), false),
			cb("replayed, "+who, as, func(*testing.T) string { return replay }, false),
			cb("state with control characters, "+who, as, fixed("state=%00%0d%0aX-Injected:%201&code=%0a"), false),
			cb("array parameters, "+who, as, fixed("state[]=a&code[]=b&state%5B%5D=c"), false),
			cb("semicolons, "+who, as, fixed("state=a;code=b;error=c"), false),
			cb("declined with markup, "+who, as, fixed("error=access_denied&error_reason="+url.QueryEscape(payload(0))+
				"&error_description="+url.QueryEscape(payload(1))), false),
			cb("Instagram error with markup, "+who, as, fixed("error="+url.QueryEscape(payload(3))+
				"&error_description="+url.QueryEscape(payload(4))+"&state=x"), true),
			cb("error param duplicated, "+who, as, fixed("error=&error=access_denied&state=x"), false),
		)
	}
	reqs = append(reqs,
		cb("valid state, forged code", a, func(t *testing.T) string {
			return "/admin/callback?state=" + h.state(t, a) + "&code=" + forged
		}, true),
		cb("forged state first, valid second", a, func(t *testing.T) string {
			return "/admin/callback?state=forged&state=" + h.state(t, a) + "&code=" + h.code(t)
		}, false),
		cb("valid state, forged code first", a, func(t *testing.T) string {
			return "/admin/callback?state=" + h.state(t, a) + "&code=" + forged + "&code=" + h.code(t)
		}, true),
		cb("another session's state", a, func(t *testing.T) string {
			return "/admin/callback?state=" + h.state(t, b) + "&code=" + h.code(t)
		}, false),
		// A phone: the Instagram app opens the callback in another browser.
		// The pending state is enough, so this one connects, by design.
		hostileReq{name: "callback: a state with a valid code, no session", follow: true, want: statusIn(http.StatusOK),
			targetFn: func(t *testing.T) string { return h.callbackTarget(t, a) },
			after: func(t *testing.T) {
				if h.token(t) == tokenAtStart {
					t.Error("the callback in another browser did not connect")
				}
				tokenAtStart = h.token(t)
			}},
		cb("valid state and code, plus error", a, func(t *testing.T) string {
			return h.callbackTarget(t, a) + "&error=access_denied"
		}, false),
	)

	// CSRF: state-changing POSTs without the token, with a wrong one,
	// another session's, or from another origin; signed in and not.
	sync, disconnect, logout, moderate := "/admin/sync", "/admin/disconnect", "/admin/logout", "/admin/posts/"+postID
	form := "application/x-www-form-urlencoded"
	sessionKept := func(t *testing.T) {
		t.Helper()
		tokenKept(t)
		if r, _ := h.send(t, hostileReq{name: "session check", as: a}, "/admin/status.json"); r.status != http.StatusOK {
			t.Errorf("signed out by a forged request: status.json = %d", r.status)
		}
	}
	for _, path := range []string{sync, disconnect, logout, moderate, "/admin/parked/confirm", "/admin/parked/discard"} {
		reqs = append(reqs,
			hostileReq{name: "no CSRF token, signed in", method: "POST", target: path, as: a, header: []string{"Content-Type", form}, want: csrfRejected, after: sessionKept},
			hostileReq{name: "wrong CSRF token", method: "POST", target: path, as: a, header: []string{"Content-Type", form}, body: "csrf_token=" + url.QueryEscape(payload(0)), want: csrfRejected, after: sessionKept},
			hostileReq{name: "another session's CSRF token", method: "POST", target: path, as: a, header: []string{"Content-Type", form}, body: "csrf_token=" + b.CSRF, want: csrfRejected, after: sessionKept},
			hostileReq{name: "right token, other origin", method: "POST", target: path, as: a, header: []string{"Content-Type", form, "Origin", "https://evil.example"}, body: "csrf_token=" + a.CSRF, want: csrfRejected, after: sessionKept},
			hostileReq{name: "right token, cross-site fetch", method: "POST", target: path, as: a, header: []string{"Content-Type", form, "Sec-Fetch-Site", "cross-site"}, body: "csrf_token=" + a.CSRF, want: csrfRejected, after: sessionKept},
			hostileReq{name: "token in the query only", method: "POST", target: path + "?csrf_token=" + a.CSRF, as: a, header: []string{"Content-Type", form}, want: csrfRejected, after: sessionKept},
			hostileReq{name: "wrong X-CSRF-Token header", method: "POST", target: path, as: a, header: []string{"X-CSRF-Token", strings.Repeat("x", 43)}, want: csrfRejected, after: sessionKept},
			hostileReq{name: "no CSRF token, anonymous", method: "POST", target: path, header: []string{"Content-Type", form}, want: csrfRejected, after: sessionKept},
			hostileReq{name: "oversized form", method: "POST", target: path, as: a, header: []string{"Content-Type", form}, body: "csrf_token=" + a.CSRF + "&x=" + mb, want: statusIn(403, 413), after: sessionKept},
		)
	}
	reqs = append(reqs,
		hostileReq{name: "login without CSRF token", method: "POST", target: "/admin/login", header: []string{"Content-Type", form}, body: "password=" + testPassword, want: csrfRejected},
		hostileReq{name: "login with another browser's CSRF token", method: "POST", target: "/admin/login", header: []string{"Content-Type", form, "Cookie", "vitrine_login=" + payload(2)}, body: "password=" + testPassword + "&csrf_token=" + a.CSRF, want: csrfRejected},
		hostileReq{name: "login form as JSON", method: "POST", target: "/admin/login", header: []string{"Content-Type", "application/json"}, body: `{"password":"demo","csrf_token":"x"}`, want: csrfRejected},
		hostileReq{name: "login, garbage multipart", method: "POST", target: "/admin/login", header: []string{"Content-Type", "multipart/form-data; boundary=zz"}, body: "--zz\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n" + payload(1), want: csrfRejected},
		hostileReq{name: "login, 1 MB password", method: "POST", target: "/admin/login", header: []string{"Content-Type", form}, body: "password=" + mb, want: statusIn(403, 413)},
	)

	// Cookies: garbage, oversized, forged, duplicated session ids.
	garbageCookies := []string{
		"vitrine_session=" + payload(0),
		"vitrine_session=" + strings.Repeat("A", 4096),
		"vitrine_session=" + strings.Repeat("B", 64<<10),
		"vitrine_session=" + strings.Repeat("C", 43), // the shape of a real id
		"vitrine_session=; vitrine_session=" + payload(1),
		"vitrine_session=\x7f\x01; vitrine_login=\xff\xfe",
		"vitrine_session=%00%2e%2e%2f",
		strings.Repeat("c=1; ", 2000),
		`vitrine_session="quoted"; vitrine_login="` + payload(5) + `"`,
	}
	for i, c := range garbageCookies {
		reqs = append(reqs,
			hostileReq{name: fmt.Sprintf("garbage cookie %d on the dashboard", i), target: "/admin", header: []string{"Cookie", c}, want: statusIn(302, 400)},
			hostileReq{name: fmt.Sprintf("garbage cookie %d on a POST", i), method: "POST", target: []string{sync, disconnect, logout}[i%3], header: []string{"Cookie", c, "Content-Type", form}, body: "csrf_token=" + a.CSRF, want: statusIn(403, 400), after: sessionKept},
		)
	}
	reqs = append(reqs,
		hostileReq{name: "garbage session, status.json", target: "/admin/status.json", header: []string{"Cookie", "vitrine_session=" + strings.Repeat("D", 43)}, want: statusIn(401)},
		hostileReq{name: "garbage session on the callback", target: "/admin/callback?state=x&code=y", header: []string{"Cookie", "vitrine_session=" + payload(4)}, want: statusIn(400)},
	)

	// Traversal out of /media and /admin/static.
	for _, p := range []string{
		"/media/../../etc/passwd", "/media/%2e%2e/%2e%2e/etc/passwd", "/media/..%2f..%2fsecret.key/320.jpg",
		"/media/%2e%2e%2fsecret.key/320.jpg", "/media/" + postID + "/..%2f..%2f..%2fvitrine.db",
		"/media/" + postID + "/..%2F..%2Fsecret.key", "/media//etc/passwd", "/media/%2fetc%2fpasswd/320.jpg",
		"/media/" + postID + "/320.jpg%00", "/media/" + postID + "/%00.jpg", "/media/" + postID + "/320%00.jpg",
		`/media/` + postID + `/..\..\secret.key`, `/media/..\..\secret.key/320.jpg`, "/media/%5c..%5c..%5csecret.key/320.jpg",
		"/media/avatar/../../secret.key", "/media/avatar/..%2f..%2fsecret.key", "/media/" + postID + "/0320.jpg",
		"/media/" + postID + "/99999999999999999999.jpg", "/media/" + postID + "/-1.jpg", "/media/" + postID + "/320.jpg/x",
		"/media/" + postID + "/320.JPG", "/media/" + strings.Repeat("9", 5000) + "/320.jpg",
		"/media/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/media/file:%2f%2f%2fetc%2fpasswd/320.jpg",
		"/media/%2e/320.jpg", "/media/./320.jpg", "/media/" + postID + "/%2e%2e", "/media/" + postID + "/..",
		"/admin/static/../../secret.key", "/admin/static/%2e%2e/%2e%2e/go.mod", "/admin/static//etc/passwd",
		"/admin/static/..%2f..%2fgo.mod", "/admin/static/%00", "/" + strings.Repeat("../", 40) + "etc/passwd",
	} {
		reqs = append(reqs, hostileReq{name: "traversal", target: p, want: func(s int) bool { return s != 200 && s < 500 }})
	}
	reqs = append(reqs, hostileReq{name: "raw NUL in the path", target: "/media/" + postID + "/\x00.jpg", want: statusIn(400, 404)})

	// Headers.
	for i, hd := range [][]string{
		{"Host", "evil.example"}, {"Host", "127.0.0.1:1"}, {"X-Forwarded-Host", "evil.example"},
		{"X-Forwarded-Proto", payload(0)}, {"X-Forwarded-For", payload(1)}, {"X-Real-IP", "10.0.0.1, " + payload(2)},
		{"Referer", "https://evil.example/" + url.PathEscape(payload(3))}, {"User-Agent", payload(4)},
		{"Accept-Encoding", "gzip;q=0., *;q=, ;;;, gzip;q=0.0000001, br;q=1e309"}, {"Accept-Encoding", strings.Repeat("gzip;q=0,", 5000)},
		{"If-None-Match", strings.Repeat(`W/"x", `, 5000)}, {"If-None-Match", `*`}, {"If-None-Match", `"` + payload(5) + `"`},
		{"Range", "bytes=99999999999999999999-"}, {"Range", "bytes=-0"}, {"Range", "bytes=" + strings.Repeat("0-0,", 2000) + "1-1"},
		{"Origin", payload(6)}, {"Accept", "application/json, " + payload(7)},
		{"Content-Length", "-1"}, {"Transfer-Encoding", "chunked"},
	} {
		for _, p := range []string{"/widget.js", "/media/" + postID + "/320.jpg", "/admin/login", "/"} {
			r := hostileReq{name: "header " + hd[0], target: p, header: hd, want: func(s int) bool {
				return s < 500
			}}
			if hd[0] == "Transfer-Encoding" {
				r.method, r.body = "POST", "zz\r\n"
			}
			if i%2 == 1 {
				r.as = a
			}
			reqs = append(reqs, r)
		}
	}

	h.run(t, reqs)
	t.Logf("%d hostile requests against a connected Vitrine", len(reqs))

	// Nothing the requests did changed the connection or signed anyone out.
	sessionKept(t)
	if n, _ := v.Store.PostCount(ctx); n < 4 {
		t.Errorf("%d posts cached after the hostile requests", n)
	}
	t.Run("garbage from Instagram", func(t *testing.T) { h.garbageFromInstagram(t, a) })
	h.checkLogs(t)
	h.mu.Lock()
	issued := len(h.tokens)
	h.mu.Unlock()
	if issued < 4 || h.escaped.Load() == 0 {
		t.Errorf("the checks had little to check: %d tokens issued, %d answers with escaped hostile input", issued, h.escaped.Load())
	}
}

// TestHostileMediaURLOffTheCDN: Instagram's answer (or whoever answers in
// its name) gives a post a media_url on a host that is no media host, here
// another loopback server standing in for an internal service. Vitrine
// never connects to it, stays up, and still serves the other posts.
func TestHostileMediaURLOffTheCDN(t *testing.T) {
	t.Parallel()
	var img bytes.Buffer
	if err := jpeg.Encode(&img, image.NewGray(image.Rect(0, 0, 320, 320)), nil); err != nil {
		t.Fatal(err)
	}
	var conns, requests atomic.Int64
	internal := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(img.Bytes())
	}))
	internal.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	internal.Start()
	defer internal.Close()
	internalHost := strings.TrimPrefix(internal.URL, "http://")

	h := &hostileApp{}
	h.v = testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(-1), testvitrine.RealTime(), testvitrine.WrapFake(h.wrap))
	now := time.Now()
	var ids []string
	for i := range 3 {
		ids = append(ids, h.v.Fake.AddPost(fake.Post{Caption: fmt.Sprintf("Post %d", i), Width: 320, Height: 320,
			Timestamp: now.Add(-time.Duration(i+1) * time.Hour)}))
	}
	const signature = "oh=00_AfInternalSignature"
	h.offCDN.Store(&offCDNMedia{postID: ids[1], url: internal.URL + "/latest/meta-data/role.jpg?" + signature + "&oe=1"})
	h.v.ConnectAndSync(firstSyncPatience)

	if c, r := conns.Load(), requests.Load(); c != 0 || r != 0 {
		t.Errorf("the internal server saw %d connections and %d requests, want none", c, r)
	}
	var served []string
	deadline := time.Now().Add(firstSyncPatience)
	for {
		served = served[:0]
		for _, p := range outageWidget(t, h.v).Posts {
			served = append(served, p.ID)
		}
		if len(served) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if want := []string{ids[0], ids[2]}; !slices.Equal(served, want) {
		t.Errorf("/widget.json serves %v, want the posts with CDN images, %v", served, want)
	}
	if resp, _ := h.v.Get("/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d", resp.StatusCode)
	}
	logs := h.v.Logs.String()
	if !strings.Contains(logs, "host "+internalHost+" is not one of the media hosts") {
		t.Errorf("the log does not say which host was refused:\n%s", logs)
	}
	if strings.Contains(logs, signature) {
		t.Errorf("the log carries the media URL's signature:\n%s", logs)
	}
}

// garbageFromInstagram connects and syncs while the fake answers with
// broken, mistyped, oversized or secret-echoing bodies.
func (h *hostileApp) garbageFromInstagram(t *testing.T, a *testkit.Browser) {
	jsonBody := func(s string) func(*http.Request, int, []byte) (int, string, []byte) {
		return func(*http.Request, int, []byte) (int, string, []byte) { return 200, "application/json", []byte(s) }
	}
	// Modes that leave the token endpoints' answers alone.
	syncOnly := map[string]bool{"duplicate ids": true}
	modes := []struct {
		name string
		fn   func(r *http.Request, status int, body []byte) (int, string, []byte)
	}{
		{"truncated JSON", func(_ *http.Request, s int, b []byte) (int, string, []byte) {
			return s, "application/json", b[:len(b)/2]
		}},
		{"invalid JSON", jsonBody(`{"access_token": IGAA, "data": [`)},
		{"HTML with 200", func(*http.Request, int, []byte) (int, string, []byte) {
			return 200, "text/html", []byte("<html><body>Sorry <vtx-g1>" + payload(0) + "</body></html>")
		}},
		{"empty body", jsonBody(``)},
		{"null", jsonBody(`null`)},
		{"wrong types", jsonBody(`{"access_token":42,"user_id":{"a":1},"permissions":7,"expires_in":"soon","username":["x"],` +
			`"data":"nope","paging":3,"id":{"x":1}}`)},
		{"wrong types in posts", jsonBody(`{"data":[{"id":{"x":1},"caption":["a"],"timestamp":42,"media_type":null,"children":"x"},` +
			`{"id":"../../../tmp/x","media_type":"IMAGE","media_url":"file:///etc/passwd","permalink":"javascript:alert(1)",` +
			`"caption":"` + strings.ReplaceAll(payload(3), `"`, `\"`) + `","timestamp":"yesterday"}]}`)},
		{"duplicate ids", func(_ *http.Request, s int, b []byte) (int, string, []byte) {
			var doc map[string]any
			if json.Unmarshal(b, &doc) == nil {
				if data, ok := doc["data"].([]any); ok && len(data) > 0 {
					doc["data"] = append(data, data...)
					delete(doc, "paging")
					b, _ = json.Marshal(doc)
				}
			}
			return s, "application/json", b
		}},
		{"trailing garbage", func(_ *http.Request, s int, b []byte) (int, string, []byte) {
			return s, "application/json", append(append([]byte{}, b...), b...)
		}},
		{"huge body", func(*http.Request, int, []byte) (int, string, []byte) {
			return 200, "application/json", []byte(`{"data":[],"x":"` + strings.Repeat("A", 5<<20) + `"}`)
		}},
		{"deep nesting", jsonBody(strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000))},
		{"error echoing the request", func(r *http.Request, _ int, _ []byte) (int, string, []byte) {
			msg := "Invalid request " + r.URL.String() + " token " + r.URL.Query().Get("access_token") +
				" secret " + r.URL.Query().Get("client_secret") + " " + payload(6)
			if r.Method == http.MethodPost {
				r.ParseForm()
				msg += " code " + r.PostForm.Get("code") + " secret " + r.PostForm.Get("client_secret")
			}
			b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "OAuthException", "code": 100},
				"error_message": msg, "error_type": "OAuthException", "code": 400})
			return 400, "application/json", b
		}},
		{"error echoing as text", func(r *http.Request, _ int, _ []byte) (int, string, []byte) {
			return 500, "text/html", []byte("<h1>" + r.URL.String() + "</h1>" + payload(7))
		}},
	}
	steps := []struct{ name, path string }{
		{"code exchange", "/oauth/access_token"}, {"long-lived exchange", "/access_token"}, {"profile", "/me"},
	}
	tokenBefore := h.token(t)
	var n int
	for _, m := range modes {
		for _, st := range steps {
			if syncOnly[m.name] {
				break
			}
			h.garbage.Store(&garbageMode{name: m.name, paths: []string{st.path}, fn: m.fn})
			what := "connect, " + st.name + ": " + m.name
			cb, res := h.connectThrough(t, a)
			n += 2
			h.check(t, what+" (callback)", cb, true)
			h.check(t, what+" (result)", res, true)
			if got := h.token(t); got != tokenBefore {
				t.Errorf("%s: a token was stored (result %d)", what, res.status)
				tokenBefore = got
			}
		}
		h.garbage.Store(&garbageMode{name: m.name, paths: []string{"*/media", "*/children", "*.jpg"}, fn: m.fn})
		r, _ := h.send(t, hostileReq{name: "sync", as: a}, "/admin/status.json")
		h.check(t, "status before sync", r, false)
		sync, _ := h.send(t, hostileReq{name: "sync now", method: "POST", as: a,
			header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: "csrf_token=" + a.CSRF}, "/admin/sync")
		n++
		t.Logf("%s: sync now = %d", m.name, sync.status)
		h.check(t, "sync now: "+m.name, sync, true)
		if sync.status != http.StatusSeeOther {
			t.Errorf("sync now with %s: %d, want 303 (started)", m.name, sync.status)
		}
		// The sync runs in the background: let it meet the garbage.
		waitJobIdle(t, h.v, jobs.JobSync)
		for _, p := range []string{"/widget", "/widget.js", "/widget.json", "/admin"} {
			r, _ := h.send(t, hostileReq{name: p, as: a}, p)
			n++
			h.check(t, m.name+": "+p, r, false)
			if r.status != http.StatusOK {
				t.Errorf("%s: %s = %d", m.name, p, r.status)
			}
		}
	}
	h.garbage.Store(nil)
	// Instagram behaves again: a sync now works and the gallery is fresh.
	sync, _ := h.send(t, hostileReq{name: "sync now", method: "POST", as: a,
		header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: "csrf_token=" + a.CSRF}, "/admin/sync")
	if sync.status != http.StatusSeeOther {
		t.Errorf("sync now after the garbage = %d:\n%.1000s", sync.status, sync.body)
	}
	waitJobIdle(t, h.v, jobs.JobSync)
	if _, body := h.v.Get("/widget.json"); !bytes.Contains(body, []byte(`"stale":false`)) {
		t.Errorf("still stale after a good sync: %.300s", body)
	}
	t.Logf("%d requests while Instagram served garbage", n)
}

// checkLogs: no token, code or client secret in any log line.
func (h *hostileApp) checkLogs(t *testing.T) {
	t.Helper()
	logs := h.v.Logs.String()
	for _, s := range h.secrets() {
		if s != "" && strings.Contains(logs, s) {
			i := strings.Index(logs, s)
			t.Errorf("a secret (%.8s…) is in the log: …%s…", s, logs[max(i-200, 0):min(i+40, len(logs))])
		}
	}
}

// TestHostileDemo attacks what -demo adds: the fake Instagram mounted under
// /_fake/instagram, the sample site, the outbox and the demo switches.
func TestHostileDemo(t *testing.T) {
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(-1), testvitrine.RealTime())
	v.ConnectAndSync(firstSyncPatience)
	h := &hostileApp{v: v}
	a := v.SignedIn()
	tok := h.token(t)
	f := "/_fake/instagram"
	client := url.QueryEscape(v.Fake.ClientID())
	redirect := url.QueryEscape(v.Config.RedirectURI())
	var reqs []hostileReq
	for i, p := range []string{
		f + "/oauth/authorize?client_id=" + url.QueryEscape(payload(0)) + "&redirect_uri=" + url.QueryEscape(payload(1)) + "&state=" + url.QueryEscape(payload(2)),
		f + "/oauth/authorize?client_id=" + client + "&redirect_uri=" + redirect + "&response_type=code&scope=" + url.QueryEscape(payload(3)),
		f + "/oauth/authorize?client_id=" + client + "&redirect_uri=" + redirect + "&response_type=" + url.QueryEscape(payload(4)) + "&scope=instagram_business_basic",
		f + "/oauth/authorize?client_id=" + client + "&redirect_uri=" + redirect + "&response_type=code&scope=instagram_business_basic&state=" + url.QueryEscape(payload(5)),
		f + "/oauth/authorize?client_id=" + client + "&redirect_uri=" + redirect + "&response_type=code&scope=instagram_business_basic&state=" + big(1_000_000-400),
		f + "/oauth/access_token?code=" + url.QueryEscape(payload(6)),
		f + "/v24.0/me?access_token=" + url.QueryEscape(payload(7)),
		f + "/v24.0/me?fields=" + url.QueryEscape("{{{"+payload(8)) + "&access_token=x",
		f + "/v24.0/me/media?after=" + url.QueryEscape(payload(9)) + "&limit=99999999999999999999999&access_token=x",
		f + "/v24.0/" + url.PathEscape(payload(10)) + "/children?access_token=x",
		f + "/access_token?grant_type=ig_exchange_token&client_secret=" + url.QueryEscape(payload(11)) + "&access_token=" + url.QueryEscape(payload(0)),
		f + "/refresh_access_token?grant_type=ig_refresh_token&access_token=" + url.QueryEscape(payload(1)),
		f + "/cdn/" + url.PathEscape(payload(2)) + ".jpg?oh=" + url.QueryEscape(payload(3)) + "&oe=zz",
		f + "/cdn/../../../etc/passwd", f + "/%2e%2e/%2e%2e/admin", f + "/../../admin/status.json", f,
		f + "/v24.0/me/media?access_token=" + strings.Repeat("IGAA", 250_000),
		"/demo?x=" + url.QueryEscape(payload(4)), "/demo/outbox?x=" + url.QueryEscape(payload(5)),
		"/demo/" + url.PathEscape(payload(6)), "/demo/outbox/..%2f..%2fadmin",
	} {
		reqs = append(reqs,
			hostileReq{name: "demo, anonymous", target: p, mayDrop: i == 4},
			hostileReq{name: "demo, bad method", method: []string{"PUT", "DELETE", "PATCH", "OPTIONS"}[i%4], target: p, as: a, mayDrop: i == 4},
		)
	}
	form := "application/x-www-form-urlencoded"
	reqs = append(reqs,
		hostileReq{name: "authorize POST, markup state", method: "POST", target: f + "/oauth/authorize", header: []string{"Content-Type", form},
			body: "client_id=" + client + "&redirect_uri=" + redirect + "&response_type=code&scope=instagram_business_basic&decision=" +
				url.QueryEscape(payload(7)) + "&state=" + url.QueryEscape(payload(8))},
		hostileReq{name: "authorize POST, 2 MB", method: "POST", target: f + "/oauth/authorize", header: []string{"Content-Type", form}, body: "x=" + big(2<<20), mayDrop: true},
		hostileReq{name: "code exchange, garbage form", method: "POST", target: f + "/oauth/access_token", header: []string{"Content-Type", "multipart/form-data; boundary=x"}, body: "--x\r\n" + payload(9)},
		hostileReq{name: "code exchange, 2 MB", method: "POST", target: f + "/oauth/access_token", header: []string{"Content-Type", form}, body: "code=" + big(2<<20), mayDrop: true},
		hostileReq{name: "demo action, anonymous", method: "POST", target: "/admin/demo/post", header: []string{"Content-Type", form}, want: statusIn(403)},
		hostileReq{name: "demo action, no CSRF", method: "POST", target: "/admin/demo/revoke", as: a, header: []string{"Content-Type", form}, want: statusIn(403)},
		hostileReq{name: "demo action, wrong CSRF", method: "POST", target: "/admin/demo/expire", as: a, header: []string{"Content-Type", form}, body: "csrf_token=" + url.QueryEscape(payload(10)), want: statusIn(403)},
		hostileReq{name: "demo action, unknown", method: "POST", target: "/admin/demo/" + url.PathEscape(payload(11)), as: a, header: []string{"Content-Type", form}, body: "csrf_token=" + a.CSRF, want: statusIn(404)},
		hostileReq{name: "demo action, traversal", method: "POST", target: "/admin/demo/..%2fsync", as: a, header: []string{"Content-Type", form}, body: "csrf_token=" + a.CSRF, want: statusIn(404)},
		hostileReq{name: "demo action, 1 MB name", method: "POST", target: "/admin/demo/" + big(1_000_000-30), as: a, header: []string{"Content-Type", form}, body: "csrf_token=" + a.CSRF, want: statusIn(404)},
		hostileReq{name: "demo action, GET", target: "/admin/demo/revoke", as: a, want: statusIn(404, 405)},
	)
	h.run(t, reqs)
	t.Logf("%d hostile requests against -demo", len(reqs))
	if got := h.token(t); got != tok {
		t.Error("the stored token changed")
	}
	if st, err := v.Store.Token(context.Background()); err != nil || st.Status != store.StatusValid {
		t.Errorf("token %s after the hostile requests (a demo switch ran?)", st.Status)
	}
	h.checkLogs(t)
	if h.escaped.Load() == 0 {
		t.Error("no answer showed the hostile input, escaped: the reflection checks checked nothing")
	}
}

func big(n int) string { return strings.Repeat("A", n) }

// TestHostileDecompressionBomb: Instagram's CDN serves, as one post's
// picture, a 2 MB PNG of 6300×6300 16-bit pixels that takes over 300 MB
// to decode. The sync refuses it from its header and mirrors the other
// posts, the server keeps answering, and the heap, sampled every 2 ms
// through the sync, never grows by 120 MiB (the other posts' pictures take
// about 60 MiB; decoding the bomb took 550 MiB more).
func TestHostileDecompressionBomb(t *testing.T) {
	bomb := testkit.BlankPNG(6300, 6300, testkit.PNGRGBA, 16, nil)
	var hostile atomic.Value // the id of the post whose picture is the bomb
	hostile.Store("")
	var served atomic.Int32
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(3), testvitrine.RealTime(), testvitrine.WrapFake(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id := hostile.Load().(string); id != "" && strings.HasSuffix(r.URL.Path, "/"+id+"_n.jpg") {
				served.Add(1)
				w.Header().Set("Content-Type", "image/jpeg") // as for every picture: the bytes say PNG
				w.Write(bomb)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	id := v.Fake.AddPost(fake.Post{MediaType: fake.MediaImage, Caption: "a bomb"})
	hostile.Store(id)

	// Garbage is collected early, so that the heap is mostly what is live.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	v.ConnectAndSync(firstSyncPatience)
	close(stop)
	<-stopped

	if served.Load() == 0 {
		t.Fatal("the bomb was never downloaded")
	}
	growth := peak - base
	t.Logf("the heap grew by at most %d MiB during the sync", growth>>20)
	if growth >= 120<<20 {
		t.Errorf("the heap grew by %d MiB during the sync", growth>>20)
	}
	resp, body := v.Get("/widget.json")
	var doc widgetDoc
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("/widget.json = %d:\n%.300s", resp.StatusCode, body)
	}
	listed := map[string]bool{}
	for _, p := range doc.Posts {
		listed[p.ID] = len(p.Images) > 0
	}
	for _, p := range v.Fake.Posts() {
		if want := p.ID != id && !p.NoMediaURL; listed[p.ID] != want {
			t.Errorf("post %s (%s, the bomb: %v) listed with its picture: %v, want %v", p.ID, p.MediaType, p.ID == id, listed[p.ID], want)
		}
	}
	if !strings.Contains(v.Logs.String(), "image 6300×6300 16-bit PNG is too large to decode") {
		t.Errorf("the refusal is not logged:\n%s", v.Logs.String())
	}
}
