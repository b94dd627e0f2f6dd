package widget

import (
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Mirrored images are served from memory once read: a JPEG of a few tens
// of kilobytes then costs no system call at all, where reading it from disk
// costs open, fstat, two seeks, sendfile and close. The mirror job never
// rewrites a file in place and the snapshot drops the images of deleted
// posts, so the cache only has to notice files changed behind Vitrine's
// back: each entry is checked against the disk (one stat) at most once per
// mediaRecheck. A file that vanished is a 404 after that, a replaced one is
// read again. The cache is bounded by Options.MediaCacheBytes and forgets
// the images a new snapshot no longer lists.

// mediaRecheck is how long a cached image is served without a stat; the
// stat costs a fifth of the CPU of a cached image request.
const mediaRecheck = time.Second

// maxCachedFile is the largest image kept in memory; larger ones are rare
// (the mirror writes JPEGs of at most 1080 px) and are sent from disk.
// Videos are always sent from disk: browsers ask for them by ranges,
// which memory would not spare a system call, and they would take the
// images' room.
const maxCachedFile = 1 << 20

var errNotRegular = errors.New("widget: not a regular file")

// mediaFile is one mirrored image held in memory; only checked changes
// once it is stored.
type mediaFile struct {
	path    string
	size    int64
	modTime time.Time
	data    []byte
	fields  []field      // the image's own, for http.ServeContent
	whole   *prepared    // the 200 to a plain GET or HEAD
	checked atomic.Int64 // when the file was last found unchanged (Unix ns)
}

// cachedMedia returns the file of key at path from memory, reading it into
// the cache first when it fits. It returns nil and no error when the file
// must be sent from disk, and the stat's error when it is not there.
func (w *Widget) cachedMedia(key mediaKey, path string) (*mediaFile, error) {
	now := time.Now().UnixNano()
	v, cached := w.mediaCache.Load(key)
	if cached {
		mf := v.(*mediaFile)
		if mf.path == path && now-mf.checked.Load() < int64(mediaRecheck) {
			return mf, nil
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errNotRegular
	}
	if cached {
		mf := v.(*mediaFile)
		if mf.path == path && mf.size == st.Size() && mf.modTime.Equal(st.ModTime()) {
			mf.checked.Store(now)
			return mf, nil
		}
	}
	if key.width == videoWidth || st.Size() > maxCachedFile || w.mediaBytes.Load()+st.Size() > w.mediaBudget {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != st.Size() {
		return nil, nil // being replaced right now: leave it to the disk
	}
	mf := &mediaFile{path: path, size: st.Size(), modTime: st.ModTime(), data: data, fields: mediaFields(key, mediaETag(key, st))}
	mf.whole = wholeFile(mf.fields, mf.size, mf.modTime)
	mf.checked.Store(now)
	w.mediaBytes.Add(mf.size)
	// The cache outlives the request: it keeps its own copy of the id.
	owned := mediaKey{strings.Clone(key.id), key.width, key.webp}
	if prev, loaded := w.mediaCache.Swap(owned, mf); loaded {
		w.mediaBytes.Add(-prev.(*mediaFile).size)
	}
	return mf, nil
}

// pruneMedia forgets cached images s does not serve from the same path.
// w.mu is held.
func (w *Widget) pruneMedia(s *snapshot) {
	w.mediaCache.Range(func(k, v any) bool {
		mf := v.(*mediaFile)
		if s.media[k.(mediaKey)] != mf.path && w.mediaCache.CompareAndDelete(k, v) {
			w.mediaBytes.Add(-mf.size)
		}
		return true
	})
}
