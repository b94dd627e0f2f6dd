package fake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CDN paths imitate scontent.cdninstagram.com's shapes; only their ending
// (.jpg / .mp4) means anything to a client.
func imagePath(id string) string           { return "/cdn/v/t51.29350-15/" + id + "_n.jpg" }
func thumbnailPath(id string) string       { return "/cdn/v/t51.29350-15/" + id + "_thumb_n.jpg" }
func videoPath(id string) string           { return "/cdn/o1/v/t16/f2/m86/" + id + "_n.mp4" }
func profilePicturePath(uid string) string { return "/cdn/v/t51.2885-19/" + uid + "_n.jpg" }

type assetKind int

const (
	assetJPEG assetKind = iota
	assetMP4
)

// asset is one CDN file, generated on first request and kept in memory;
// every video is the same sample.
type asset struct {
	kind assetKind
	w, h int
	seed uint64
	play bool // draw a play button (video thumbnails)

	once sync.Once
	data []byte
}

func (a *asset) bytes() []byte {
	a.once.Do(func() {
		if a.kind == assetMP4 {
			a.data = sampleMP4
		} else {
			a.data = renderJPEG(a.w, a.h, a.seed, a.play)
		}
	})
	return a.data
}

func (f *Fake) registerAsset(path string, a *asset) {
	f.assetsMu.Lock()
	defer f.assetsMu.Unlock()
	if old, ok := f.assets[path]; ok && old.kind == a.kind && old.w == a.w && old.h == a.h && old.play == a.play {
		return // keep the cached bytes
	}
	f.assets[path] = a
}

// registerMediaAssets makes the CDN able to serve p's files.
func (f *Fake) registerMediaAssets(p *Post) {
	seed := seedOf(p.ID)
	switch p.MediaType {
	case MediaVideo:
		f.registerAsset(videoPath(p.ID), &asset{kind: assetMP4, seed: seed})
		f.registerAsset(thumbnailPath(p.ID), &asset{kind: assetJPEG, w: p.Width, h: p.Height, seed: seed, play: true})
	case MediaCarousel:
		if len(p.Children) == 0 {
			f.registerAsset(imagePath(p.ID), &asset{kind: assetJPEG, w: p.Width, h: p.Height, seed: seed})
		}
	default:
		f.registerAsset(imagePath(p.ID), &asset{kind: assetJPEG, w: p.Width, h: p.Height, seed: seed})
	}
}

// mediaURLPath is the CDN path behind p's media_url; false when the field
// is absent. An album's media_url is its first child's, as on Instagram.
func mediaURLPath(p *Post) (string, bool) {
	if p.NoMediaURL {
		return "", false
	}
	switch p.MediaType {
	case MediaVideo:
		return videoPath(p.ID), true
	case MediaCarousel:
		if len(p.Children) > 0 {
			return mediaURLPath(&p.Children[0])
		}
	}
	return imagePath(p.ID), true
}

// signedURL mints an absolute CDN URL valid for SignedURLTTL from now.
func (f *Fake) signedURL(base, path string, now time.Time) string {
	oe := strings.ToUpper(strconv.FormatInt(now.Add(f.signedTTL).Unix(), 16))
	return base + f.prefix + path + "?oh=" + f.sign(path, oe) + "&oe=" + oe
}

func (f *Fake) sign(path, oe string) string {
	m := hmac.New(sha256.New, f.cdnKey)
	m.Write([]byte(path + "\x00" + oe))
	return hex.EncodeToString(m.Sum(nil))
}

// serveCDN serves a generated file if its oh/oe signature is right and not
// expired, answering 403 like the real CDN otherwise.
func (f *Fake) serveCDN(w http.ResponseWriter, r *http.Request, p string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		cdnText(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	q := r.URL.Query()
	oh, oe := q.Get("oh"), q.Get("oe")
	if oh == "" || oe == "" || !hmac.Equal([]byte(oh), []byte(f.sign(p, oe))) {
		cdnText(w, http.StatusForbidden, "Bad URL hash")
		return
	}
	exp, err := strconv.ParseInt(oe, 16, 64)
	if err != nil {
		cdnText(w, http.StatusForbidden, "Bad URL hash")
		return
	}
	if !f.clock.Now().Before(time.Unix(exp, 0)) {
		cdnText(w, http.StatusForbidden, "URL signature expired")
		return
	}
	f.assetsMu.Lock()
	a, ok := f.assets[p]
	webp := f.webp
	f.assetsMu.Unlock()
	if !ok {
		cdnText(w, http.StatusNotFound, "Not Found")
		return
	}
	data := a.bytes()
	h := w.Header()
	switch {
	case a.kind == assetMP4:
		h.Set("Content-Type", "video/mp4")
	case webp:
		h.Set("Content-Type", "image/webp")
		data = sampleWebP
	default:
		h.Set("Content-Type", "image/jpeg")
	}
	h.Set("Cache-Control", "max-age=1209600, no-transform")
	// Instagram's CDN refuses cross-origin embedding, one more reason
	// Vitrine serves its own copies.
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func cdnText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(msg))
}
