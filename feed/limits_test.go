package feed

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/imaging"
	"vitrine/instagram/fake"
)

// smallImages is a connected harness with a small image for each download
// worker, and one more.
func smallImages(t *testing.T) *harness {
	h := newHarness(t, withPosts(-1))
	h.connect()
	for range h.feed.mirrorWorkers + 1 {
		h.f.AddPost(fake.Post{MediaType: fake.MediaImage, Width: 320, Height: 320})
	}
	return h
}

// decodeWatch holds every image the feed decodes until release is closed,
// and counts them.
type decodeWatch struct {
	inside, most, calls atomic.Int32
	release             chan struct{}
	open                func() // closes release, once
}

func watchDecodes(h *harness) *decodeWatch {
	w := &decodeWatch{release: make(chan struct{})}
	w.open = sync.OnceFunc(func() { close(w.release) })
	render := h.feed.render
	h.feed.render = func(r *imaging.Renderer, data []byte, write func(imaging.Variant) error) (imaging.Rendered, error) {
		w.calls.Add(1)
		n := w.inside.Add(1)
		for m := w.most.Load(); n > m && !w.most.CompareAndSwap(m, n); m = w.most.Load() {
		}
		<-w.release
		w.inside.Add(-1)
		return render(r, data, write)
	}
	return w
}

// waitFor waits until decoding images are held and waiting are waiting for
// a decode slot; it fails as soon as more than decoding are held at once.
func (w *decodeWatch) waitFor(t *testing.T, h *harness, decoding, waiting int32) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for w.inside.Load() != decoding || h.feed.decodeWaiting.Load() != waiting {
		if n := w.most.Load(); n > decoding {
			t.Fatalf("%d images decoded at once", n)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d images decoding, %d waiting; want %d and %d", w.inside.Load(), h.feed.decodeWaiting.Load(), decoding, waiting)
		}
		time.Sleep(time.Millisecond)
	}
}

// backgroundSync is a sync run in another goroutine.
type backgroundSync struct {
	ended chan struct{}
	err   error
}

// syncInBackground starts a sync; before the harness closes, the decodes
// are released and the sync waited for.
func syncInBackground(t *testing.T, ctx context.Context, h *harness, w *decodeWatch) *backgroundSync {
	s := &backgroundSync{ended: make(chan struct{})}
	go func() {
		_, s.err = h.feed.Sync(ctx, nil)
		close(s.ended)
	}()
	t.Cleanup(func() {
		w.open()
		select {
		case <-s.ended:
		case <-time.After(30 * time.Second):
			t.Error("the sync did not end")
		}
	})
	return s
}

// wait returns what the sync returned.
func (s *backgroundSync) wait() error {
	<-s.ended
	return s.err
}

// Every download worker can hold a downloaded image, but only
// maxConcurrentDecodes are decoded at once; the others wait their turn.
func TestMirrorDecodesFewAtOnce(t *testing.T) {
	h := smallImages(t)
	w := watchDecodes(h)
	bg := syncInBackground(t, h.ctx, h, w)
	w.waitFor(t, h, maxConcurrentDecodes, int32(h.feed.mirrorWorkers-maxConcurrentDecodes))
	w.open()
	if err := bg.wait(); err != nil {
		t.Fatal(err)
	}
	if n := w.most.Load(); n != maxConcurrentDecodes {
		t.Errorf("%d images decoded at once, want %d", n, maxConcurrentDecodes)
	}
	checkMirrored(t, h)
}

// An image waiting for a decode slot is dropped, undecoded, when the sync
// is cancelled.
func TestMirrorStopsWaitingToDecodeWhenCancelled(t *testing.T) {
	h := smallImages(t)
	w := watchDecodes(h)
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	bg := syncInBackground(t, ctx, h, w)
	w.waitFor(t, h, maxConcurrentDecodes, int32(h.feed.mirrorWorkers-maxConcurrentDecodes))
	cancel()
	w.waitFor(t, h, maxConcurrentDecodes, 0)
	w.open()
	if err := bg.wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("sync = %v, want it cancelled", err)
	}
	if n := w.calls.Load(); n != maxConcurrentDecodes {
		t.Errorf("%d images decoded, want only the %d decoding when cancelled", n, maxConcurrentDecodes)
	}
}
