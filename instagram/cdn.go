package instagram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrURLExpired: the CDN refused a media URL (HTTP 403, normally "URL
// signature expired"). The file may well still exist: read the post again
// for a freshly signed URL.
var ErrURLExpired = errors.New("instagram: media URL expired")

// ErrTooLarge: a media file is over the caller's byte limit, by its
// Content-Length or by what was read. Downloads that fail with it are also
// ErrBadRequest: the same file stays too large.
var ErrTooLarge = errors.New("instagram: media file over the size limit")

const (
	opDownload = "download"

	// DefaultDownloadTimeout bounds one download attempt; images are at
	// most a few MiB, so this is generous even on a slow line.
	DefaultDownloadTimeout = 30 * time.Second
	// DefaultMaxDownloadBytes is used when Download is given a limit <= 0.
	DefaultMaxDownloadBytes = 20 << 20
	// minVideoBytesPerSecond is the slowest transfer a video download
	// waits for: its time limit grows with its byte limit, by a second per
	// 256 KiB (3 minutes and a half for 50 MiB), on top of
	// DefaultDownloadTimeout.
	minVideoBytesPerSecond = 256 << 10
)

// DownloadError is a failed CDN download. It names the URL without its
// query (the signature), and unwraps to ErrURLExpired, ErrUnavailable or
// ErrBadRequest.
type DownloadError struct {
	URL        string // scheme://host/path, no query
	HTTPStatus int
	Message    string
	kind       error
	tooLarge   bool // also ErrTooLarge
}

func (e *DownloadError) Error() string {
	s := "instagram: download " + e.URL + ": " + kindWordCDN(e.kind)
	if e.HTTPStatus != 0 {
		s += " (HTTP " + strconv.Itoa(e.HTTPStatus) + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *DownloadError) Unwrap() []error {
	if e.tooLarge {
		return []error{e.kind, ErrTooLarge}
	}
	return []error{e.kind}
}

func kindWordCDN(kind error) string {
	if kind == ErrURLExpired {
		return "URL expired"
	}
	return kindWord(kind)
}

// mediaKind is what a download must turn out to be, by its Content-Type.
type mediaKind struct {
	accept string // the Accept header sent
	name   string // in errors: "not " + name
	is     func(ctype string) bool
}

var (
	imageMedia = mediaKind{accept: "image/jpeg,image/png,image/*;q=0.8", name: "an image",
		is: func(ctype string) bool { return strings.HasPrefix(ctype, "image/") }}
	// Instagram serves every video as MP4: anything else is not one of its
	// videos, and not something every browser plays.
	videoMedia = mediaKind{accept: "video/mp4", name: "an MP4 video",
		is: func(ctype string) bool { return ctype == "video/mp4" }}
)

// Download fetches an image from Instagram's CDN (a media_url or
// thumbnail_url) and returns its bytes and content type. A URL whose host
// is not a media host, or whose name resolves to a non-public address, is
// ErrBadRequest before any connection (see Config.MediaHosts) and is not
// retried. It refuses anything that is not an image, reads at most
// maxBytes (<= 0: DefaultMaxDownloadBytes; more is ErrTooLarge), times out
// each attempt after DefaultDownloadTimeout and retries connection errors
// and 5xx with backoff like the Graph calls. A 403 is ErrURLExpired and is
// not retried.
func (c *Client) Download(ctx context.Context, mediaURL string, maxBytes int64) ([]byte, string, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxDownloadBytes
	}
	u, safe, err := c.checkMediaURL(mediaURL)
	if err != nil {
		return nil, "", err
	}
	var (
		body  []byte
		ctype string
	)
	err = c.retryDownload(ctx, func() (bool, error) {
		resp, cancel, retry, err := c.getMedia(ctx, u, safe, imageMedia, maxBytes, max(c.cfg.Timeout, DefaultDownloadTimeout))
		if err != nil {
			return retry, err
		}
		defer cancel()
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
		if err != nil {
			_, msg := redactTransportErr(err, nil)
			return true, &DownloadError{URL: safe, HTTPStatus: resp.StatusCode, Message: "reading body: " + msg, kind: ErrUnavailable}
		}
		if int64(len(b)) > maxBytes {
			return false, overLimit(safe, resp.StatusCode, maxBytes)
		}
		body, ctype = b, mediaType(resp)
		return false, nil
	})
	if err != nil {
		return nil, "", err
	}
	return body, ctype, nil
}

// DownloadVideo copies an MP4 video from Instagram's CDN (a VIDEO's
// media_url) to dst and returns its size. It checks the URL as Download
// does, refuses anything that is not video/mp4, and copies at most
// maxBytes (<= 0: DefaultMaxDownloadBytes): a larger file is ErrTooLarge,
// refused from its Content-Length when the CDN sends one, before any of it
// is read. A video may be large, so it is streamed rather than held in
// memory, and each attempt may take DefaultDownloadTimeout plus a second
// per 256 KiB of maxBytes. Failures before the body are retried like
// Download's; a transfer cut off midway is not, since dst holds part of
// it: the caller discards dst.
func (c *Client) DownloadVideo(ctx context.Context, mediaURL string, maxBytes int64, dst io.Writer) (int64, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxDownloadBytes
	}
	u, safe, err := c.checkMediaURL(mediaURL)
	if err != nil {
		return 0, err
	}
	timeout := max(c.cfg.Timeout, DefaultDownloadTimeout) + time.Duration(maxBytes/minVideoBytesPerSecond)*time.Second
	var n int64
	err = c.retryDownload(ctx, func() (bool, error) {
		resp, cancel, retry, err := c.getMedia(ctx, u, safe, videoMedia, maxBytes, timeout)
		if err != nil {
			return retry, err
		}
		defer cancel()
		defer resp.Body.Close()
		w := &writeErrors{w: dst}
		n, err = io.Copy(w, io.LimitReader(resp.Body, maxBytes+1))
		if w.err != nil {
			// Not Instagram's doing (a full disk, say): said as it is.
			return false, fmt.Errorf("instagram: download %s: %w", safe, w.err)
		}
		if err != nil {
			_, msg := redactTransportErr(err, nil)
			return false, &DownloadError{URL: safe, HTTPStatus: resp.StatusCode, Message: "copying body: " + msg, kind: ErrUnavailable}
		}
		if n > maxBytes {
			return false, overLimit(safe, resp.StatusCode, maxBytes)
		}
		return false, nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// checkMediaURL parses a CDN URL and checks its host against
// Config.MediaHosts. safe is the URL without its query (the signature),
// for errors.
func (c *Client) checkMediaURL(mediaURL string) (u *url.URL, safe string, err error) {
	u, err = url.Parse(mediaURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", &DownloadError{URL: "(invalid URL)", Message: "not an absolute http(s) URL", kind: ErrBadRequest}
	}
	safe = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if err := c.media.check(u); err != nil {
		return nil, "", &DownloadError{URL: safe, Message: err.Error(), kind: ErrBadRequest}
	}
	return u, safe, nil
}

// retryDownload runs attempt until it succeeds, fails for good (its retry
// is false), MaxRetries are spent or ctx ends, sleeping with backoff in
// between.
func (c *Client) retryDownload(ctx context.Context, attempt func() (retry bool, err error)) error {
	var lastErr error
	for n := 0; ; n++ {
		retry, err := attempt()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			ce := &cancelError{op: opDownload, err: ctx.Err()}
			if lastErr != nil {
				ce.last = lastErr.Error()
			}
			return ce
		}
		lastErr = err
		if !retry || n >= c.cfg.MaxRetries {
			return err
		}
		if sleep(ctx, backoff(c.cfg.Backoff, n)) != nil {
			return &cancelError{op: opDownload, err: ctx.Err(), last: lastErr.Error()}
		}
	}
}

// getMedia sends one GET for a file of kind and returns the response once
// it is a 200 of that kind, no longer than maxBytes by its Content-Length.
// The attempt's time limit (timeout) covers reading the body: the caller
// closes it, then calls cancel. The bool tells a failure worth another
// attempt.
func (c *Client) getMedia(ctx context.Context, u *url.URL, safe string, kind mediaKind, maxBytes int64, timeout time.Duration) (*http.Response, context.CancelFunc, bool, error) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, nil, false, &DownloadError{URL: safe, Message: "cannot build request", kind: ErrBadRequest}
	}
	req.Header.Set("Accept", kind.accept)
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.dl.Do(req)
	if err != nil {
		defer cancel()
		var refused *nonPublicAddrError
		if errors.As(err, &refused) {
			// The same name would resolve the same way: not retried.
			return nil, nil, false, &DownloadError{URL: safe, Message: refused.Error(), kind: ErrBadRequest}
		}
		// *url.Error prints the signed URL; keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err
		}
		msg := scrubText(err.Error(), []string{u.RawQuery})
		if actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			msg = "no answer in time: " + msg
		}
		return nil, nil, true, &DownloadError{URL: safe, Message: msg, kind: ErrUnavailable}
	}
	if retry, err := checkMediaResponse(resp, safe, kind, maxBytes); err != nil {
		resp.Body.Close()
		cancel()
		return nil, nil, retry, err
	}
	return resp, cancel, false, nil
}

