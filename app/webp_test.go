package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xwebp "golang.org/x/image/webp"

	"vitrine/config"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/testkit/testvitrine"
)

// webpOffered counts the images /widget.json lists with and without a
// WebP, as this process serves it.
func (v *vitrine) webpOffered() (with, without int) {
	v.T.Helper()
	rec := httptest.NewRecorder()
	v.App.Gallery.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/widget.json", nil))
	var doc struct {
		Posts []struct {
			Images []struct{ WebP string } `json:"images"`
		} `json:"posts"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		v.T.Fatalf("/widget.json %d: %v", rec.Code, err)
	}
	for _, p := range doc.Posts {
		for _, im := range p.Images {
			if im.WebP != "" {
				with++
			} else {
				without++
			}
		}
	}
	return with, without
}

// A Vitrine that mirrored JPEG only (a release before WebP, or widget.webp
// off) gets its images' WebP at the next sync once it makes them, from
// the files it has: no download, the JPEGs untouched, and the gallery
// offers those smaller than their JPEGs as soon as they are made.
func TestImagesMirroredAsJPEGGetTheirWebPAtALaterSync(t *testing.T) {
	v := newVitrine(t, testvitrine.Posts(3))
	v.connect()
	if err := v.run(jobs.JobSync); err != nil {
		t.Fatal(err)
	}
	if with, without := v.webpOffered(); with != 0 || without == 0 {
		t.Fatalf("with widget.webp off: %d images offered as WebP, %d not", with, without)
	}
	jpegs := map[string][]byte{}
	for _, f := range v.mediaFiles() {
		if strings.HasSuffix(f, ".webp") {
			t.Fatalf("a WebP file with widget.webp off: %s", f)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		jpegs[f] = data
	}
	downloads := v.Fake.CallsTo(".jpg")

	v.Restart(func(c *config.Config) { c.Widget.WebP = true })
	if err := v.run(jobs.JobSync); err != nil {
		t.Fatal(err)
	}
	if n := v.Fake.CallsTo(".jpg"); n != downloads {
		t.Errorf("%d downloads from the CDN to make WebP files; want none, they are made from the mirror's files", n-downloads)
	}
	with, _ := v.webpOffered()
	if with == 0 {
		t.Errorf("after a sync with widget.webp on, no image is offered as WebP")
	}
	images, err := v.Store.Images(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range images {
		if im.MediaID == store.AvatarMediaID {
			continue
		}
		if im.WebPDeclined() {
			continue // made, and larger than its JPEG: served as JPEG
		}
		if !im.HasWebP() {
			t.Errorf("%s has no WebP: %+v", im.MediaID, im.Variants)
			continue
		}
		for _, variant := range im.Variants {
			data, err := os.ReadFile(filepath.Join(v.Config.MediaDir(), filepath.FromSlash(variant.WebPPath)))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := xwebp.DecodeConfig(bytes.NewReader(data))
			if err != nil || cfg.Width != variant.Width || cfg.Height != variant.Height {
				t.Errorf("%s: decodes as %dx%d (%v), want %dx%d", variant.WebPPath, cfg.Width, cfg.Height, err, variant.Width, variant.Height)
			}
		}
	}
	for f, before := range jpegs {
		if now, err := os.ReadFile(f); err != nil || !bytes.Equal(now, before) {
			t.Errorf("%s changed (%v): the JPEGs must stay as they were", f, err)
		}
	}
}
