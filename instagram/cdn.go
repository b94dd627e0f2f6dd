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

const (
	opDownload = "download"

	// DefaultDownloadTimeout bounds one download attempt; images are at
	// most a few MiB, so this is generous even on a slow line.
	DefaultDownloadTimeout = 30 * time.Second
	// DefaultMaxDownloadBytes is used when Download is given a limit <= 0.
	DefaultMaxDownloadBytes = 20 << 20
)

// DownloadError is a failed CDN download. It names the URL without its
// query (the signature), and unwraps to ErrURLExpired, ErrUnavailable or
// ErrBadRequest.
type DownloadError struct {
	URL        string // scheme://host/path, no query
	HTTPStatus int
	Message    string
	kind       error
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

func (e *DownloadError) Unwrap() error { return e.kind }

func kindWordCDN(kind error) string {
	if kind == ErrURLExpired {
		return "URL expired"
	}
	return kindWord(kind)
}

// Download fetches a media file from Instagram's CDN (a media_url or
// thumbnail_url) and returns its bytes and content type. A URL whose host
// is not a media host, or whose name resolves to a non-public address, is
// ErrBadRequest before any connection (see Config.MediaHosts) and is not
// retried. It refuses anything that is not an image, reads at most
// maxBytes (<= 0: DefaultMaxDownloadBytes), times out each attempt after
// DefaultDownloadTimeout and retries connection errors and 5xx with backoff
// like the Graph calls. A 403 is ErrURLExpired and is not retried.
func (c *Client) Download(ctx context.Context, mediaURL string, maxBytes int64) ([]byte, string, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxDownloadBytes
	}
	u, err := url.Parse(mediaURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", &DownloadError{URL: "(invalid URL)", Message: "not an absolute http(s) URL", kind: ErrBadRequest}
	}
	safe := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if err := c.media.check(u); err != nil {
		return nil, "", &DownloadError{URL: safe, Message: err.Error(), kind: ErrBadRequest}
	}

	var lastErr error
	for attempt := 0; ; attempt++ {
		body, ctype, retry, err := c.downloadAttempt(ctx, u, safe, maxBytes)
		if err == nil {
			return body, ctype, nil
		}
		if ctx.Err() != nil {
			ce := &cancelError{op: opDownload, err: ctx.Err()}
			if lastErr != nil {
				ce.last = lastErr.Error()
			}
			return nil, "", ce
		}
		lastErr = err
		if !retry || attempt >= c.cfg.MaxRetries {
			return nil, "", err
		}
		if sleep(ctx, backoff(c.cfg.Backoff, attempt)) != nil {
			return nil, "", &cancelError{op: opDownload, err: ctx.Err(), last: lastErr.Error()}
		}
	}
}

func (c *Client) downloadAttempt(ctx context.Context, u *url.URL, safe string, maxBytes int64) ([]byte, string, bool, error) {
	actx, cancel := context.WithTimeout(ctx, max(c.cfg.Timeout, DefaultDownloadTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", false, &DownloadError{URL: safe, Message: "cannot build request", kind: ErrBadRequest}
	}
	req.Header.Set("Accept", "image/jpeg,image/png,image/*;q=0.8")
	req.Header.Set("User-Agent", "vitrine")
	resp, err := c.dl.Do(req)
	if err != nil {
		var refused *nonPublicAddrError
		if errors.As(err, &refused) {
			// The same name would resolve the same way: not retried.
			return nil, "", false, &DownloadError{URL: safe, Message: refused.Error(), kind: ErrBadRequest}
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
		return nil, "", true, &DownloadError{URL: safe, Message: msg, kind: ErrUnavailable}
	}
	defer resp.Body.Close()

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
			return nil, "", true, de
		default:
			de.kind = ErrBadRequest
		}
		return nil, "", false, de
	}
	ctype, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if !strings.HasPrefix(ctype, "image/") {
		if ctype == "" {
			ctype = "no content type"
		}
		return nil, "", false, &DownloadError{URL: safe, HTTPStatus: resp.StatusCode, Message: "not an image (" + ctype + ")", kind: ErrBadRequest}
	}
	if resp.ContentLength > maxBytes {
		return nil, "", false, &DownloadError{URL: safe, HTTPStatus: resp.StatusCode,
			Message: fmt.Sprintf("%d bytes is over the %d byte limit", resp.ContentLength, maxBytes), kind: ErrBadRequest}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		_, msg := redactTransportErr(err, nil)
		return nil, "", true, &DownloadError{URL: safe, HTTPStatus: resp.StatusCode, Message: "reading body: " + msg, kind: ErrUnavailable}
	}
	if int64(len(body)) > maxBytes {
		return nil, "", false, &DownloadError{URL: safe, HTTPStatus: resp.StatusCode,
			Message: fmt.Sprintf("over the %d byte limit", maxBytes), kind: ErrBadRequest}
	}
	return body, ctype, false, nil
}
