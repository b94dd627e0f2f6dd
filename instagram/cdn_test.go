package instagram

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"vitrine/instagram/fake"
)

// firstImageURL returns a fresh media_url of an IMAGE post.
func firstImageURL(t *testing.T, e *env) string {
	t.Helper()
	media, err := e.c.Media(context.Background(), e.longLived(), 0)
	if err != nil {
		t.Fatalf("Media: %v", e.seen(err))
	}
	for _, m := range media {
		if m.MediaType == fake.MediaImage && m.MediaURL != "" {
			return m.MediaURL
		}
	}
	t.Fatal("no image post")
	return ""
}

func TestDownloadImage(t *testing.T) {
	e := newEnv(t, withPosts(4))
	u := firstImageURL(t, e)
	body, ctype, err := e.c.Download(context.Background(), u, 0)
	if err != nil {
		t.Fatalf("Download: %v", e.seen(err))
	}
	if ctype != "image/jpeg" {
		t.Errorf("content type %q", ctype)
	}
	if _, err := jpeg.DecodeConfig(bytes.NewReader(body)); err != nil {
		t.Errorf("not a JPEG: %v", err)
	}
	if _, _, err := e.c.Download(context.Background(), u, 100); !errors.Is(err, ErrBadRequest) {
		t.Errorf("over the limit: %v, want ErrBadRequest", e.seen(err))
	}
}

func TestDownloadExpiredURL(t *testing.T) {
	e := newEnv(t, withPosts(4))
	u := firstImageURL(t, e)
	e.f.Clock().Advance(fake.DefaultSignedURLTTL + 1)
	_, _, err := e.c.Download(context.Background(), u, 0)
	if !errors.Is(err, ErrURLExpired) {
		t.Fatalf("err = %v, want ErrURLExpired", e.seen(err))
	}
	if strings.Contains(err.Error(), "oh=") || !strings.Contains(err.Error(), "URL signature expired") {
		t.Errorf("error text %q: want the CDN's reason and no signature", err)
	}
	if n := e.f.CallsTo(".jpg"); n != 1 {
		t.Errorf("%d CDN requests, want 1 (a 403 is not retried)", n)
	}
}

func TestDownloadRetries5xx(t *testing.T) {
	e := newEnv(t, withPosts(4))
	u := firstImageURL(t, e)
	e.f.FailNext(2, http.StatusServiceUnavailable)
	if _, _, err := e.c.Download(context.Background(), u, 0); err != nil {
		t.Fatalf("Download after two 503s: %v", e.seen(err))
	}
	e.f.FailNext(10, http.StatusBadGateway)
	_, _, err := e.c.Download(context.Background(), u, 0)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", e.seen(err))
	}
	e.f.ResetFaults()
}

func TestDownloadRefusesNonImages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>login</html>"))
	}))
	defer srv.Close()
	e := newEnv(t, withPosts(-1), withConfig(func(c *Config) { c.MediaHosts = []string{hostOf(t, srv.URL)} }))
	_, _, err := e.c.Download(context.Background(), srv.URL+"/x.jpg?oh=secret&oe=1", 0)
	if !errors.Is(err, ErrBadRequest) || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "not an image") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := e.c.Download(context.Background(), "file:///etc/passwd", 0); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("file URL: %v", err)
	}
}

// firstVideoURL returns a fresh media_url of a VIDEO post: the MP4.
func firstVideoURL(t *testing.T, e *env) string {
	t.Helper()
	media, err := e.c.Media(context.Background(), e.longLived(), 0)
	if err != nil {
		t.Fatalf("Media: %v", e.seen(err))
	}
	for _, m := range media {
		if m.MediaType == fake.MediaVideo && m.MediaURL != "" {
			return m.MediaURL
		}
	}
	t.Fatal("no video post")
	return ""
}

func TestDownloadVideo(t *testing.T) {
	e := newEnv(t, withPosts(8))
	u := firstVideoURL(t, e)
	var buf bytes.Buffer
	n, err := e.c.DownloadVideo(context.Background(), u, 10<<20, &buf)
	if err != nil {
		t.Fatalf("DownloadVideo: %v", e.seen(err))
	}
	if n != int64(buf.Len()) || n < 1000 || string(buf.Bytes()[4:8]) != "ftyp" {
		t.Errorf("%d bytes reported, %d written, starting %q: want an MP4", n, buf.Len(), buf.Bytes()[:8])
	}
	// The fake's CDN sends a Content-Length: refused before the body.
	buf.Reset()
	_, err = e.c.DownloadVideo(context.Background(), u, 1000, &buf)
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrBadRequest) || buf.Len() != 0 {
		t.Errorf("over the limit: %v, %d bytes written; want ErrTooLarge and nothing written", e.seen(err), buf.Len())
	}
	// Only from the media hosts, as images.
	if _, err := e.c.DownloadVideo(context.Background(), "https://video.example.net/v.mp4", 0, &buf); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "media host") {
		t.Errorf("unlisted host: %v", err)
	}
	// Each kind refuses the other.
	if _, _, err := e.c.Download(context.Background(), u, 0); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "not an image (video/mp4)") {
		t.Errorf("Download of a video: %v", e.seen(err))
	}
	_, err = e.c.DownloadVideo(context.Background(), firstImageURL(t, e), 0, &buf)
	if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "not an MP4 video (image/jpeg)") {
		t.Errorf("DownloadVideo of an image: %v", e.seen(err))
	}
}

// A CDN that sends no Content-Length is cut off one byte past the limit,
// images and videos alike.
func TestDownloadStopsPastTheLimitWithoutContentLength(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".mp4") {
			w.Header().Set("Content-Type", "video/mp4")
		} else {
			w.Header().Set("Content-Type", "image/jpeg")
		}
		chunk := bytes.Repeat([]byte{0}, 1000)
		for range 1000 { // 1 MB, flushed: chunked, no length
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	e := newEnv(t, withPosts(-1), withConfig(func(c *Config) { c.MediaHosts = []string{hostOf(t, srv.URL)} }))
	var buf bytes.Buffer
	n, err := e.c.DownloadVideo(context.Background(), srv.URL+"/v.mp4", 5000, &buf)
	if !errors.Is(err, ErrTooLarge) || n != 0 || buf.Len() > 5001 {
		t.Errorf("video: %d bytes, %d written, %v; want ErrTooLarge after at most 5001", n, buf.Len(), err)
	}
	if _, _, err := e.c.Download(context.Background(), srv.URL+"/i.jpg", 5000); !errors.Is(err, ErrTooLarge) {
		t.Errorf("image: %v, want ErrTooLarge", err)
	}
}
