package widget

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"vitrine/config"
)

// mirrorWebP adds a WebP file (any bytes: the widget serves, it does not
// decode) for each width of the posts' images, or of all but the widest
// for those listed in partial, as the mirror records them once made.
func (e *env) mirrorWebP(partial map[string]bool, posts ...string) {
	e.t.Helper()
	ims := e.src.imagesCopy()
	for _, id := range posts {
		for _, w := range widths {
			if partial[id] && w == widths[len(widths)-1] {
				continue
			}
			path := filepath.Join(e.dir, "media", id, fmt.Sprintf("%d.webp", w))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				e.t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(fmt.Sprintf("RIFF webp %s %d", id, w)), 0o644); err != nil {
				e.t.Fatal(err)
			}
			ims = append(ims, MirroredFile{MediaID: id, Width: w, Height: w * 5 / 4, Color: "#888888", Path: path, WebP: true})
		}
	}
	e.src.setImages(ims)
}

func TestWebPIsOfferedBesideTheJPEGOnceEveryWidthHasOne(t *testing.T) {
	e := newEnv(t, withSeed(3))
	posts := makePosts(3)
	full, partial, none := posts[0].ID, posts[1].ID, posts[2].ID
	e.mirrorWebP(map[string]bool{partial: true}, full, partial)
	e.rebuild()

	page := e.get("/widget").text(t)
	tiles := regexp.MustCompile(`(?s)<li class="vitrine-item".*?</li>`).FindAllString(page, -1)
	tileOf := func(id string) string {
		for _, tile := range tiles {
			if strings.Contains(tile, "/media/"+id+"/") {
				return tile
			}
		}
		t.Fatalf("no tile for %s in:\n%s", id, page)
		return ""
	}
	var webpSrcset []string
	for _, w := range widths {
		webpSrcset = append(webpSrcset, fmt.Sprintf("%s/media/%s/%d.webp %dw", e.base, full, w, w))
	}
	mustContain(t, "the tile with WebP at every width", tileOf(full),
		`<picture><source type="image/webp" srcset="`+strings.Join(webpSrcset, ", ")+`" sizes="`,
		`.jpg 1080w"`, `</picture>`)
	for _, id := range []string{partial, none} {
		mustNotContain(t, "a tile without WebP at every width", tileOf(id), "<picture>", ".webp")
	}
	// The lightbox is told which slides have WebP (the seventh flag).
	webpFlag := regexp.MustCompile(`,[01],1\]\]`)
	if !webpFlag.MatchString(tileOf(full)) || webpFlag.MatchString(tileOf(none)) {
		t.Errorf("slides: %q / %q", regexp.MustCompile(`data-s="[^"]*"`).FindString(tileOf(full)), regexp.MustCompile(`data-s="[^"]*"`).FindString(tileOf(none)))
	}

	var doc struct {
		Posts []struct {
			ID     string `json:"id"`
			Images []struct {
				URL, WebP string
				Width     int
			} `json:"images"`
		} `json:"posts"`
	}
	if err := json.Unmarshal([]byte(e.get("/widget.json").text(t)), &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range doc.Posts {
		for _, im := range p.Images {
			want := ""
			if p.ID == full {
				want = fmt.Sprintf("%s/media/%s/%d.webp", e.base, p.ID, im.Width)
			}
			if im.WebP != want {
				t.Errorf("widget.json: post %s, %d px: webp %q, want %q", p.ID, im.Width, im.WebP, want)
			}
		}
	}

	r := e.get("/media/" + full + "/640.webp")
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "image/webp" || string(r.body) != "RIFF webp "+full+" 640" {
		t.Fatalf("GET the 640 px WebP: %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), r.body)
	}
	jpeg := e.get("/media/" + full + "/640.jpg")
	if jpeg.Header.Get("Content-Type") != "image/jpeg" || jpeg.Header.Get("Etag") == r.Header.Get("Etag") {
		t.Errorf("the JPEG beside it: %q, etag %q (the WebP's %q)", jpeg.Header.Get("Content-Type"), jpeg.Header.Get("Etag"), r.Header.Get("Etag"))
	}
	if r := e.get("/media/"+full+"/640.webp", "If-None-Match", r.Header.Get("Etag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("revalidating the WebP: %d", r.StatusCode)
	}
	// Served as recorded: a partial set's files too, and nothing else.
	if r := e.get("/media/" + partial + "/640.webp"); r.StatusCode != http.StatusOK {
		t.Errorf("a recorded WebP of an image without every width: %d", r.StatusCode)
	}
	if code, _ := e.rawGet("/media/" + none + "/640.webp"); code != http.StatusFound {
		t.Errorf("a WebP never made, its JPEG served: %d, want 302 to the JPEG", code)
	}
	for _, path := range []string{"/media/" + full + "/641.webp", "/media/" + full + "/0640.webp",
		"/media/" + full + "/640.WEBP", "/media/" + full + "/640.webp.jpg", "/media/" + full + "/640.jpg.webp", "/media/" + full + "/.webp"} {
		if code, _ := e.rawGet(path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}

// widget.webp: false serves JPEG only, whatever WebP files the mirror
// made while it was on: no <source>, no "webp" in widget.json, and a
// .webp under /media/ leads to its JPEG. The records stay, so switching it back on offers
// them again without encoding anything.
func TestWebPOffServesJPEGOnly(t *testing.T) {
	e := newEnv(t, withSeed(2), withConfig(func(c *config.Config) { c.Widget.WebP = false }))
	id := makePosts(1)[0].ID
	e.mirrorWebP(nil, id)
	e.rebuild()
	if page := e.get("/widget").text(t); regexp.MustCompile(`srcset="[^"]*\.webp`).MatchString(page) {
		t.Errorf("the page offers WebP with widget.webp off:\n%s", page)
	}
	if doc := e.get("/widget.json").text(t); strings.Contains(doc, `"webp"`) {
		t.Errorf("widget.json lists WebP with widget.webp off:\n%.2000s", doc)
	}
	if r := e.get("/media/" + id + "/320.webp"); r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("/media/…/320.webp with widget.webp off: %d %s, want the JPEG", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := e.get("/media/" + id + "/320.jpg"); r.StatusCode != http.StatusOK {
		t.Errorf("the JPEG: %d", r.StatusCode)
	}
}

// A WebP the gallery no longer serves, while its JPEG is, redirects to the
// JPEG: a page cached before still names it in a <source>, and a browser
// does not fall back from a <source> it picked.
func TestAWebPNoLongerServedRedirectsToItsJPEG(t *testing.T) {
	e := newEnv(t, withSeed(2))
	id := makePosts(1)[0].ID
	jpegs := e.src.imagesCopy()
	e.mirrorWebP(nil, id)
	e.rebuild()
	if r := e.get("/media/" + id + "/320.webp"); r.StatusCode != http.StatusOK {
		t.Fatalf("the WebP while it is served: %d", r.StatusCode)
	}
	e.src.setImages(jpegs) // mirrored anew: its WebP is not made yet
	e.rebuild()
	req, _ := http.NewRequest(http.MethodGet, e.base+"/media/"+id+"/320.webp", nil)
	res, err := http.DefaultTransport.RoundTrip(req) // not following the redirect
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "320.jpg" || res.Header.Get("Cache-Control") != "no-store" ||
		res.Header.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
		t.Errorf("the WebP no longer served: %d, Location %q, Cache-Control %q; want 302 to 320.jpg, not stored",
			res.StatusCode, res.Header.Get("Location"), res.Header.Get("Cache-Control"))
	}
	want, _ := os.ReadFile(e.jpeg[320])
	if r := e.get("/media/" + id + "/320.webp"); r.StatusCode != http.StatusOK || !bytes.Equal(r.body, want) || !strings.HasSuffix(r.Request.URL.Path, "/320.jpg") {
		t.Errorf("following the redirect: %d, %d bytes from %s; want the 320 px JPEG", r.StatusCode, len(r.body), r.Request.URL.Path)
	}
	for _, path := range []string{"/media/" + id + "/321.webp", "/media/17890000000009999/320.webp"} {
		if r := e.get(path); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s, whose JPEG is not served either: %d, want 404", path, r.StatusCode)
		}
	}
}
