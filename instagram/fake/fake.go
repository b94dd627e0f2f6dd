// Package fake is a faithful stand-in for today's Instagram API with
// Instagram Login, served as an http.Handler: the OAuth authorize page, the
// token endpoints, the Graph API (/me, /me/media, /{id}, /{id}/children), a
// signed-URL CDN with generated images, fault switches and a controllable
// clock. Every path of the real hosts (www.instagram.com, api.instagram.com,
// graph.instagram.com, scontent.cdninstagram.com) lives on one host here.
//
// Tests mount it with httptest.NewServer; `vitrine -demo` mounts it in-process
// under /_fake/instagram. Nothing but tests and the demo wiring may import it.
package fake

import (
	crand "crypto/rand"
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Defaults for Options fields left empty.
const (
	DefaultClientID     = "1234567890123456"
	DefaultClientSecret = "fake-client-secret"
	DefaultAppName      = "Vitrine"
	DefaultPosts        = 30
	DefaultSignedURLTTL = 72 * time.Hour
)

// Options configure a Fake. The zero value is usable, but no redirect URI
// is registered, so every authorization is refused until one is.
type Options struct {
	ClientID     string   // Instagram app id; default DefaultClientID
	ClientSecret string   // default DefaultClientSecret
	RedirectURIs []string // registered redirect URIs, matched byte for byte
	// Prefix is the path where the handler is mounted ("/_fake/instagram");
	// the handler strips it itself and puts it back into absolute URLs.
	Prefix string
	// BaseURL ("scheme://host") of absolute URLs the fake returns (CDN
	// media, paging.next). Empty: derived per request from r.Host and
	// X-Forwarded-Proto / r.TLS.
	BaseURL      string
	Clock        *Clock        // nil: NewClock(time.Now())
	Posts        int           // posts of the default account; 0: 30; negative: none
	SignedURLTTL time.Duration // CDN URL lifetime; 0: 72h
	AppName      string        // shown on the authorize page; default "Vitrine"
	// UserID overrides the default account's user_id (17841405793187218).
	// That id is even and below 2^54, so float64 happens to hold it
	// exactly; an odd one such as "17841405793187219" is not, and makes a
	// client that decodes user_id as float64 fail.
	UserID string
}

// Endpoints are the URLs a client is configured with.
type Endpoints struct {
	AuthURL  string // base+prefix+"/oauth/authorize"
	TokenURL string // base+prefix+"/oauth/access_token"
	GraphURL string // base+prefix; the client appends "/v24.0/me" etc.
	// MediaHost is the host:port of the fake's CDN URLs, for the client's
	// media hosts: listed exactly, it may be on loopback and plain http.
	MediaHost string
}

// Fake is a fake Instagram. All methods are safe for concurrent use.
type Fake struct {
	clientID     string
	clientSecret string
	appName      string
	prefix       string
	baseURL      string
	clock        *Clock
	signedTTL    time.Duration
	cdnKey       []byte

	mu           sync.Mutex
	redirectURIs map[string]bool
	codes        map[string]*authCode
	tokens       map[string]*token
	wrapped      bool
	account      Account
	posts        []*Post          // top-level, newest first
	byID         map[string]*Post // top-level posts and carousel children
	rng          *rand.Rand       // deterministic ids and shortcodes
	calls        int64
	callsByPath  map[string]int64
	faults       faults

	assetsMu sync.Mutex
	assets   map[string]*asset // CDN path (without prefix) -> generated file
	webp     bool              // ServeWebP

	inflight atomic.Int64 // API requests being handled; lets tests see early returns
}

// New returns a fake Instagram with a default account and its posts.
func New(opts Options) *Fake {
	f := &Fake{
		clientID:     opts.ClientID,
		clientSecret: opts.ClientSecret,
		appName:      opts.AppName,
		prefix:       normalizePrefix(opts.Prefix),
		baseURL:      strings.TrimRight(opts.BaseURL, "/"),
		clock:        opts.Clock,
		signedTTL:    opts.SignedURLTTL,
		redirectURIs: map[string]bool{},
		codes:        map[string]*authCode{},
		tokens:       map[string]*token{},
		byID:         map[string]*Post{},
		callsByPath:  map[string]int64{},
		assets:       map[string]*asset{},
		cdnKey:       make([]byte, 32),
		// A fixed seed keeps ids, captions and images identical run to run.
		rng: rand.New(rand.NewPCG(0x766974726e, 0x696e65)),
	}
	crand.Read(f.cdnKey)
	if f.clientID == "" {
		f.clientID = DefaultClientID
	}
	if f.clientSecret == "" {
		f.clientSecret = DefaultClientSecret
	}
	if f.appName == "" {
		f.appName = DefaultAppName
	}
	if f.clock == nil {
		f.clock = NewClock(time.Now())
	}
	if f.signedTTL <= 0 {
		f.signedTTL = DefaultSignedURLTTL
	}
	for _, u := range opts.RedirectURIs {
		f.redirectURIs[u] = true
	}
	n := opts.Posts
	if n == 0 {
		n = DefaultPosts
	}
	f.account = defaultAccount()
	if opts.UserID != "" {
		f.account.UserID = opts.UserID
	}
	f.registerAsset(profilePicturePath(f.account.UserID), &asset{kind: assetJPEG, w: 320, h: 320, seed: seedOf(f.account.UserID)})
	f.seedPosts(n, f.clock.Now())
	return f
}

func normalizePrefix(p string) string {
	p = strings.TrimRight(p, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// Clock returns the clock the fake reads; advance it to expire tokens,
// codes and CDN URLs.
func (f *Fake) Clock() *Clock { return f.clock }

// ClientID returns the Instagram app id the fake accepts.
func (f *Fake) ClientID() string { return f.clientID }

// ClientSecret returns the app secret the fake accepts.
func (f *Fake) ClientSecret() string { return f.clientSecret }

// RegisterRedirectURI adds uri to the app's valid OAuth redirect URIs.
func (f *Fake) RegisterRedirectURI(uri string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redirectURIs[uri] = true
}

// Endpoints returns the URLs to configure a client with, for the fake
// reachable at base ("http://127.0.0.1:1234", no trailing slash).
func (f *Fake) Endpoints(base string) Endpoints {
	root := strings.TrimRight(base, "/") + f.prefix
	cdnBase := base
	if f.baseURL != "" {
		cdnBase = f.baseURL
	}
	return Endpoints{
		AuthURL:   root + "/oauth/authorize",
		TokenURL:  root + "/oauth/access_token",
		GraphURL:  root,
		MediaHost: hostPort(cdnBase),
	}
}

// hostPort is base's host:port, with the scheme's port when base has none.
func hostPort(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Calls returns how many API requests (token endpoints, graph and CDN; not
// the authorize page) the fake has received, faulted ones included.
func (f *Fake) Calls() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// CallsTo returns how many API requests had a path ending in pathSuffix,
// with the mount prefix and any /vNN.N version segment removed and the
// account's own id written as "me": CallsTo("/me/media") (paging.next's
// /{user-id}/media included), CallsTo("/refresh_access_token"),
// CallsTo(".jpg").
func (f *Fake) CallsTo(pathSuffix string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for p, c := range f.callsByPath {
		if strings.HasSuffix(p, pathSuffix) {
			n += c
		}
	}
	return n
}

// StatsPath is where the fake reports its call counters as JSON (Stats),
// under the mount prefix: /_fake/instagram/_stats in -demo. It is not part
// of Instagram, so it is neither counted nor faulted; bench/run.sh reads it
// to show that visitors cause no call to Instagram.
const StatsPath = "/_stats"

// Stats is what StatsPath answers: Calls and CallsTo's counters.
type Stats struct {
	Calls       int64            `json:"calls"`
	CallsByPath map[string]int64 `json:"calls_by_path"`
}

// Stats returns a copy of the call counters.
func (f *Fake) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Stats{Calls: f.calls, CallsByPath: make(map[string]int64, len(f.callsByPath))}
	for p, n := range f.callsByPath {
		s.CallsByPath[p] = n
	}
	return s
}

func (f *Fake) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := json.Marshal(f.Stats())
	if err != nil {
		http.Error(w, "marshal: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}

// ServeHTTP routes a request to the part of Instagram that owns its path.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := f.stripPrefix(r.URL.Path)
	if ok && (p == "/oauth/authorize" || p == "/oauth/authorize/") {
		// The browser-facing page is neither counted nor faulted: it stands
		// for www.instagram.com, not the API.
		f.serveAuthorize(w, r)
		return
	}
	if ok && p == StatsPath {
		f.serveStats(w, r)
		return
	}
	f.inflight.Add(1)
	defer f.inflight.Add(-1)
	f.count(stripVersion(p))
	if !f.applyFaults(w, r) {
		return
	}
	switch {
	case !ok:
		writeGraphError(w, http.StatusNotFound, graphError{Message: "Unknown path components: " + r.URL.Path, Code: 2500})
	case strings.HasPrefix(p, "/cdn/"):
		f.serveCDN(w, r, p)
	case p == "/oauth/access_token":
		f.serveCodeExchange(w, r)
	default:
		f.serveGraph(w, r, p)
	}
}

func (f *Fake) stripPrefix(p string) (string, bool) {
	if f.prefix == "" {
		return p, true
	}
	if p == f.prefix {
		return "/", true
	}
	if rest, ok := strings.CutPrefix(p, f.prefix+"/"); ok {
		return "/" + rest, true
	}
	return p, false
}

func (f *Fake) count(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// paging.next names the account by id; count it as the /me it is, so
	// CallsTo("/me/media") sees every page however the client walks them.
	for _, id := range []string{f.account.UserID, f.account.ID} {
		if rest, ok := strings.CutPrefix(p, "/"+id); ok && (rest == "" || rest[0] == '/') {
			p = "/me" + rest
		}
	}
	f.calls++
	f.callsByPath[p]++
}

// base returns "scheme://host" for absolute URLs in responses.
func (f *Fake) base(r *http.Request) string {
	if f.baseURL != "" {
		return f.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	if proto = strings.ToLower(strings.TrimSpace(proto)); proto == "http" || proto == "https" {
		scheme = proto
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	return scheme + "://" + host
}

// writeJSON writes v the way Meta's servers do: non-ASCII as \u escapes
// (emoji as surrogate pairs) and "/" as "\/". Clients must decode JSON, not
// match bytes.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own values are marshalled; this cannot happen.
		http.Error(w, "marshal: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
	w.WriteHeader(status)
	w.Write(metaEscape(b))
}

func metaEscape(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	const hex = "0123456789abcdef"
	u4 := func(r rune) {
		out = append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			if c == '/' {
				out = append(out, '\\', '/')
			} else {
				out = append(out, c)
			}
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			u4(hi)
			u4(lo)
		} else {
			u4(r)
		}
	}
	return out
}

// randAlnum returns n random characters from [0-9A-Za-z], the alphabet of
// Instagram tokens and trace ids.
func randAlnum(n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		crand.Read(buf)
		for _, c := range buf {
			// Rejection sampling keeps the distribution uniform.
			if c < 248 && len(out) < n {
				out = append(out, alphabet[c%62])
			}
		}
	}
	return string(out)
}
