package widget

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// File answers that stream (a range, a video) are the ones a visitor can
// make expensive: many at once, or one to a client that reads slowly. The
// rules here keep each one's cost near its file's size and their number
// bounded, while an ordinary whole image never waits behind them.

const (
	// maxStreams bounds the range and video answers under way at once.
	maxStreams = 32
	// streamSlotWait is how long an answer waits for a slot before it
	// is told to come back (503 with Retry-After).
	streamSlotWait = 2 * time.Second
	// streamChunk and streamChunkTimeout set the slowest client served
	// whole: each chunk must be taken within the timeout, about 2 KB/s,
	// so a 50 MB video reaches a 1 Mbit/s client, while one that stops
	// reading is cut off after streamChunkTimeout.
	streamChunk        = 64 << 10
	streamChunkTimeout = 30 * time.Second
)

// rangeVerdict is what a Range header asks of a file answer.
type rangeVerdict int

const (
	rangeNone          rangeVerdict = iota // no usable Range: the whole file
	rangeOne                               // one range, for http.ServeContent
	rangeUnsatisfiable                     // 416
)

// judgeRange reads r's Range header. Several ranges are answered with the
// whole file (200): RFC 9110 §14.2 lets a server ignore Range, and a
// multipart answer of thousands of tiny ranges costs the server far more
// than the file while a whole file costs no more than a plain GET. An
// empty suffix (bytes=-0) selects nothing, which §14.1.1 calls
// unsatisfiable: 416, where http.ServeContent would answer an empty 206.
func judgeRange(h http.Header) rangeVerdict {
	values := h.Values("Range")
	if len(values) == 0 {
		return rangeNone
	}
	if len(values) > 1 {
		return rangeNone // two fields, one list each: several ranges
	}
	unit, set, ok := strings.Cut(strings.TrimSpace(values[0]), "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return rangeNone // a unit we don't serve: ignored (§14.2)
	}
	specs := 0
	for spec := range strings.SplitSeq(set, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue // empty list elements don't count (§5.6.1)
		}
		if specs++; specs > 1 {
			return rangeNone
		}
		if suffix, ok := strings.CutPrefix(spec, "-"); ok {
			if n, err := strconv.ParseInt(suffix, 10, 64); err == nil && n == 0 {
				return rangeUnsatisfiable
			}
		}
	}
	if specs == 0 {
		return rangeNone
	}
	return rangeOne
}

// refuseRange answers 416 for a file of size bytes.
func refuseRange(rw http.ResponseWriter, size int64) {
	// The file's fields were set already: a refusal is not the file, so
	// no cache may keep it for the file's year, nor take its validators.
	h := rw.Header()
	h.Del("Etag")
	h.Del("Last-Modified")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
	http.Error(rw, "416 requested range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
}

// errBusy is acquireStream's answer when every slot stayed taken.
var errBusy = errors.New("widget: too many file answers under way")

// acquireStream takes one of the maxStreams slots, waiting at most
// streamSlotWait (w.streamSlotWait, which tests shorten), and returns its
// release.
func (w *Widget) acquireStream(ctx context.Context) (release func(), err error) {
	select {
	case w.streams <- struct{}{}:
		return func() { <-w.streams }, nil
	default:
	}
	t := time.NewTimer(w.streamSlotWait)
	defer t.Stop()
	select {
	case w.streams <- struct{}{}:
		return func() { <-w.streams }, nil
	case <-t.C:
		return nil, errBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// answerBusy tells the client to come back in a second.
func answerBusy(rw http.ResponseWriter) {
	rw.Header().Set("Retry-After", "1")
	rw.Header().Set("Cache-Control", "no-store")
	http.Error(rw, "503 busy: try again in a second", http.StatusServiceUnavailable)
}

// paced is a ResponseWriter whose write deadline moves with the bytes:
// every streamChunk written gets chunkTimeout (streamChunkTimeout but in
// tests) of its own, in place of the server's one deadline for the whole
// answer.
type paced struct {
	http.ResponseWriter
	rc           *http.ResponseController
	chunkTimeout time.Duration
}

func newPaced(rw http.ResponseWriter, chunkTimeout time.Duration) *paced {
	return &paced{ResponseWriter: rw, rc: http.NewResponseController(rw), chunkTimeout: chunkTimeout}
}

func (p *paced) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		n := min(len(b), streamChunk)
		if err := p.rc.SetWriteDeadline(time.Now().Add(p.chunkTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return written, err
		}
		m, err := p.ResponseWriter.Write(b[:n])
		written += m
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (p *paced) Unwrap() http.ResponseWriter { return p.ResponseWriter }
