package feed

import (
	"bytes"
	"errors"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vitrine/connection"
	"vitrine/imaging"
	"vitrine/instagram/fake"
	"vitrine/mediadir"
	"vitrine/moderation"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testfake"
)

// checkMirrored: every image the posts need has a record whose files are on
// disk, decode as JPEG at the recorded sizes, and no temp file is left.
func checkMirrored(t *testing.T, h *harness) map[string]store.Image {
	t.Helper()
	posts, err := h.st.Posts(h.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, wanted := mirrorPlan(posts, h.token().ProfilePictureURL)
	ims, err := h.st.Images(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]store.Image{}
	for _, im := range ims {
		byID[im.MediaID] = im
	}
	colour := regexp.MustCompile(`^#[0-9a-f]{6}$`)
	for id := range wanted {
		im, ok := byID[id]
		if !ok {
			t.Errorf("image %s not mirrored", id)
			continue
		}
		if !colour.MatchString(im.Color) || im.Width == 0 || im.Height == 0 {
			t.Errorf("image %s: %+v", id, im)
		}
		for _, v := range im.Variants {
			if v.Width > im.Width || (!slices.Contains(imaging.Widths, v.Width) && v.Width != im.Width) {
				t.Errorf("image %s has a %dpx variant (source %dpx)", id, v.Width, im.Width)
			}
			data, err := os.ReadFile(filepath.Join(h.mediaDir, filepath.FromSlash(v.Path)))
			if err != nil {
				t.Errorf("image %s: %v", id, err)
				continue
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil || cfg.Width != v.Width || cfg.Height != v.Height || int64(len(data)) != v.Bytes {
				t.Errorf("%s: decoded %dx%d (%v), recorded %dx%d", v.Path, cfg.Width, cfg.Height, err, v.Width, v.Height)
			}
		}
	}
	for id := range byID {
		if !wanted[id] {
			t.Errorf("image %s is kept although no post needs it", id)
		}
	}
	_ = filepath.WalkDir(h.mediaDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), mediadir.TempPrefix) {
			t.Errorf("temp file left: %s", p)
		}
		return nil
	})
	return byID
}

func TestMirrorSurvivesExpiredURLs(t *testing.T) {
	h := newHarness(t, withPosts(8)) // an image, a carousel, a video and a post without media_url
	testfake.SmallPictures(h.f)      // not about the pictures
	h.connect()
	var calls [][2]int
	rep, err := h.feed.Sync(h.ctx, func(done, total int) { calls = append(calls, [2]int{done, total}) })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Posts != 8 || rep.Added != 8 || rep.MirrorFailed != 0 || rep.Mirrored == 0 {
		t.Fatalf("report %+v", rep)
	}
	if len(calls) == 0 || calls[0][0] != 0 || calls[len(calls)-1][0] != calls[len(calls)-1][1] {
		t.Errorf("progress calls %v", calls)
	}
	images := checkMirrored(t, h)
	// Every kind got its picture: videos by thumbnail, carousels by cover
	// and items; the copyright-flagged post (no media_url) has none.
	for _, p := range h.f.Posts() {
		_, ok := images[p.ID]
		if p.NoMediaURL == ok {
			t.Errorf("post %s (%s, no media_url %v): mirrored %v", p.ID, p.MediaType, p.NoMediaURL, ok)
		}
		for _, c := range p.Children {
			if _, ok := images[c.ID]; !ok {
				t.Errorf("carousel item %s (%s) not mirrored", c.ID, c.MediaType)
			}
		}
	}

	// The signed URLs expire; what was mirrored stays, and the next sync
	// (fresh URLs) downloads nothing again.
	downloads := h.f.CallsTo(".jpg")
	h.clock.Advance(fake.DefaultSignedURLTTL + time.Hour)
	checkMirrored(t, h)
	rep, err = h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mirrored != 0 || h.f.CallsTo(".jpg") != downloads {
		t.Errorf("re-downloaded mirrored images: %+v, %d CDN calls (was %d)", rep, h.f.CallsTo(".jpg"), downloads)
	}

	// A deleted post's files go.
	gone := h.f.MediaIDs()[0]
	h.f.DeletePost(gone)
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(h.mediaDir, gone)); !os.IsNotExist(err) {
		t.Errorf("files of deleted post %s still there (%v)", gone, err)
	}
	checkMirrored(t, h)
}

