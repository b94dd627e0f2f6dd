package widget

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"vitrine/store"
)

// mirrorVideos records a video for each id, as the mirror job does after
// downloading it, and returns the bytes written (not a playable MP4: the
// widget only serves it).
func (e *env) mirrorVideos(ids ...string) []byte {
	e.t.Helper()
	data := append([]byte("\x00\x00\x00\x20ftypisom"), bytes.Repeat([]byte("vitrine video "), 3000)...)
	var ims []MirroredFile
	for _, id := range ids {
		path := filepath.Join(e.dir, "media", id, "video.mp4")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			e.t.Fatal(err)
		}
		ims = append(ims, MirroredFile{MediaID: id, Video: true, Path: path})
	}
	e.src.setImages(append(e.src.imagesCopy(), ims...))
	return data
}

// videoPosts are makePosts(n) with the carousel's second item a video.
func videoPosts(n int) []store.Post {
	posts := makePosts(n)
	posts[2].Children[1].MediaType = "VIDEO"
	return posts
}

// A mirrored video is served like the images, as video/mp4, with ranges
// (browsers fetch video by ranges) and always from disk, so the fast path
// hands it to net/http.
func TestVideoServedWithRanges(t *testing.T) {
	e := newEnv(t, withSeed(4))
	video := makePosts(4)[1] // a VIDEO
	data := e.mirrorVideos(video.ID)
	e.rebuild()
	path := MediaPrefix + video.ID + "/video.mp4"

	r := e.get(path)
	if r.StatusCode != http.StatusOK || !bytes.Equal(r.body, data) {
		t.Fatalf("GET: %d, %d bytes (want %d)", r.StatusCode, len(r.body), len(data))
	}
	for k, v := range map[string]string{
		"Content-Type":                 "video/mp4",
		"Cache-Control":                "public, max-age=31536000, immutable",
		"Cross-Origin-Resource-Policy": "cross-origin",
		"X-Content-Type-Options":       "nosniff",
		"Accept-Ranges":                "bytes",
		"Content-Length":               itoa(len(data)),
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	etag := r.Header.Get("Etag")

	r = e.get(path, "Range", "bytes=100-199")
	if r.StatusCode != http.StatusPartialContent || !bytes.Equal(r.body, data[100:200]) ||
		r.Header.Get("Content-Range") != "bytes 100-199/"+itoa(len(data)) || r.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("Range 100-199: %d, Content-Range %q, %d bytes", r.StatusCode, r.Header.Get("Content-Range"), len(r.body))
	}
	// What a browser sends first.
	r = e.get(path, "Range", "bytes=0-")
	if r.StatusCode != http.StatusPartialContent || len(r.body) != len(data) || r.Header.Get("Content-Range") != "bytes 0-"+itoa(len(data)-1)+"/"+itoa(len(data)) {
		t.Errorf("Range 0-: %d, Content-Range %q, %d bytes", r.StatusCode, r.Header.Get("Content-Range"), len(r.body))
	}
	if r := e.get(path, "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", r.StatusCode)
	}
	if r := e.do(http.MethodHead, path); r.StatusCode != http.StatusOK || len(r.body) != 0 || r.Header.Get("Content-Length") != itoa(len(data)) {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %q", r.StatusCode, len(r.body), r.Header.Get("Content-Length"))
	}
	if _, cached := e.w.mediaCache.Load(mediaKey{video.ID, videoWidth, false}); cached {
		t.Error("a video is held in memory")
	}
	if _, _, ok := e.w.Wire(&WireRequest{Path: path}); ok {
		t.Error("the fast path answered a video itself")
	}

	for _, target := range []string{
		MediaPrefix + makePosts(1)[0].ID + "/video.mp4", // an image post
		MediaPrefix + makePosts(6)[5].ID + "/video.mp4", // a video not mirrored
		MediaPrefix + AvatarID + "/video.mp4",
		MediaPrefix + video.ID + "/0.jpg", // the video's key, spelt as an image
		MediaPrefix + video.ID + "/Video.mp4",
		MediaPrefix + video.ID + "/video.mp4x",
		MediaPrefix + video.ID + "/video.webm",
		MediaPrefix + video.ID + "/video.mp4/x",
	} {
		if code, h := e.rawGet(target); code != http.StatusNotFound || h.Get("Content-Type") == "video/mp4" {
			t.Errorf("GET %s: %d %s, want 404", target, code, h.Get("Content-Type"))
		}
	}

	// Gone from disk: a 404, never a 500.
	if err := os.Remove(filepath.Join(e.dir, "media", video.ID, "video.mp4")); err != nil {
		t.Fatal(err)
	}
	if r := e.get(path); r.StatusCode != http.StatusNotFound {
		t.Errorf("missing file: %d", r.StatusCode)
	}
}

// widget.json gives a mirrored video's URL on the post or carousel item,
// and the lightbox's slides mark it.
func TestVideoInJSONAndSlides(t *testing.T) {
	e := newEnv(t)
	e.connect()
	posts := videoPosts(6) // VIDEO posts 1 and 5, the carousel 2
	e.replace(posts...)
	e.mirror(posts...)
	e.mirrorVideos(posts[1].ID, posts[2].Children[1].ID)
	// An image post's stray video file is no video.
	e.mirrorVideos(posts[0].ID)
	e.rebuild()

	doc := decodeJSON(t, e.get("/widget.json").text(t))
	for _, p := range doc.Posts {
		want := ""
		if p.ID == posts[1].ID {
			want = e.base + "/media/" + p.ID + "/video.mp4"
		}
		if p.Video != want {
			t.Errorf("post %s (%s): video %q, want %q", p.ID, p.Type, p.Video, want)
		}
		for _, c := range p.Children {
			want := ""
			if c.ID == posts[2].Children[1].ID {
				want = e.base + "/media/" + c.ID + "/video.mp4"
			}
			if c.Video != want || (want != "" && c.Type != "VIDEO") {
				t.Errorf("carousel item %s (%s): video %q, want %q", c.ID, c.Type, c.Video, want)
			}
		}
	}
	if v := doc.Posts[1].Video; e.get(strings.TrimPrefix(v, e.base)).StatusCode != http.StatusOK {
		t.Errorf("%s is not served", v)
	}

	// Each tile's slides, by their first media id.
	slides := map[string][][]any{}
	for _, m := range dataS.FindAllStringSubmatch(e.get("/widget").text(t), -1) {
		var s [][]any
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &s); err != nil || len(s) == 0 {
			t.Fatalf("data-s %s: %v", m[1], err)
		}
		slides[s[0][0].(string)] = s
	}
	marked := func(s []any) bool { return len(s) == 6 && s[5] == 1.0 }
	for id, want := range map[string]bool{posts[0].ID: false, posts[1].ID: true, posts[5].ID: false} {
		if s := slides[id]; len(s) != 1 || marked(s[0]) != want {
			t.Errorf("slides of %s: %v; want one, video flag %v", id, s, want)
		}
	}
	carousel := slides[posts[2].Children[0].ID]
	if len(carousel) != 3 || marked(carousel[0]) || !marked(carousel[1]) || carousel[1][0] != posts[2].Children[1].ID || marked(carousel[2]) {
		t.Errorf("carousel slides %v: want its second item marked", carousel)
	}
}

// dataS finds each tile's slides, HTML-escaped in the attribute.
var dataS = regexp.MustCompile(`data-s="([^"]*)"`)
