package feed

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vitrine/instagram/fake"
	"vitrine/mediadir"
	"vitrine/testkit/testfake"
)

// videoIDs are the media ids of the fake's videos that have a media_url:
// posts and carousel items.
func videoIDs(h *harness) []string {
	var ids []string
	for _, p := range h.f.Posts() {
		if p.MediaType == fake.MediaVideo && !p.NoMediaURL {
			ids = append(ids, p.ID)
		}
		for _, c := range p.Children {
			if c.MediaType == fake.MediaVideo {
				ids = append(ids, c.ID)
			}
		}
	}
	return ids
}

// videoFile is where id's video is on disk.
func videoFile(h *harness, id string) string {
	return filepath.Join(h.mediaDir, filepath.FromSlash(mediadir.VideoPath(id)))
}

// checkVideo says whether id's video is recorded and on disk, an MP4 of
// the recorded size, as the CDN served it.
func checkVideo(t *testing.T, h *harness, id string) bool {
	t.Helper()
	im, ok, err := h.st.Image(h.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	file := videoFile(h, id)
	data, readErr := os.ReadFile(file)
	switch {
	case !ok:
		t.Errorf("%s has no image record", id)
		return false
	case im.VideoPath == "":
		if readErr == nil {
			t.Errorf("%s: video file without a record", id)
		}
		return false
	case readErr != nil:
		t.Errorf("%s: video recorded at %s but not on disk: %v", id, im.VideoPath, readErr)
		return false
	}
	if im.VideoPath != mediadir.VideoPath(id) || int64(len(data)) != im.VideoBytes || len(data) < 8 || !bytes.Equal(data[4:8], []byte("ftyp")) {
		t.Errorf("%s: recorded %s, %d bytes; on disk %d bytes starting %q", id, im.VideoPath, im.VideoBytes, len(data), data[:min(8, len(data))])
	}
	return true
}

// Videos are mirrored with their pictures, posts and carousel items alike,
// once: later syncs leave them be, and a deleted post's video goes.
func TestMirrorVideos(t *testing.T) {
	h := newHarness(t, withPosts(8)) // a video post, a carousel with a video item
	testfake.SmallPictures(h.f)      // not about the pictures
	h.feed.videoMaxBytes = 50 << 20
	h.connect()
	var last [2]int
	rep, err := h.feed.Sync(h.ctx, func(done, total int) { last = [2]int{done, total} })
	if err != nil {
		t.Fatal(err)
	}
	ids := videoIDs(h)
	if len(ids) < 2 {
		t.Fatalf("the fake has %d videos, want a post and a carousel item", len(ids))
	}
	if rep.Videos != len(ids) || rep.MirrorFailed != 0 || last[0] != last[1] || last[1] != rep.Mirrored+rep.Videos {
		t.Fatalf("report %+v, last progress %v; want %d videos", rep, last, len(ids))
	}
	if !strings.Contains(rep.String(), "videos: ") {
		t.Errorf("report says nothing of videos: %s", rep)
	}
	for _, id := range ids {
		if !checkVideo(t, h, id) {
			t.Errorf("video %s not mirrored", id)
		}
	}
	checkMirrored(t, h)

	downloads := h.f.CallsTo(".mp4")
	rep, err = h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Videos != 0 || h.f.CallsTo(".mp4") != downloads {
		t.Errorf("videos downloaded again: %+v, %d CDN calls (was %d)", rep, h.f.CallsTo(".mp4"), downloads)
	}

	// A video removed behind Vitrine's back is fetched again.
	if err := os.Remove(videoFile(h, ids[0])); err != nil {
		t.Fatal(err)
	}
	if rep, err := h.feed.Sync(h.ctx, nil); err != nil || rep.Videos != 1 {
		t.Errorf("after removing a video file: %+v %v, want it mirrored again", rep, err)
	}
	checkVideo(t, h, ids[0])

	var post string
	for _, p := range h.f.Posts() {
		if p.MediaType == fake.MediaVideo {
			post = p.ID
		}
	}
	h.f.DeletePost(post)
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(h.mediaDir, post)); !os.IsNotExist(err) {
		t.Errorf("the deleted video post's files are still there (%v)", err)
	}
}

// widget.video_max_mb 0 mirrors no video and never asks the CDN for one.
func TestMirrorNoVideosAtZero(t *testing.T) {
	h := newHarness(t, withPosts(8))
	testfake.SmallPictures(h.f) // not about the pictures
	h.connect()
	rep, err := h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Videos != 0 || rep.MirrorFailed != 0 || h.f.CallsTo(".mp4") != 0 {
		t.Errorf("report %+v, %d video downloads; want none", rep, h.f.CallsTo(".mp4"))
	}
	for _, id := range videoIDs(h) {
		if checkVideo(t, h, id) {
			t.Errorf("video %s mirrored at 0", id)
		}
	}
}