// The profile picture: validate stores Instagram's fresh (signed) URL and
// the account's details, sync mirrors the picture as the avatar, keeps it a
// day, and then fetches it again, since a changed picture looks just like a
// re-signed one.
func TestMirrorKeepsTheProfilePictureADay(t *testing.T) {
	h := newHarness(t, withPosts(2))
	h.connect()
	if err := h.conn.Validate(h.ctx); err != nil {
		t.Fatal(err)
	}
	a, tok := h.f.Account(), h.token()
	if tok.ProfilePictureURL == "" || tok.Name != a.Name || tok.Username != a.Username {
		t.Fatalf("after validate the token's account is %q %q, picture %q; Instagram says %q %q",
			tok.Username, tok.Name, tok.ProfilePictureURL, a.Username, a.Name)
	}
	picture := a.UserID + "_n.jpg" // the fake CDN's profile picture
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	images := checkMirrored(t, h)
	avatar, ok := images[store.AvatarMediaID]
	if !ok || h.f.CallsTo(picture) != 1 {
		t.Fatalf("avatar %+v mirrored %v, %d downloads of the picture", avatar, ok, h.f.CallsTo(picture))
	}

	h.clock.Advance(avatarMaxAge - time.Minute)
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := h.f.CallsTo(picture); n != 1 {
		t.Errorf("the picture was fetched again within a day: %d downloads", n)
	}

	h.clock.Advance(2 * time.Minute)
	if err := h.conn.Validate(h.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	again := checkMirrored(t, h)[store.AvatarMediaID]
	if n := h.f.CallsTo(picture); n != 2 || !again.MirroredAt.After(avatar.MirroredAt) {
		t.Errorf("a day later: %d downloads of the picture, mirrored at %v (was %v)", n, again.MirroredAt, avatar.MirroredAt)
	}
}

// Images mirrored before a width was added get it at the next sync; the
// next one after that downloads nothing.
func TestMirrorAddsNewWidths(t *testing.T) {
	h := newHarness(t, withPosts(3))
	h.connect()
	saved := imaging.Widths
	imaging.Widths = []int{320, 640, 1080} // what earlier versions wrote
	_, err := h.feed.Sync(h.ctx, nil)
	imaging.Widths = saved
	if err != nil {
		t.Fatal(err)
	}
	hasWidth := func(im store.Image, w int) bool {
		return slices.ContainsFunc(im.Variants, func(v store.ImageVariant) bool { return v.Width == w })
	}
	for id, im := range checkMirrored(t, h) {
		if hasWidth(im, 240) {
			t.Fatalf("image %s has 240 px before the upgrade", id)
		}
	}
	rep, err := h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	images, wide := checkMirrored(t, h), 0
	for id, im := range images {
		if im.Width < 240 {
			continue // its own width only (the profile picture)
		}
		wide++
		if !hasWidth(im, 240) {
			t.Errorf("image %s: %d px wide, no 240 px variant after the upgrade", id, im.Width)
		}
	}
	// A carousel's cover is its first child's download: one for both.
	if rep.Mirrored == 0 || rep.Mirrored > wide {
		t.Errorf("the upgrade made %d downloads for the %d images at least 240 px wide", rep.Mirrored, wide)
	}
	if rep, err = h.feed.Sync(h.ctx, nil); err != nil || rep.Mirrored != 0 {
		t.Errorf("a sync after the upgrade mirrored %d images (%v), want none", rep.Mirrored, err)
	}
}

func TestMirrorRetriesFailedDownloadNextSync(t *testing.T) {
	h := newHarness(t, withPosts(4))
	testfake.SmallPictures(h.f) // not about the pictures
	h.connect()
	victim := ""
	for _, p := range h.f.Posts() {
		if p.MediaType == fake.MediaImage && !p.NoMediaURL {
			victim = p.ID
			break
		}
	}
	h.blockCDN.Store(victim)
	rep, err := h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.MirrorFailed != 1 {
		t.Fatalf("report %+v, want one failure", rep)
	}
	if _, ok, _ := h.st.Image(h.ctx, victim); ok {
		t.Fatal("a failed download was recorded")
	}
	h.blockCDN.Store("")
	h.clock.Advance(15 * time.Minute)
	rep, err = h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mirrored != 1 || rep.MirrorFailed != 0 {
		t.Errorf("second sync %+v, want the one image retried", rep)
	}
	checkMirrored(t, h)
}

func TestMirrorLeavesNoTempFilesAfterCrash(t *testing.T) {
	h := newHarness(t, withPosts(2))
	h.connect()
	dir := filepath.Join(h.mediaDir, "123")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, mediadir.TempPrefix+"crashed")
	if err := os.WriteFile(stale, []byte("half a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	_ = os.Chtimes(stale, old, old)
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("stale temp file kept")
	}
}

// Forget (what Disconnect calls) removes every cached post, image record
// and mirrored file, and a later sync without a token writes none back.
func TestForgetRemovesWhatWasServed(t *testing.T) {
	h := newHarness(t, withPosts(3))
	h.connect()
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if len(checkMirrored(t, h)) == 0 {
		t.Fatal("nothing mirrored")
	}
	if _, err := h.st.HidePost(h.ctx, h.f.MediaIDs()[0]); err != nil {
		t.Fatal(err)
	}
	if err := h.st.DeleteToken(h.ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.feed.Forget(h.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.feed.Sync(h.ctx, nil); !errors.Is(err, connection.ErrNotConnected) {
		t.Fatalf("sync without a token: %v, want ErrNotConnected", err)
	}
	posts, err := h.st.Posts(h.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	images, err := h.st.Images(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	decisions, err := h.st.Moderation(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(posts) != 0 || len(images) != 0 || len(decisions) != 0 {
		t.Errorf("after Forget: %d posts, %d image records and %d hidden or pinned posts kept", len(posts), len(images), len(decisions))
	}
	if _, err := os.Stat(h.mediaDir); !os.IsNotExist(err) {
		t.Errorf("media directory still there (%v)", err)
	}
}

// BenchmarkSync measures one sync of 30 already-mirrored posts against the
// fake on loopback: the steady state every 15 minutes.
func BenchmarkSync(b *testing.B) {
	h := newHarness(b, withPosts(30))
	h.connect()
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.feed.Sync(h.ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// bomb is a decompression bomb: a 2 MB PNG of 6300×6300 16-bit RGBA
// pixels, under the 40 megapixels once allowed, that takes over 300 MB to
// decode.
var bomb = sync.OnceValue(func() []byte { return testkit.BlankPNG(6300, 6300, testkit.PNGRGBA, 16, nil) })

// A post whose picture is a bomb is refused from the picture's header: the
// sync succeeds, counts it failed and says why, and every other picture is
// mirrored.
func TestMirrorRefusesDecompressionBomb(t *testing.T) {
	h := newHarness(t, withPosts(2))
	h.connect()
	hostile := h.f.AddPost(fake.Post{MediaType: fake.MediaImage, Caption: "a bomb"})
	swap := &cdnSwap{part: "/" + hostile + "_n.jpg", body: bomb()}
	h.swapCDN.Store(swap)
	rep, err := h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if swap.served.Load() != 1 {
		t.Fatalf("the bomb was downloaded %d times", swap.served.Load())
	}
	if rep.MirrorFailed != 1 {
		t.Errorf("report %+v, want the bomb failed", rep)
	}
	images, err := h.st.Images(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	mirrored := map[string]bool{}
	for _, im := range images {
		mirrored[im.MediaID] = true
	}
	if mirrored[hostile] {
		t.Error("the bomb was mirrored")
	}
	for _, p := range h.f.Posts() {
		if p.ID != hostile && !p.NoMediaURL && !mirrored[p.ID] {
			t.Errorf("post %s (%s) not mirrored", p.ID, p.MediaType)
		}
		for _, c := range p.Children {
			if !mirrored[c.ID] {
				t.Errorf("carousel item %s not mirrored", c.ID)
			}
		}
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "image 6300×6300 16-bit PNG is too large to decode") || !strings.Contains(logs, hostile) {
		t.Errorf("the refusal is not logged with its reason and post:\n%s", logs)
	}

	// Later syncs, whose URLs carry a new signature for the same picture,
	// do not download it again.
	for range 2 {
		h.clock.Advance(time.Hour)
		if _, err := h.feed.Sync(h.ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := swap.served.Load(); n != 1 {
		t.Errorf("the refused picture was downloaded %d times in three syncs, want once", n)
	}
	// A new picture for the post (a new path) is tried: this one is fine.
	h.feed.imagesRefused.Store(hostile, "https://cdn.example/an-older-picture_n.jpg")
	h.swapCDN.Store(&cdnSwap{part: "/no-such-path/"})
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := checkMirrored(t, h)[hostile]; !ok {
		t.Error("a post whose refused picture was replaced is not mirrored")
	}
}

// The largest picture Instagram serves, a 1440×1800 portrait photo, is
// mirrored (the other sizes: imaging.TestCheckSizeAdmitsInstagramRefusesBombs).
func TestMirrorKeepsInstagramSizedImages(t *testing.T) {
	h := newHarness(t, withPosts(-1))
	h.connect()
	h.f.AddPost(fake.Post{MediaType: fake.MediaImage, Width: 1440, Height: 1800})
	rep, err := h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mirrored != 1 || rep.MirrorFailed != 0 {
		t.Errorf("report %+v, want it mirrored", rep)
	}
	if im := checkMirrored(t, h); len(im) != 1 {
		t.Errorf("%d images mirrored", len(im))
	}
}

// Should Instagram's CDN answer WebP, the images are decoded and stored as
// JPEG like any other. Before, WebP was an unknown format and every post
// stayed un-mirrored.
func TestMirrorDecodesWebP(t *testing.T) {
	h := newHarness(t, withPosts(3))
	h.f.ServeWebP(true)
	h.connect()
	rep, err := h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.MirrorFailed != 0 {
		t.Fatalf("report %+v: WebP images failed to mirror:\n%s", rep, h.logs.String())
	}
	ims := checkMirrored(t, h) // every file decodes as JPEG
	for id, im := range ims {
		if id != store.AvatarMediaID && (im.Width != 640 || im.Height != 800) {
			t.Errorf("image %s is %dx%d, want the WebP's 640x800", id, im.Width, im.Height)
		}
	}
}

// A hidden post's images stay moderation.HiddenImagesKept, so showing it
// again after a slip costs no download; then the next sync deletes them,
// its carousel items' too. Shown again, it is mirrored again.
func TestHiddenPostImagesGoAfterTheGracePeriod(t *testing.T) {
	h := newHarness(t, withPosts(6))
	testfake.SmallPictures(h.f) // not about the pictures
	h.connect()
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	var hidden fake.Post
	for _, p := range h.f.Posts() {
		if len(p.Children) > 0 {
			hidden = p
		}
	}
	if hidden.ID == "" {
		t.Fatal("the fake has no carousel to hide")
	}
	ids := []string{hidden.ID}
	for _, c := range hidden.Children {
		ids = append(ids, c.ID)
	}
	before := checkMirrored(t, h)
	mirrored := func() (records, dirs int) {
		t.Helper()
		ims, err := h.st.Images(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range ims {
			if slices.Contains(ids, im.MediaID) {
				records++
			}
		}
		for _, id := range ids {
			if _, err := os.Stat(filepath.Join(h.mediaDir, id)); err == nil {
				dirs++
			}
		}
		return records, dirs
	}
	if r, d := mirrored(); r != len(ids) || d != len(ids) {
		t.Fatalf("before hiding: %d records and %d directories of the %d images", r, d, len(ids))
	}
	if _, err := h.st.HidePost(h.ctx, hidden.ID); err != nil {
		t.Fatal(err)
	}

	h.clock.Advance(moderation.HiddenImagesKept - time.Minute)
	downloads := h.f.CallsTo(".jpg")
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if r, d := mirrored(); r != len(ids) || d != len(ids) {
		t.Errorf("within the grace period: %d records and %d directories of %d images, want all kept", r, d, len(ids))
	}

	h.clock.Advance(time.Minute)
	rep, err := h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, d := mirrored(); r != 0 || d != 0 {
		t.Errorf("after the grace period: %d records and %d directories of the hidden post's images kept", r, d)
	}
	if rep.Posts != 6 || rep.Images != len(before)-len(ids) || rep.Mirrored != 0 || h.f.CallsTo(".jpg") != downloads {
		t.Errorf("after the grace period: report %+v, %d downloads (was %d); the other images must stay as they were",
			rep, h.f.CallsTo(".jpg"), downloads)
	}

	if _, err := h.st.ShowPost(h.ctx, hidden.ID); err != nil {
		t.Fatal(err)
	}
	if rep, err = h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if r, d := mirrored(); r != len(ids) || d != len(ids) || rep.Mirrored == 0 {
		t.Errorf("shown again: %d records and %d directories of %d images, report %+v", r, d, len(ids), rep)
	}
	checkMirrored(t, h)
}
