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
