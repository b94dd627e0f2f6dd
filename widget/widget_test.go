package widget

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"vitrine/config"
	"vitrine/store"
	"vitrine/templates"
)

// endpoint is one public gallery URL and what it must say about itself.
type endpoint struct {
	path, contentType string
	cors              bool
}

var endpoints = []endpoint{
	{"/widget", "text/html; charset=utf-8", false},
	{"/widget?fragment=1", "text/html; charset=utf-8", false},
	{"/widget.js", "text/javascript; charset=utf-8", true},
	{"/widget.json", "application/json; charset=utf-8", true},
}

var strongETag = regexp.MustCompile(`^"[0-9a-f]{24}(-gz)?"$`)

func TestEndpointsHeadersAndEncodings(t *testing.T) {
	e := newEnv(t, withSeed(8))
	for _, ep := range endpoints {
		t.Run(ep.path, func(t *testing.T) {
			plain := e.get(ep.path)
			gz := e.get(ep.path, "Accept-Encoding", "br, gzip;q=0.8")
			for _, r := range []response{plain, gz} {
				if r.StatusCode != http.StatusOK {
					t.Fatalf("status %d", r.StatusCode)
				}
				h := r.Header
				want := map[string]string{
					"Content-Type":                 ep.contentType,
					"Cache-Control":                "public, max-age=30, stale-while-revalidate=30, stale-if-error=86400",
					"Vary":                         "Accept-Encoding",
					"Cross-Origin-Resource-Policy": "cross-origin",
					"X-Content-Type-Options":       "nosniff",
				}
				for k, v := range want {
					if got := h.Get(k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
				if got := h.Get("Access-Control-Allow-Origin"); (got == "*") != ep.cors {
					t.Errorf("Access-Control-Allow-Origin = %q on %s", got, ep.path)
				}
				if !strongETag.MatchString(h.Get("Etag")) {
					t.Errorf("ETag %q is not a strong checksum tag", h.Get("Etag"))
				}
				csp := h.Get("Content-Security-Policy")
				switch ep.path {
				case "/widget":
					mustContain(t, "CSP", csp, "default-src 'none'", "frame-ancestors *", "script-src 'sha256-",
						"img-src 'self' "+e.base+" data:;", // data: for the counts' icons, CSS masks
						"media-src 'self' "+e.base)
				case "/widget?fragment=1":
					// Fetched directly, the fragment runs no script at all.
					mustContain(t, "CSP", csp, "default-src 'none'", "frame-ancestors *", "img-src 'self' "+e.base+" data:;")
					if strings.Contains(csp, "script-src") {
						t.Errorf("the fragment's CSP allows a script: %q", csp)
					}
				default:
					if csp != "" {
						t.Errorf("CSP on %s: %q", ep.path, csp)
					}
				}
			}
			if plain.Header.Get("Content-Encoding") != "" || gz.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("encodings: plain %q, gzip %q", plain.Header.Get("Content-Encoding"), gz.Header.Get("Content-Encoding"))
			}
			if plain.text(t) != gz.text(t) {
				t.Fatal("gzip body differs from the identity body")
			}
			if len(gz.body) >= len(plain.body) || plain.Header.Get("Content-Length") != itoa(len(plain.body)) {
				t.Errorf("sizes: identity %d (Content-Length %s), gzip %d", len(plain.body), plain.Header.Get("Content-Length"), len(gz.body))
			}
			if plain.Header.Get("Etag") == gz.Header.Get("Etag") {
				t.Error("both encodings share one strong ETag")
			}

			// Either tag revalidates; a stale one does not.
			for _, tag := range []string{plain.Header.Get("Etag"), gz.Header.Get("Etag"), `"old", ` + plain.Header.Get("Etag"), "*"} {
				r := e.get(ep.path, "If-None-Match", tag, "Accept-Encoding", "gzip")
				if r.StatusCode != http.StatusNotModified || len(r.body) != 0 {
					t.Errorf("If-None-Match %s: status %d, %d bytes", tag, r.StatusCode, len(r.body))
				}
				if r.Header.Get("Etag") != gz.Header.Get("Etag") || r.Header.Get("Cache-Control") != gz.Header.Get("Cache-Control") {
					t.Errorf("304 headers: %v", r.Header)
				}
			}
			if r := e.get(ep.path, "If-None-Match", `"0123"`); r.StatusCode != http.StatusOK {
				t.Errorf("unknown ETag: status %d", r.StatusCode)
			}
			// gzip;q=0 refuses gzip.
			if r := e.get(ep.path, "Accept-Encoding", "gzip;q=0, identity"); r.Header.Get("Content-Encoding") != "" {
				t.Error("gzip sent although q=0")
			}
			head := e.do(http.MethodHead, ep.path, "Accept-Encoding", "gzip")
			if head.StatusCode != http.StatusOK || len(head.body) != 0 || head.Header.Get("Etag") != gz.Header.Get("Etag") ||
				head.Header.Get("Content-Length") != itoa(len(gz.body)) {
				t.Errorf("HEAD: status %d, %d bytes, headers %v", head.StatusCode, len(head.body), head.Header)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestCacheMaxAgeFromConfig: widget.cache_max_age bounds, fresh and stale
// together, what every gallery answer (200 and 304) may be kept for, and
// nothing sets s-maxage, under which a CDN would no longer honour
// stale-if-error.
func TestCacheMaxAgeFromConfig(t *testing.T) {
	e := newEnv(t, withSeed(2), withConfig(func(c *config.Config) { c.Widget.CacheMaxAge = config.Duration(5 * time.Second) }))
	const want = "public, max-age=3, stale-while-revalidate=2, stale-if-error=86400"
	for _, ep := range endpoints {
		r := e.get(ep.path, "Accept-Encoding", "gzip")
		if got := r.Header.Get("Cache-Control"); r.StatusCode != http.StatusOK || got != want {
			t.Errorf("%s: %d, Cache-Control %q, want %q", ep.path, r.StatusCode, got, want)
		}
		r = e.get(ep.path, "Accept-Encoding", "gzip", "If-None-Match", r.Header.Get("Etag"))
		if got := r.Header.Get("Cache-Control"); r.StatusCode != http.StatusNotModified || got != want {
			t.Errorf("%s revalidated: %d, Cache-Control %q, want %q", ep.path, r.StatusCode, got, want)
		}
	}
}

func TestCORSFromAllowedOrigins(t *testing.T) {
	e := newEnv(t, withSeed(2), withConfig(func(c *config.Config) {
		c.Widget.AllowedOrigins = []string{"https://shop.example", "https://blog.example"}
		c.Widget.FrameAncestors = []string{"self", "https://shop.example"}
	}))
	for _, path := range []string{"/widget.js", "/widget.json"} {
		r := e.get(path, "Origin", "https://blog.example")
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://blog.example" {
			t.Errorf("%s listed origin: %q", path, got)
		}
		if got := r.Header.Get("Vary"); got != "Accept-Encoding, Origin" {
			t.Errorf("%s Vary %q", path, got)
		}
		r = e.get(path, "Origin", "https://evil.example")
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("%s unlisted origin allowed: %q", path, got)
		}
	}
	// Two Origin lines name no origin, even when both name a listed one.
	req := httptest.NewRequest(http.MethodGet, JSONPath, nil)
	req.Header["Origin"] = []string{"https://blog.example", "https://blog.example"}
	rec := httptest.NewRecorder()
	e.w.serveHTTP(rec, req, kindJSON, "", "")
	if got := rec.Header().Get("Access-Control-Allow-Origin"); rec.Code != http.StatusOK || got != "" {
		t.Errorf("two Origin lines: %d, Access-Control-Allow-Origin %q", rec.Code, got)
	}
	page := e.get("/widget", "Origin", "https://blog.example")
	if got := page.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("CORS on /widget: %q", got)
	}
	mustContain(t, "CSP", page.Header.Get("Content-Security-Policy"), "frame-ancestors 'self' https://shop.example")
}

// TestSettingsCopiedAtNew: the widget keeps the settings it was given;
// the caller's config changing afterwards changes nothing, even after a
// rebuild.
func TestSettingsCopiedAtNew(t *testing.T) {
	e := newEnv(t, withSeed(1), withConfig(func(c *config.Config) {
		c.Widget.AllowedOrigins = []string{"https://shop.example"}
	}))
	e.cfg.Widget.AllowedOrigins[0] = "https://evil.example"
	e.cfg.Widget.Count = 0
	e.cfg.Server.PublicURL = "https://elsewhere.example"
	e.rebuild()
	r := e.get("/widget.json", "Origin", "https://shop.example")
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
		t.Errorf("Access-Control-Allow-Origin %q after the caller changed its config", got)
	}
	doc := decodeJSON(t, r.text(t))
	if len(doc.Posts) != 1 || !strings.HasPrefix(doc.Posts[0].Images[0].URL, e.base+"/") {
		t.Errorf("posts after the caller changed its config: %+v", doc.Posts)
	}
}

// jsonShape is the documented /widget.json schema, decoded strictly.
type jsonShape struct {
	Version int `json:"version"`
	Account *struct {
		Username   string `json:"username"`
		Name       string `json:"name"`
		AvatarURL  string `json:"avatar_url"`
		ProfileURL string `json:"profile_url"`
		Biography  string `json:"biography"`
		Followers  int    `json:"followers_count"`
	} `json:"account"`
	Posts []struct {
		ID        string           `json:"id"`
		Type      string           `json:"type"`
		Caption   string           `json:"caption"`
		Permalink string           `json:"permalink"`
		Timestamp string           `json:"timestamp"`
		Alt       string           `json:"alt"`
		Color     string           `json:"color"`
		Images    []jsonShapeImage `json:"images"`
		Video     string           `json:"video"` // omitted unless mirrored
		Children  []struct {
			ID     string           `json:"id"`
			Type   string           `json:"type"`
			Alt    string           `json:"alt"`
			Color  string           `json:"color"`
			Images []jsonShapeImage `json:"images"`
			Video  string           `json:"video"`
		} `json:"children"`
		Pinned        bool `json:"pinned"`
		LikeCount     *int `json:"like_count"`     // omitted when withheld
		CommentsCount *int `json:"comments_count"` // likewise
		Link          *struct {
			URL   string `json:"url"`
			Label string `json:"label"`
		} `json:"link"` // omitted when none
	} `json:"posts"`
	UpdatedAt string `json:"updated_at"`
	Stale     bool   `json:"stale"`
}

type jsonShapeImage struct {
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

func decodeJSON(t *testing.T, s string) jsonShape {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var doc jsonShape
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode widget.json: %v\n%s", err, s)
	}
	// Every documented key is present, even when empty.
	var raw map[string]json.RawMessage
	_ = json.Unmarshal([]byte(s), &raw)
	for _, k := range []string{"version", "account", "posts", "updated_at", "stale"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("widget.json lacks %q", k)
		}
	}
	var account map[string]json.RawMessage
	_ = json.Unmarshal(raw["account"], &account)
	for _, k := range []string{"biography", "followers_count"} {
		if _, ok := account[k]; account != nil && !ok {
			t.Errorf("widget.json's account lacks %q", k)
		}
	}
	var posts []map[string]json.RawMessage
	_ = json.Unmarshal(raw["posts"], &posts)
	for i, p := range posts {
		if _, ok := p["pinned"]; !ok {
			t.Errorf("widget.json post %d lacks \"pinned\"", i)
		}
	}
	return doc
}

func TestJSONSchema(t *testing.T) {
	e := newEnv(t, withSeed(7))
	// One more post that is synced but not mirrored yet: left out.
	posts := append(makePosts(7), store.Post{ID: "1799000000000001", MediaType: "IMAGE", Caption: "not mirrored",
		Permalink: "https://www.instagram.com/p/X/", MediaURL: "https://scontent.cdninstagram.com/v/x.jpg"})
	e.replace(posts...)
	e.rebuild()

	body := e.get("/widget.json").text(t)
	doc := decodeJSON(t, body)
	if doc.Version != 1 || doc.Stale || doc.UpdatedAt != testNow.Format(time.RFC3339) {
		t.Errorf("version %d stale %v updated_at %q", doc.Version, doc.Stale, doc.UpdatedAt)
	}
	a := doc.Account
	if a == nil || a.Username != "studio.lumen" || a.Name != "Studio Lumen" || a.ProfileURL != "https://www.instagram.com/studio.lumen/" || a.AvatarURL != "" {
		t.Errorf("account %+v", a)
	}
	if len(doc.Posts) != 7 {
		t.Fatalf("%d posts, want the 7 mirrored ones", len(doc.Posts))
	}
	mustNotContain(t, "widget.json", body, "cdninstagram", "not mirrored", "IGQ-secret")
	for i, p := range doc.Posts {
		want := posts[i]
		if p.ID != want.ID || p.Type != want.MediaType || p.Caption != want.Caption || p.Permalink != want.Permalink {
			t.Errorf("post %d: %+v", i, p)
		}
		if ts, err := time.Parse(time.RFC3339, p.Timestamp); err != nil || !ts.Equal(want.Timestamp) {
			t.Errorf("post %d timestamp %q", i, p.Timestamp)
		}
		if !regexp.MustCompile(`^#[0-9a-f]{6}$`).MatchString(p.Color) || p.Alt == "" || strings.Contains(p.Alt, "#") {
			t.Errorf("post %d color %q alt %q", i, p.Color, p.Alt)
		}
		checkImages(t, e, p.ID, p.Images)
		if p.Type == "CAROUSEL_ALBUM" {
			if len(p.Children) != 3 {
				t.Errorf("carousel %s has %d children", p.ID, len(p.Children))
			}
			for j, c := range p.Children {
				if c.ID != want.Children[j].ID || c.Type != "IMAGE" || c.Alt == "" {
					t.Errorf("child %+v", c)
				}
				checkImages(t, e, c.ID, c.Images)
			}
		} else if p.Children == nil || len(p.Children) != 0 {
			t.Errorf("post %s children %v, want []", p.ID, p.Children)
		}
	}
	if doc.Posts[0].Alt != "A sunlit desk with prints drying on a line" {
		t.Errorf("Instagram's alt text not used: %q", doc.Posts[0].Alt)
	}
	if doc.Posts[1].Alt != "Behind the scenes of our autumn shoot with @mara.lens 🍂" {
		t.Errorf("caption-derived alt %q", doc.Posts[1].Alt)
	}
}

// checkImages asserts the URLs are on our origin, ascending, and served.
func checkImages(t *testing.T, e *env, id string, ims []jsonShapeImage) {
	t.Helper()
	if len(ims) != len(widths) {
		t.Fatalf("%s: %d images", id, len(ims))
	}
	for i, im := range ims {
		if im.URL != e.base+"/media/"+id+"/"+itoa(widths[i])+".jpg" || im.Width != widths[i] || im.Height != widths[i]*5/4 {
			t.Errorf("%s image %d: %+v", id, i, im)
		}
	}
	r := e.get(strings.TrimPrefix(ims[1].URL, e.base))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", ims[1].URL, r.StatusCode)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(r.body))
	if err != nil || cfg.Width != widths[1] {
		t.Errorf("%s is not the 640 px JPEG: %v %v", ims[1].URL, cfg, err)
	}
}

func TestGalleryMarkup(t *testing.T) {
	e := newEnv(t, withSeed(14), withConfig(func(c *config.Config) { c.Widget.Captions = true }))
	page := e.get("/widget").text(t)
	frag := e.get("/widget?fragment=1").text(t)
	js := e.get("/widget.js").text(t)

	if !strings.HasPrefix(page, "<!doctype html>") || strings.Contains(frag, "<html") || !strings.HasPrefix(frag, "<style>") {
		t.Errorf("page/fragment shape wrong:\n%.200s\n%.200s", page, frag)
	}
	id := makePosts(1)[0].ID
	for what, s := range map[string]string{"page": markupOf(page), "fragment": markupOf(frag), "widget.js": jsMarkup(t, js)} {
		if n := strings.Count(s, `<li class="vitrine-item" `); n != 12 {
			t.Errorf("%s has %d posts, want widget.count=12", what, n)
		}
		mustContain(t, what, s,
			`<a class="vitrine-prof" href="https://www.instagram.com/studio.lumen/" target="_blank" rel="noopener">`,
			`<span class="vitrine-user">@studio.lumen</span>`,
			`<span class="vitrine-av vitrine-av-i" aria-hidden="true">S</span>`,
			`data-layout="grid" data-aspect="1x1" data-theme="light" lang="en"`,
			`href="https://www.instagram.com/p/C`, `rel="noopener"`,
			`srcset="`+e.base+`/media/`+id+`/240.jpg 240w, `+e.base+`/media/`+id+`/320.jpg 320w, `+e.base+`/media/`+id+`/640.jpg 640w, `+e.base+`/media/`+id+`/1080.jpg 1080w"`,
			`src="`+e.base+`/media/`+id+`/640.jpg"`,
			`width="1080" height="1350"`, `(max-width: 496px) calc((100vw - 20px) / 2), calc((100vw - 24px) / 3)"`,
			`sizes="auto, (max-width: 496px) calc((100vw - 20px) / 2), calc((100vw - 24px) / 3)"`,
			`alt="A sunlit desk with prints drying on a line"`,
			`alt="Morning light over the studio ☀️ New prints drop Friday."`,
			`aria-label="Video"`, `aria-label="Album"`,
			`<p class="vitrine-cap" part="caption" dir="auto">`,
			`<dialog class="vitrine-lb" part="lightbox"`,
			`<header class="vitrine-head" part="header">`, `<a class="vitrine-follow" part="follow"`, `<a class="vitrine-link" part="tile"`,
		)
		mustNotContain(t, what, s, `style="--vitrine`)
		mustNotContain(t, what, s, "cdninstagram", "vitrine-nocap", "IGQ-secret")
		// The first row loads at once, the first image (the likely largest
		// paint) first; the rest wait until they are near the screen.
		// In the fragment, which no script measures, all are lazy: the
		// browser sizes them as drawn.
		imgs := regexp.MustCompile(`<img src="[^"]*/media/\d+/[^>]*>`).FindAllString(s, -1)
		for i, img := range imgs {
			lazy, high, auto := strings.Contains(img, `loading="lazy"`), strings.Contains(img, `fetchpriority="high"`), strings.Contains(img, `sizes="auto, `)
			wantLazy := i >= 3 || what == "fragment"
			if lazy != wantLazy || auto != wantLazy || high != (i == 0 && !wantLazy) {
				t.Errorf("%s: image %d lazy=%v sizes=auto %v fetchpriority=high %v, want lazy with auto only after the first row of 3 (all in the fragment), high only first", what, i, lazy, auto, high)
			}
		}
		// Every id and class is ours.
		for _, m := range regexp.MustCompile(`(?:class|id)="([^"]*)"`).FindAllStringSubmatch(s, -1) {
			for _, c := range strings.Fields(m[1]) {
				if c != "vitrine" && !strings.HasPrefix(c, "vitrine-") {
					t.Errorf("%s: unprefixed class or id %q", what, c)
				}
			}
		}
	}
	// The embed carries the same markup as data, and the address of its
	// CSS, which the server's settings follow; the page and the fragment
	// carry the CSS, with the settings where a host's own beat them.
	mustContain(t, "widget.js", js, `"s":"`+e.base+`/widget.css"`, "attachShadow")
	mustNotContain(t, "widget.js", js, `.vitrine-grid{`)
	const settings = `.vitrine{--_columns:var(--vitrine-columns,3);--_columns-mobile:var(--vitrine-columns-mobile,2);--_gap:var(--vitrine-gap,4px);--_radius:var(--vitrine-radius,3px)}`
	mustContain(t, "widget.css", e.get("/widget.css").text(t), `.vitrine-grid{`, `:host{all:initial`, settings)
	mustContain(t, "page", page, `.vitrine-grid{`, settings)
	mustContain(t, "fragment", frag, `.vitrine-grid{`, settings)
	// Colour placeholders are the dominant colours.
	if !regexp.MustCompile(`style="background-color:#[0-9a-f]{6}"`).MatchString(page) {
		t.Error("no dominant-colour background")
	}
}

func TestHostileCaptionsAreEscaped(t *testing.T) {
	hostile := []string{
		`<script>alert("x")</script>`,
		`"><img src=x onerror=alert(1)>`,
		"\u202etxt.exe مرحبا بالعالم <b>bold</b> 'single' & more",
		"🌈✨👩‍👩‍👧 </style><style>*{display:none}</style> #sunset",
	}
	e := newEnv(t, func(e *env) {
		e.connect()
		posts := makePosts(len(hostile))
		for i := range posts {
			posts[i].Caption = hostile[i]
			posts[i].AltText = ""
		}
		posts[0].AltText = `" onload="alert(2)`
		e.replace(posts...)
		e.mirror(posts...)
	}, withConfig(func(c *config.Config) { c.Widget.Captions = true }))

	for _, path := range []string{"/widget", "/widget?fragment=1", "/widget.js"} {
		s := e.get(path).text(t)
		mustNotContain(t, path, s, `<script>alert`, `<img src=x`, `onerror=alert(1)>`, `" onload="alert`, `<b>bold`, `</style><style>*{display:none}`)
	}
	page := e.get("/widget").text(t)
	mustContain(t, "page", page,
		`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`,
		`&#34;&gt;&lt;img src=x onerror=alert(1)&gt;`,
		`alt="&#34; onload=&#34;alert(2)"`,
		"\u202etxt.exe مرحبا بالعالم &lt;b&gt;bold&lt;/b&gt; &#39;single&#39; &amp; more",
		"🌈✨👩‍👩‍👧 &lt;/style&gt;&lt;style&gt;*{display:none}&lt;/style&gt; #sunset",
		`alt="🌈✨👩‍👩‍👧 &lt;/style&gt;&lt;style&gt;*{display:none}&lt;/style&gt;"`, // hashtag trimmed from alt
	)
	// JSON carries the captions verbatim: it is data, the reader escapes.
	doc := decodeJSON(t, e.get("/widget.json").text(t))
	for i, p := range doc.Posts {
		if p.Caption != hostile[i] {
			t.Errorf("caption %d changed in JSON: %q", i, p.Caption)
		}
	}
	// The embed's data is a JSON string whose markup is the escaped page markup.
	h := jsMarkup(t, e.get("/widget.js").text(t))
	mustContain(t, "widget.js markup", h, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`)
	mustNotContain(t, "widget.js markup", h, `<script`)
}

// splitJS splits widget.js into the loader and its data argument.
func splitJS(t *testing.T, js string) (loader string, data struct{ H, S string }) {
	t.Helper()
	i := strings.LastIndex(js, `({"h":`)
	if i < 0 || json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimSpace(js[i+1:]), ");")), &data) != nil {
		t.Fatalf("widget.js data not found or not JSON: %.300s", js[max(i, 0):])
	}
	return js[:i], data
}

// jsMarkup is the gallery markup widget.js paints.
func jsMarkup(t *testing.T, js string) string {
	t.Helper()
	_, d := splitJS(t, js)
	return d.H
}

var styleRE = regexp.MustCompile(`(?s)<style>.*?</style>|<script>.*?</script>`)

// markupOf drops the CSS and the script, which name every class.
func markupOf(html string) string { return styleRE.ReplaceAllString(html, "") }

func TestPlaceholderWhenNotConnected(t *testing.T) {
	e := newEnv(t, withConfig(func(c *config.Config) { c.Widget.Placeholder = "Fresh posts soon <3" }))
	for _, path := range []string{"/widget", "/widget?fragment=1", "/widget.js"} {
		r := e.get(path)
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", path, r.StatusCode)
		}
		m := markupOf(r.text(t))
		if path == "/widget.js" {
			m = jsMarkup(t, r.text(t))
		}
		mustContain(t, path, m, `class="vitrine-empty">Fresh posts soon &lt;3</p>`)
		mustNotContain(t, path, m, "vitrine-grid", "vitrine-head", "vitrine-lb")
	}
	doc := decodeJSON(t, e.get("/widget.json").text(t))
	if doc.Account != nil || doc.Posts == nil || len(doc.Posts) != 0 || doc.Stale {
		t.Errorf("unconnected JSON: %+v", doc)
	}

	// Connected but nothing synced yet: header, placeholder instead of the grid.
	e.connect()
	e.rebuild()
	s := markupOf(e.get("/widget").text(t))
	mustContain(t, "connected page", s, "@studio.lumen", "vitrine-empty")
	mustNotContain(t, "connected page", s, "vitrine-grid")

	// Posts synced, images not mirrored yet: still the placeholder, no hot-linking.
	e.replace(makePosts(3)...)
	e.rebuild()
	s = markupOf(e.get("/widget").text(t))
	mustContain(t, "unmirrored page", s, "vitrine-empty")
	mustNotContain(t, "unmirrored page", s, "cdninstagram")
}

func TestAvatarWhenMirrored(t *testing.T) {
	e := newEnv(t, withSeed(2), func(e *env) {
		e.src.setImages(append(e.src.imagesCopy(),
			MirroredFile{MediaID: AvatarID, Width: 150, Height: 150, Color: "#aa0000", Path: e.jpeg[320]}))
	})
	page := markupOf(e.get("/widget").text(t))
	mustContain(t, "page", page, `<img class="vitrine-av" src="`+e.base+`/media/avatar/150.jpg"`)
	mustNotContain(t, "page", page, "vitrine-av-i")
	doc := decodeJSON(t, e.get("/widget.json").text(t))
	if doc.Account.AvatarURL != e.base+"/media/avatar/150.jpg" {
		t.Errorf("avatar_url %q", doc.Account.AvatarURL)
	}
	// The avatar's URL stays when the picture changes, so it is cached a
	// day, not for ever as a post's image is.
	if r := e.get("/media/avatar/150.jpg"); r.StatusCode != http.StatusOK || r.Header.Get("Cache-Control") != "public, max-age=86400, stale-if-error=86400" || r.Header.Get("Etag") == "" {
		t.Errorf("avatar file: %d, Cache-Control %q, ETag %q", r.StatusCode, r.Header.Get("Cache-Control"), r.Header.Get("Etag"))
	}
	post := doc.Posts[0].Images[0].URL
	if r := e.get(strings.TrimPrefix(post, e.base)); r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("post image %s: %d, Cache-Control %q", post, r.StatusCode, r.Header.Get("Cache-Control"))
	}
}

func TestRebuildSwapsSnapshotWithoutRestart(t *testing.T) {
	e := newEnv(t, withSeed(3))
	before := e.get("/widget.js", "Accept-Encoding", "gzip")
	posts := makePosts(4)
	posts[0].Caption = "Brand new caption after a sync"
	e.replace(posts...)
	e.mirror(posts[3])
	e.rebuild()

	after := e.get("/widget.js", "Accept-Encoding", "gzip", "If-None-Match", before.Header.Get("Etag"))
	if after.StatusCode != http.StatusOK || after.Header.Get("Etag") == before.Header.Get("Etag") {
		t.Fatalf("after rebuild: status %d, ETag %s (was %s)", after.StatusCode, after.Header.Get("Etag"), before.Header.Get("Etag"))
	}
	mustContain(t, "widget.js", after.text(t), "/media/"+posts[3].ID+"/640.jpg")
	mustContain(t, "widget.json", e.get("/widget.json").text(t), "Brand new caption after a sync")
	if n := len(decodeJSON(t, e.get("/widget.json").text(t)).Posts); n != 4 {
		t.Errorf("%d posts after rebuild", n)
	}
	// An unchanged rebuild keeps the gallery's ETags: visitors' caches stay valid.
	e.rebuild()
	if again := e.get("/widget.js", "Accept-Encoding", "gzip"); again.Header.Get("Etag") != after.Header.Get("Etag") {
		t.Error("ETag changed although nothing did")
	}
}

func TestLastGoodServedAfterFailedRebuild(t *testing.T) {
	e := newEnv(t, withSeed(5))
	good := map[string]response{}
	for _, ep := range endpoints {
		good[ep.path] = e.get(ep.path)
	}
	if decodeJSON(t, good["/widget.json"].text(t)).Stale {
		t.Fatal("stale before any failure")
	}

	_ = e.st.Close() // the database goes away: the rebuild fails
	if err := e.w.Rebuild(context.Background()); err == nil {
		t.Fatal("Rebuild succeeded on a closed store")
	}
	for _, ep := range endpoints[:3] {
		r := e.get(ep.path)
		if r.StatusCode != http.StatusOK || r.Header.Get("Etag") != good[ep.path].Header.Get("Etag") || r.text(t) != good[ep.path].text(t) {
			t.Errorf("%s changed after a failed rebuild", ep.path)
		}
	}
	doc := decodeJSON(t, e.get("/widget.json").text(t))
	if !doc.Stale || len(doc.Posts) != 5 {
		t.Errorf("after failed rebuild: stale %v, %d posts", doc.Stale, len(doc.Posts))
	}
	if r := e.get("/media/" + doc.Posts[0].ID + "/320.jpg"); r.StatusCode != http.StatusOK {
		t.Errorf("media after failed rebuild: %d", r.StatusCode)
	}
}

// TestStaleWhileTheSyncJobIsFailing: "stale" follows the sync job's
// recorded runs in the store, read at every rebuild, so it is the same on
// every process serving the database; only widget.json changes.
func TestStaleWhileTheSyncJobIsFailing(t *testing.T) {
	e := newEnv(t, withSeed(3), withSyncJob("sync"))
	js := e.get("/widget.js").Header.Get("Etag")
	first := e.get("/widget.json")
	record := func(failures int) {
		t.Helper()
		if err := e.st.SaveJobRun(context.Background(), store.JobRun{Name: "sync", LastRun: testNow, LastOK: failures == 0, Failures: failures}); err != nil {
			t.Fatal(err)
		}
		e.rebuild()
	}
	record(1) // the sync failed
	r := e.get("/widget.json")
	if !decodeJSON(t, r.text(t)).Stale || r.Header.Get("Etag") == first.Header.Get("Etag") {
		t.Error("a failing sync job not reflected in widget.json or its ETag")
	}
	if e.get("/widget.js").Header.Get("Etag") != js {
		t.Error("a failing sync job changed the gallery")
	}
	if err := e.st.SaveJobRun(context.Background(), store.JobRun{Name: "validate", LastRun: testNow}); err != nil {
		t.Fatal(err)
	}
	e.rebuild() // another job's success says nothing about the posts
	if !decodeJSON(t, e.get("/widget.json").text(t)).Stale {
		t.Error("another job's run cleared the stale flag")
	}
	record(0)
	if r := e.get("/widget.json"); decodeJSON(t, r.text(t)).Stale || r.Header.Get("Etag") != first.Header.Get("Etag") {
		t.Error("a good sync did not restore the fresh JSON")
	}
}

func TestTemplatesAllExecute(t *testing.T) {
	tmpl, css, js, cssExtras, jsExtras, err := parseAssets(templates.Widget())
	if err != nil {
		t.Fatal(err)
	}
	w := &Widget{settings: config.Default().Widget, base: "https://vitrine.example", tmpl: tmpl, css: css, js: js,
		cssExtras: cssExtras, jsExtras: jsExtras, now: func() time.Time { return testNow }}
	fs := []MirroredFile{{MediaID: "1", Width: 320, Height: 320, Color: "#123456", Path: "/x"}}
	full := input{connected: true, token: store.Token{Username: "u", Name: "N"},
		posts:  []store.Post{{ID: "1", MediaType: "VIDEO", Caption: "c", Permalink: "https://www.instagram.com/p/1/"}},
		images: append(fs, MirroredFile{MediaID: AvatarID, Width: 100, Height: 100, Path: "/a"})}
	var names []string
	for _, tt := range tmpl.Templates() {
		if tt.Name() != "widget" && !strings.HasSuffix(tt.Name(), ".html") { // the root and the file hold only definitions
			names = append(names, tt.Name())
		}
	}
	slices.Sort(names)
	for _, in := range []input{{}, full} {
		s, err := w.build(in, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.page.body) == 0 || len(s.fragment.body) == 0 || len(s.js.body) == 0 || len(s.json.body) == 0 {
			t.Fatal("empty asset")
		}
		v := galleryView{Base: "b", Columns: 2, Placeholder: "p", Account: &accountView{Username: "u"}, Counts: "off"}
		for _, name := range names {
			var data any = v
			if name == "tile-extras" { // one tile's
				data = tileView{G: v, P: postItem{ID: "1"}}
			}
			if err := tmpl.ExecuteTemplate(&bytes.Buffer{}, name, data); err != nil {
				t.Errorf("template %s: %v", name, err)
			}
		}
	}
	for _, want := range []string{"gallery", "fragment", "page"} {
		if !slices.Contains(names, want) {
			t.Errorf("template %q missing (have %v)", want, names)
		}
	}
}

func TestAltText(t *testing.T) {
	long := strings.Repeat("word ", 60)
	for _, c := range []struct{ alt, caption, want string }{
		{"Given alt", "caption #x", "Given alt"},
		{"", "Sunset at the pier #sunset #sea", "Sunset at the pier"},
		{"", "#only #tags", "fallback"},
		{"", "  line one\n\nline two #tag  more", "line one line two more"},
		{"", "", "fallback"},
		{"", "C# and issue#12 stay", "C# and issue#12 stay"},
		{"", long, strings.TrimSpace(strings.Repeat("word ", 32)) + "…"},
	} {
		if got := altText(c.alt, c.caption, "fallback"); got != c.want {
			t.Errorf("altText(%q, %q) = %q, want %q", c.alt, c.caption, got, c.want)
		}
	}
}

func TestAcceptsGzipAndETagMatch(t *testing.T) {
	for in, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "br, gzip": true, "gzip;q=0": false, "gzip; q=0.000": false,
		"gzip;q=0.5": true, "*": true, "identity": false, "deflate, br": false, "x-gzip": false, "gzip;q=1.0": true,
	} {
		if got := acceptsGzip(in); got != want {
			t.Errorf("acceptsGzip(%q) = %v", in, got)
		}
	}
	for in, want := range map[string]bool{
		`"a"`: true, `"b-gz"`: true, `W/"a"`: true, `"x", "a"`: true, `*`: true, `"c"`: false, `a`: false, ``: false,
	} {
		if got := etagMatch(in, `"a"`, `"b-gz"`); got != want {
			t.Errorf("etagMatch(%q) = %v", in, got)
		}
	}
}

// The owner's decisions shape every public answer: hidden posts are in
// none of them, pinned ones come first (most recently pinned first) and say
// "pinned": true in the JSON.
func TestModerationShapesTheGallery(t *testing.T) {
	// The gallery holds 4 of the 8 cached posts: the pinned one from
	// further down still comes first, and a hidden one makes room.
	e := newEnv(t, withSeed(8), withConfig(func(c *config.Config) { c.Widget.Count, c.Widget.MaxPosts = 4, 4 }))
	posts := makePosts(8)
	ctx := context.Background()
	if _, err := e.st.HidePost(ctx, posts[1].ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []store.Post{posts[6], posts[3]} { // posts[3] is pinned last: it comes first
		if _, err := e.st.PinPost(ctx, p.ID, 3); err != nil {
			t.Fatal(err)
		}
	}
	e.rebuild()

	doc := decodeJSON(t, e.get("/widget.json").text(t))
	var got []string
	for _, p := range doc.Posts {
		got = append(got, p.ID)
		if p.Pinned != (p.ID == posts[3].ID || p.ID == posts[6].ID) {
			t.Errorf("post %s pinned = %v", p.ID, p.Pinned)
		}
	}
	if want := []string{posts[3].ID, posts[6].ID, posts[0].ID, posts[2].ID}; !slices.Equal(got, want) {
		t.Errorf("widget.json posts %v, want %v", got, want)
	}
	hidden := "/media/" + posts[1].ID + "/"
	for _, path := range []string{"/widget", "/widget?fragment=1", "/widget.js"} {
		body := e.get(path).text(t)
		mustNotContain(t, path, body, hidden)
		first, second := strings.Index(body, "/media/"+posts[3].ID+"/"), strings.Index(body, "/media/"+posts[6].ID+"/")
		newest := strings.Index(body, "/media/"+posts[0].ID+"/")
		if first < 0 || !(first < second && second < newest) {
			t.Errorf("%s: pinned posts not first (at %d, %d; newest at %d)", path, first, second, newest)
		}
	}

	// Undone, the gallery is as Instagram orders it again.
	if _, err := e.st.ShowPost(ctx, posts[1].ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []store.Post{posts[3], posts[6]} {
		if _, err := e.st.UnpinPost(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	e.rebuild()
	got = got[:0]
	for _, p := range decodeJSON(t, e.get("/widget.json").text(t)).Posts {
		got = append(got, p.ID)
		if p.Pinned {
			t.Errorf("post %s still pinned", p.ID)
		}
	}
	if want := []string{posts[0].ID, posts[1].ID, posts[2].ID, posts[3].ID}; !slices.Equal(got, want) {
		t.Errorf("after undoing: %v, want %v", got, want)
	}
}