// checkMediaResponse refuses an answer that is not a 200 of kind no
// longer than maxBytes by its Content-Length; retry tells a failure worth
// another attempt.
func checkMediaResponse(resp *http.Response, safe string, kind mediaKind, maxBytes int64) (retry bool, err error) {
	if resp.StatusCode != http.StatusOK {
		snip, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		de := &DownloadError{URL: safe, HTTPStatus: resp.StatusCode, Message: snippet(snip, func(s string) string { return scrubText(s, nil) })}
		switch {
		case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusGone:
			de.kind = ErrURLExpired
		case resp.StatusCode == http.StatusTooManyRequests:
			de.kind = ErrRateLimited
		case resp.StatusCode >= 500:
			de.kind = ErrUnavailable
			return true, de
		default:
			de.kind = ErrBadRequest
		}
		return false, de
	}
	if ctype := mediaType(resp); !kind.is(ctype) {
		if ctype == "" {
			ctype = "no content type"
		}
		return false, &DownloadError{URL: safe, HTTPStatus: resp.StatusCode, Message: "not " + kind.name + " (" + ctype + ")", kind: ErrBadRequest}
	}
	if resp.ContentLength > maxBytes {
		return false, &DownloadError{URL: safe, HTTPStatus: resp.StatusCode,
			Message: fmt.Sprintf("%d bytes is over the %d byte limit", resp.ContentLength, maxBytes), kind: ErrBadRequest, tooLarge: true}
	}
	return false, nil
}

// mediaType is resp's Content-Type without parameters, "" when absent or
// unreadable.
func mediaType(resp *http.Response) string {
	ctype, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return ctype
}

func overLimit(safe string, status int, maxBytes int64) *DownloadError {
	return &DownloadError{URL: safe, HTTPStatus: status,
		Message: fmt.Sprintf("over the %d byte limit", maxBytes), kind: ErrBadRequest, tooLarge: true}
}

// writeErrors tells dst's errors from the body's in an io.Copy.
type writeErrors struct {
	w   io.Writer
	err error
}

func (w *writeErrors) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}
