package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	xwebp "golang.org/x/image/webp"

	"vitrine/imaging"
	"vitrine/instagram/fake"
	"vitrine/store"
)

// imagesWithWebP counts the mirrored images (the avatar aside) that have
// their WebP recorded, checking each recorded file decodes at its width.
func (h *harness) imagesWithWebP() (with, without int) {
	h.t.Helper()
	images, err := h.st.Images(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, im := range images {
		if im.MediaID == store.AvatarMediaID {
			if im.HasWebP() {
				h.t.Errorf("the avatar got WebP: %+v", im.Variants)
			}
			continue
		}
		if !im.HasWebP() {
			without++
			continue
		}
		with++
		for _, v := range im.Variants {
			data, err := os.ReadFile(filepath.Join(h.mediaDir, filepath.FromSlash(v.WebPPath)))
			if err != nil || int64(len(data)) != v.WebPBytes {
				h.t.Fatalf("%s: the %d px WebP on disk: %d B, %v; recorded %d B", im.MediaID, v.Width, len(data), err, v.WebPBytes)
			}
			cfg, err := xwebp.DecodeConfig(bytes.NewReader(data))
			if err != nil || cfg.Width != v.Width || cfg.Height != v.Height {
				h.t.Errorf("%s: %s decodes as %dx%d (%v), want %dx%d", im.MediaID, v.WebPPath, cfg.Width, cfg.Height, err, v.Width, v.Height)
			}
			if v.WebPBytes >= v.Bytes {
				h.t.Errorf("%s: the %d px WebP (%d B) is no smaller than its JPEG (%d B)", im.MediaID, v.Width, v.WebPBytes, v.Bytes)
			}
		}
	}
	return with, without
}

// smoothPicture is a 640×800 gradient as Instagram could serve it, a
// JPEG: the kind of picture whose WebP is smaller than its JPEG at every
// width, where a photograph's is not.
func smoothPicture(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 640, 800))
	for y := range 800 {
		for x := range 640 {
			img.Set(x, y, color.RGBA{uint8(40 + x*150/640), uint8(60 + y*120/800), uint8(200 - x*100/640), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pictureHarness is a harness whose feed has n image posts, every one
// served by the CDN as body.
func pictureHarness(t *testing.T, n int, body []byte) *harness {
	h := newHarness(t, withPosts(-1))
	h.swapCDN.Store(&cdnSwap{part: "/cdn/", body: body})
	for range n {
		h.f.AddPost(fake.Post{MediaType: fake.MediaImage, Width: 640, Height: 800})
	}
	return h
}

// postImage is the record of a mirrored image other than the avatar.
func (h *harness) postImage() store.Image {
	h.t.Helper()
	images, err := h.st.Images(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, im := range images {
		if im.MediaID != store.AvatarMediaID {
			return im
		}
	}
	h.t.Fatal("no post's image is mirrored")
	return store.Image{}
}

func TestAddWebPMakesEveryImagesFilesOnceAndAgainWhenMissing(t *testing.T) {
	h := pictureHarness(t, 3, smoothPicture(t))
	h.connect()
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if with, without := h.imagesWithWebP(); with != 0 || without == 0 {
		t.Fatalf("after the sync alone: %d images with WebP, %d without; want none with", with, without)
	}
	rep, err := h.feed.AddWebP(h.ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	with, without := h.imagesWithWebP()
	if without != 0 || rep.Added != with || rep.Failed != 0 || rep.Left != 0 {
		t.Fatalf("AddWebP = %+v; then %d images with WebP, %d without", rep, with, without)
	}
	if rep, err := h.feed.AddWebP(h.ctx, time.Minute); err != nil || rep != (WebPReport{}) {
		t.Errorf("a second AddWebP = %+v, %v; want nothing to do", rep, err)
	}

	// A WebP file removed behind Vitrine's back is unrecorded, then made again.
	victim := h.postImage()
	largest, _ := victim.Largest()
	if err := os.Remove(filepath.Join(h.mediaDir, filepath.FromSlash(largest.WebPPath))); err != nil {
		t.Fatal(err)
	}
	rep, err = h.feed.AddWebP(h.ctx, time.Minute)
	if err != nil || rep.Added != 1 {
		t.Fatalf("AddWebP after a file went missing = %+v, %v; want 1 added", rep, err)
	}
	if _, without := h.imagesWithWebP(); without != 0 {
		t.Errorf("%d images without WebP after it was made again", without)
	}
}

func TestAddWebPStopsAtItsBudgetAndGoesOnNextTime(t *testing.T) {
	h := pictureHarness(t, 3, smoothPicture(t))
	h.connect()
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, total := h.imagesWithWebP()
	rep, err := h.feed.AddWebP(h.ctx, 0)
	if err != nil || rep.Added != 0 || rep.Left != total {
		t.Fatalf("AddWebP with no budget = %+v, %v; want all %d left", rep, err, total)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	made := 0
	h.feed.renderWebP = func(r *imaging.Renderer, data []byte, write func(imaging.Variant) error) error {
		if made++; made == 2 {
			cancel() // the sync's job ends while the second image is encoded
		}
		return r.RenderWebP(data, write)
	}
	rep, err = h.feed.AddWebP(ctx, time.Minute)
	if err != nil || rep.Added != 1 || rep.Left != total-1 {
		t.Fatalf("AddWebP cancelled during its second image = %+v, %v; want 1 added, %d left", rep, err, total-1)
	}
	h.feed.renderWebP = (*imaging.Renderer).RenderWebP
	if rep, err := h.feed.AddWebP(h.ctx, time.Minute); err != nil || rep.Added != total-1 {
		t.Fatalf("the next AddWebP = %+v, %v; want the other %d", rep, err, total-1)
	}
}

func TestAddWebPRemembersAnImageItCannotMake(t *testing.T) {
	h := pictureHarness(t, 2, smoothPicture(t))
	h.connect()
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	broken := h.postImage()
	largest, _ := broken.Largest()
	// The same size, so the record still matches the file: a disk's rot.
	if err := os.WriteFile(filepath.Join(h.mediaDir, filepath.FromSlash(largest.Path)), bytes.Repeat([]byte{0xff}, int(largest.Bytes)), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := h.feed.AddWebP(h.ctx, time.Minute)
	if err != nil || rep.Failed != 1 || rep.Added == 0 {
		t.Fatalf("AddWebP = %+v, %v; want 1 failed, the others added", rep, err)
	}
	if !strings.Contains(h.logs.String(), broken.MediaID) {
		t.Errorf("the failure is not logged with its media id:\n%s", h.logs)
	}
	if rep, err := h.feed.AddWebP(h.ctx, time.Minute); err != nil || rep != (WebPReport{}) {
		t.Errorf("the next AddWebP = %+v, %v; want the failed image not tried again", rep, err)
	}
}

// A photograph's WebP, at the quality that matches its JPEG's detail, is
// no smaller than the JPEG: it is made once, not kept, not offered, and
// not made again at the next sync.
func TestAddWebPKeepsNoWebPLargerThanItsJPEG(t *testing.T) {
	h := pictureHarness(t, 1, photo(t))
	h.connect()
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := h.feed.AddWebP(h.ctx, time.Minute)
	if err != nil || rep.Larger != 1 || rep.Added != 0 {
		t.Fatalf("AddWebP over a photograph = %+v, %v; want it larger than its JPEG", rep, err)
	}
	images, _ := h.st.Images(h.ctx)
	for _, im := range images {
		if im.MediaID != store.AvatarMediaID && (!im.WebPDeclined() || im.HasWebP()) {
			t.Errorf("%s: %+v; want its WebP declined", im.MediaID, im.Variants)
		}
	}
	files, _ := filepath.Glob(filepath.Join(h.mediaDir, "*", "*.webp"))
	if len(files) != 0 {
		t.Errorf("WebP files written though not kept: %v", files)
	}
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if rep, err := h.feed.AddWebP(h.ctx, time.Minute); err != nil || rep != (WebPReport{}) {
		t.Errorf("the next sync's AddWebP = %+v, %v; want nothing made again", rep, err)
	}
}

// An image whose record lacks a width (mirrored before the width was
// added, its download again failing since) waits for the mirror to fetch
// it: its WebP would not match the record, and making it at every pass
// would cost seconds of CPU each time for nothing.
func TestAddWebPWaitsForAnImageMissingAWidth(t *testing.T) {
	h := pictureHarness(t, 2, smoothPicture(t))
	h.connect()
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	old := h.postImage()
	old.Variants = slices.DeleteFunc(old.Variants, func(v store.ImageVariant) bool { return v.Width == imaging.Widths[0] })
	if err := h.st.SaveImage(h.ctx, old); err != nil {
		t.Fatal(err)
	}
	made := 0
	h.feed.renderWebP = func(r *imaging.Renderer, data []byte, write func(imaging.Variant) error) error {
		made++
		return r.RenderWebP(data, write)
	}
	for range 2 {
		rep, err := h.feed.AddWebP(h.ctx, time.Minute)
		if err != nil || rep.Left != 0 || rep.Failed != 0 {
			t.Fatalf("AddWebP = %+v, %v; want the image missing a width neither left nor failed", rep, err)
		}
	}
	if made != 1 {
		t.Errorf("%d images encoded over two passes; want the other image's, once", made)
	}
	if _, err := os.Stat(filepath.Join(h.mediaDir, old.MediaID, fmt.Sprintf("%d.webp", imaging.Widths[0]))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a WebP was written for the image missing a width: %v", err)
	}
}
