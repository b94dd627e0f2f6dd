package feed

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"testing"

	"vitrine/instagram/fake"
	"vitrine/mediadir"
)

// mirrorHoldLimit is the most the mirror may hold at once (heldBytes) when
// it mirrors Instagram's 1080×1350 photographs: per renderer, the decoded
// pixels (2.2 MiB) and its buffers (the 640, 320 and 240 px pixels, the
// scaling's rows and the JPEG being encoded: 3 MiB); per download worker,
// a file. Rendering as draw.CatmullRom.Scale does held 27 MiB more per
// image, and encoding every width before writing any, all of them.
const mirrorHoldLimit = 16 << 20

// photo is a 1080×1350 JPEG with a photograph's amount of detail (grain
// over a gradient), about as large as Instagram's.
func photo(t *testing.T) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	img := image.NewYCbCr(image.Rect(0, 0, 1080, 1350), image.YCbCrSubsampleRatio420)
	for y := range 1350 {
		for x := range 1080 {
			img.Y[img.YOffset(x, y)] = uint8(40 + y/9 + rng.IntN(24))
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(110+rng.IntN(8)), uint8(140+rng.IntN(8))
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The first sync of a feed of photographs holds at most mirrorHoldLimit
// at once by the mirror's own count, gives everything back when it ends,
// and still writes every width of every image.
func TestMirrorHoldsAFewImagesAtOnce(t *testing.T) {
	h := newHarness(t, withPosts(-1))
	h.connect()
	body := photo(t)
	h.swapCDN.Store(&cdnSwap{part: "/cdn/", body: body})
	const posts = 12
	for range posts {
		h.f.AddPost(fake.Post{MediaType: fake.MediaImage, Width: 1080, Height: 1350})
	}
	rep, err := h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mirrored < posts || rep.MirrorFailed > 0 {
		t.Fatalf("mirrored %d, failed %d; want %d photographs", rep.Mirrored, rep.MirrorFailed, posts)
	}
	most, now := h.feed.held.most.Load(), h.feed.held.now.Load()
	t.Logf("held at most %.1f MiB (photographs of %d KB)", float64(most)/(1<<20), len(body)/1000)
	if most > mirrorHoldLimit {
		t.Errorf("the mirror held %.1f MiB at once, over %d MiB", float64(most)/(1<<20), mirrorHoldLimit>>20)
	}
	if decoded := int64(1080 * 1350 * 3 / 2); most < decoded+int64(len(body)) {
		t.Errorf("held at most %d bytes: less than one photograph downloaded and decoded; is it counted?", most)
	}
	if now != 0 {
		t.Errorf("%d bytes still held after the sync", now)
	}
	for id, im := range checkMirrored(t, h) {
		if len(im.Variants) != 4 {
			t.Errorf("%s has %d widths, want 4", id, len(im.Variants))
		}
		for i, v := range im.Variants {
			if i > 0 && v.Width <= im.Variants[i-1].Width {
				t.Errorf("%s: widths not recorded narrowest first: %+v", id, im.Variants)
			}
			if v.Path != mediadir.ImagePath(id, v.Width) || !h.feed.media.Exists(v.Path) {
				t.Errorf("%s: %d px at %q, not on disk where expected", id, v.Width, v.Path)
			}
		}
	}
}
