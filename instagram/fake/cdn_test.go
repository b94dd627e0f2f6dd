package fake

import (
	"bytes"
	"image/jpeg"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// mediaURL fetches one post's media_url (and thumbnail_url) over the graph.
func mediaURLs(t *testing.T, h *harness, tok, id string) (media, thumb string) {
	t.Helper()
	status, body := h.graph("/"+id, tok, url.Values{"fields": {"media_url,thumbnail_url"}})
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	return str(body["media_url"]), str(body["thumbnail_url"])
}

func firstOf(t *testing.T, f *Fake, match func(Post) bool) Post {
	t.Helper()
	for _, p := range f.Posts() {
		if match(p) {
			return p
		}
	}
	t.Fatal("no such post")
	return Post{}
}

func TestCDNServesRealJPEGsOfThePostsSize(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	for _, size := range [][2]int{{1080, 1080}, {1080, 1350}, {1080, 566}} {
		p := firstOf(t, h.f, func(p Post) bool {
			return p.MediaType == MediaImage && !p.NoMediaURL && p.Width == size[0] && p.Height == size[1]
		})
		u, _ := mediaURLs(t, h, tok, p.ID)
		if !strings.Contains(u, "/cdn/") || !strings.Contains(u, "oh=") || !strings.Contains(u, "oe=") {
			t.Fatalf("media_url %q", u)
		}
		resp, body := h.get(u)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(body))
		if err != nil || cfg.Width != size[0] || cfg.Height != size[1] {
			t.Errorf("%v: %dx%d %v", size, cfg.Width, cfg.Height, err)
		}
		if _, again := h.get(u); !bytes.Equal(body, again) {
			t.Error("image bytes differ between requests")
		}
	}
	if n := h.f.CallsTo(".jpg"); n != 6 {
		t.Errorf("CallsTo(.jpg) = %d, want 6", n)
	}
}

func TestCDNServesVideoAndThumbnail(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	p := firstOf(t, h.f, func(p Post) bool { return p.MediaType == MediaVideo })
	media, thumb := mediaURLs(t, h, tok, p.ID)
	resp, body := h.get(media)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "video/mp4" || !bytes.Equal(body[4:8], []byte("ftyp")) {
		t.Fatalf("video: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body[:8])
	}
	resp, body = h.get(thumb)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(body))
	if resp.StatusCode != http.StatusOK || err != nil || cfg.Width != p.Width || cfg.Height != p.Height {
		t.Fatalf("thumbnail: %d %v %v", resp.StatusCode, cfg, err)
	}
}

func TestCDNSignatureExpires(t *testing.T) {
	h := newHarness(t, Options{SignedURLTTL: 2 * time.Hour})
	tok := h.f.IssueLongLivedToken()
	id := h.f.MediaIDs()[0]
	old, _ := mediaURLs(t, h, tok, id)
	h.f.Clock().Advance(2*time.Hour - time.Second)
	if resp, _ := h.get(old); resp.StatusCode != http.StatusOK {
		t.Fatalf("before expiry: %d", resp.StatusCode)
	}
	h.f.Clock().Advance(time.Second)
	resp, body := h.get(old)
	if resp.StatusCode != http.StatusForbidden || string(body) != "URL signature expired" {
		t.Fatalf("after expiry: %d %q", resp.StatusCode, body)
	}
	fresh, _ := mediaURLs(t, h, tok, id)
	if resp, _ := h.get(fresh); fresh == old || resp.StatusCode != http.StatusOK {
		t.Fatalf("re-minted URL: %d", resp.StatusCode)
	}
}

func TestCDNRejectsBadHashes(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	good, _ := mediaURLs(t, h, tok, h.f.MediaIDs()[0])
	u, _ := url.Parse(good)
	tamper := func(mod func(q url.Values)) string {
		q := u.Query()
		mod(q)
		v := *u
		v.RawQuery = q.Encode()
		return v.String()
	}
	other := h.f.MediaIDs()[1]
	for name, bad := range map[string]string{
		"hash":        tamper(func(q url.Values) { q.Set("oh", strings.Repeat("0", 64)) }),
		"later oe":    tamper(func(q url.Values) { q.Set("oe", "7FFFFFFF") }),
		"no oh":       tamper(func(q url.Values) { q.Del("oh") }),
		"no query":    strings.Split(good, "?")[0],
		"other image": strings.Replace(good, h.f.MediaIDs()[0], other, 1),
	} {
		resp, body := h.get(bad)
		if resp.StatusCode != http.StatusForbidden || string(body) != "Bad URL hash" {
			t.Errorf("%s: %d %q", name, resp.StatusCode, body)
		}
	}
}