// A video over the limit is skipped, not failed: said why in the log, its
// post still shown by its picture, and not asked for again.
func TestMirrorSkipsVideoOverTheLimit(t *testing.T) {
	h := newHarness(t, withPosts(8))
	testfake.SmallPictures(h.f) // not about the pictures
	h.feed.videoMaxBytes = 1000 // the fake's video is 50 KB
	h.connect()
	rep, err := h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := videoIDs(h)
	if rep.Videos != 0 || rep.MirrorFailed != 0 {
		t.Errorf("report %+v: want the videos skipped, not mirrored or failed", rep)
	}
	checkMirrored(t, h) // every picture, the videos' thumbnails too
	logs := h.logs.String()
	for _, id := range ids {
		if checkVideo(t, h, id) {
			t.Errorf("video %s mirrored over the limit", id)
		}
		if !strings.Contains(logs, "media_id="+id) {
			t.Errorf("skipping video %s is not logged", id)
		}
	}
	if !strings.Contains(logs, "over widget.video_max_mb") || !strings.Contains(logs, "over the 1000 byte limit") {
		t.Errorf("the log does not say why:\n%s", logs)
	}
	asked := h.f.CallsTo(".mp4")
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := h.f.CallsTo(".mp4"); n != asked {
		t.Errorf("the CDN was asked for the too large videos again: %d requests, was %d", n, asked)
	}
	entries, _ := os.ReadDir(filepath.Join(h.mediaDir, ids[0]))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), mediadir.TempPrefix) {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
}

// Mirrored videos go when the limit no longer admits them (lowered, or
// 0), their pictures stay.
func TestMirrorPrunesVideosTheLimitNoLongerAdmits(t *testing.T) {
	for _, limit := range []int64{0, 1000} {
		h := newHarness(t, withPosts(8))
		testfake.SmallPictures(h.f) // not about the pictures
		h.feed.videoMaxBytes = 50 << 20
		h.connect()
		if _, err := h.feed.Sync(h.ctx, nil); err != nil {
			t.Fatal(err)
		}
		ids := videoIDs(h)
		for _, id := range ids {
			if !checkVideo(t, h, id) {
				t.Fatalf("video %s not mirrored", id)
			}
		}
		// A restart with another widget.video_max_mb.
		feed, err := New(Options{Store: h.st, Instagram: h.feed.ig, Connection: h.conn, MediaDir: h.mediaDir,
			Now: h.clock.Now, Logger: h.feed.log, DownloadsPerSecond: 1000, VideoMaxBytes: limit})
		if err != nil {
			t.Fatal(err)
		}
		h.feed = feed
		rep, err := h.feed.Sync(h.ctx, nil)
		if err != nil || rep.MirrorFailed != 0 {
			t.Fatalf("limit %d: %+v %v", limit, rep, err)
		}
		for _, id := range ids {
			if checkVideo(t, h, id) {
				t.Errorf("limit %d: video %s kept", limit, id)
			}
			if _, err := os.Stat(videoFile(h, id)); !os.IsNotExist(err) {
				t.Errorf("limit %d: %s's video file still there (%v)", limit, id, err)
			}
		}
		checkMirrored(t, h)
	}
}

// A failed video download is counted failed, leaves nothing behind and is
// retried by the next sync.
func TestMirrorRetriesFailedVideoNextSync(t *testing.T) {
	h := newHarness(t, withPosts(8))
	testfake.SmallPictures(h.f) // not about the pictures
	h.feed.videoMaxBytes = 50 << 20
	h.connect()
	h.blockCDN.Store(".mp4")
	rep, err := h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := videoIDs(h)
	if rep.MirrorFailed != len(ids) || rep.Videos != 0 {
		t.Fatalf("report %+v, want %d videos failed", rep, len(ids))
	}
	checkMirrored(t, h) // the pictures are not held back
	for _, id := range ids {
		if checkVideo(t, h, id) {
			t.Errorf("video %s recorded after a failed download", id)
		}
	}
	h.blockCDN.Store("")
	rep, err = h.feed.Sync(h.ctx, nil)
	if err != nil || rep.Videos != len(ids) || rep.MirrorFailed != 0 {
		t.Fatalf("second sync %+v %v, want the videos mirrored", rep, err)
	}
	for _, id := range ids {
		if !checkVideo(t, h, id) {
			t.Errorf("video %s not mirrored on the second sync", id)
		}
	}
}
