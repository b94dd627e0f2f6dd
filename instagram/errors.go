package instagram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinels callers branch on with errors.Is. Every error this package returns
// wraps exactly one of them, except context cancellation (see cancelError).
var (
	// ErrTokenInvalid: the token can no longer be used (expired, revoked,
	// password changed, scope missing). Only a new authorization fixes it.
	ErrTokenInvalid = errors.New("instagram: token invalid")
	// ErrRateLimited: Instagram throttles the app or the account; wait
	// APIError.RetryAfter (when known) before the next call.
	ErrRateLimited = errors.New("instagram: rate limited")
	// ErrUnavailable: upstream trouble (5xx, timeouts, connection errors,
	// transient Graph codes) that outlived the retries. Never a re-auth.
	ErrUnavailable = errors.New("instagram: unavailable")
	// ErrBadRequest: Instagram refused the request for any other reason,
	// including a rejected authorization code.
	ErrBadRequest = errors.New("instagram: bad request")
)

// APIError is an error answer from Instagram (or a response we could not use).
// Message and every other field are already free of tokens, secrets and codes.
type APIError struct {
	Op         string // "exchange code", "me", "media", ...
	HTTPStatus int
	Code       int // Graph error code, or the "code" of the code-exchange error shape
	Subcode    int
	Type       string
	Message    string
	FBTraceID  string
	Transient  bool          // Graph's is_transient flag
	RetryAfter time.Duration // from the usage headers or Retry-After, when present

	kind error // the sentinel; computed from the fields when nil
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("instagram: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(kindWord(e.Unwrap()))
	switch {
	case e.Code != 0 && e.Subcode != 0:
		fmt.Fprintf(&b, " (%d/%d)", e.Code, e.Subcode)
	case e.Code != 0:
		fmt.Fprintf(&b, " (%d)", e.Code)
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the matching sentinel so errors.Is works.
func (e *APIError) Unwrap() error {
	if e.kind != nil {
		return e.kind
	}
	return classify(e.HTTPStatus, e.Code, e.Transient)
}

// Reason is a short explanation for the admin's dashboard and alerts.
func (e *APIError) Reason() string {
	switch e.Unwrap() {
	case ErrTokenInvalid:
		switch {
		case e.Code == 190 && e.Subcode == 463:
			return "token expired"
		case e.Code == 190 && e.Subcode == 460:
			return "password changed"
		case e.Code == 190 && e.Subcode == 458:
			return "app access removed"
		case e.Code == 190 && e.Subcode == 464:
			return "account not confirmed"
		case e.Code == 10 || (e.Code >= 200 && e.Code <= 299):
			return "permission missing"
		default:
			return "token invalid or logged out"
		}
	case ErrRateLimited:
		return "rate limited by Instagram"
	case ErrUnavailable:
		return "Instagram unavailable"
	default:
		if e.Op == opExchangeCode {
			return "authorization code rejected"
		}
		return "request rejected by Instagram"
	}
}

// Reason explains err in words for the admin; "" for nil.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae.Reason()
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, ErrUnavailable):
		return "Instagram unreachable"
	case errors.Is(err, ErrBadRequest):
		return "request rejected by Instagram"
	default:
		return "unexpected error"
	}
}

// classify maps a Graph error code (first: it is the specific signal) or else
// the HTTP status to a sentinel. Graph codes:
//   - 190 (with subcodes 463 expired, 460 password changed, 458 app removed),
//     102 (session invalid), 10 and 200-299 (permission missing): the token
//     is unusable until the owner authorizes again;
//   - 4, 17, 32, 613, 341, 80002: throttled (80002 is the Instagram Login
//     app limit);
//   - 1, 2 and is_transient: Instagram's own trouble, worth a retry.
//
// Without a known code, 429 is throttling and 5xx upstream trouble.
func classify(status, code int, transient bool) error {
	switch {
	case code == 190 || code == 102 || code == 10 || (code >= 200 && code <= 299):
		return ErrTokenInvalid
	case isRateLimitCode(code) || status == http.StatusTooManyRequests:
		return ErrRateLimited
	case code == 1 || code == 2 || transient || status >= 500:
		return ErrUnavailable
	case status >= 200 && status < 300:
		// A 2xx we could not use (malformed body): upstream trouble.
		return ErrUnavailable
	default:
		return ErrBadRequest
	}
}

func isRateLimitCode(code int) bool {
	switch code {
	case 4, 17, 32, 613, 341, 80002:
		return true
	}
	return false
}

func kindWord(kind error) string {
	switch kind {
	case ErrTokenInvalid:
		return "token invalid"
	case ErrRateLimited:
		return "rate limited"
	case ErrUnavailable:
		return "unavailable"
	case ErrBadRequest:
		return "bad request"
	}
	return "error"
}

// transportError is a request that got no HTTP answer (refused, reset,
// timed out). It is always ErrUnavailable and also unwraps to the redacted
// *url.Error so errors.As(err, &urlErr) and net timeouts still work.
type transportError struct {
	op  string
	msg string // redacted text of err
	err error  // *url.Error with a redacted URL, or a read error
}

func (e *transportError) Error() string {
	return "instagram: " + e.op + ": unavailable: " + e.msg
}

func (e *transportError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// cancelError is returned when the caller's context ends: that is the
// caller's decision, not Instagram's trouble, so it wraps only ctx.Err().
type cancelError struct {
	op   string
	err  error  // ctx.Err()
	last string // redacted text of the last attempt's error, if any
}

func (e *cancelError) Error() string {
	s := "instagram: " + e.op + ": " + e.err.Error()
	if e.last != "" {
		s += " (last error: " + e.last + ")"
	}
	return s
}

func (e *cancelError) Unwrap() error { return e.err }

// graphErrorBody covers both error shapes Instagram uses:
// graph: {"error":{"message","type","code","error_subcode","fbtrace_id","is_transient"}}
// code exchange: {"error_type","code","error_message"}
// and the RFC 6749 one ({"error":"invalid_grant","error_description"}) for good measure.
type graphErrorBody struct {
	Error        json.RawMessage `json:"error"`
	ErrorType    string          `json:"error_type"`
	Code         flexInt         `json:"code"`
	ErrorMessage string          `json:"error_message"`
	ErrorDesc    string          `json:"error_description"`
}

type graphErrorObject struct {
	Message     string  `json:"message"`
	Type        string  `json:"type"`
	Code        flexInt `json:"code"`
	Subcode     flexInt `json:"error_subcode"`
	FBTraceID   string  `json:"fbtrace_id"`
	IsTransient bool    `json:"is_transient"`
	UserMsg     string  `json:"error_user_msg"`
}

// parseErrorBody fills e from body; it reports whether body was a
// recognisable JSON error. scrub removes secrets from every copied string.
func parseErrorBody(e *APIError, body []byte, scrub func(string) string) bool {
	var b graphErrorBody
	if json.Unmarshal(body, &b) != nil {
		return false
	}
	trimmed := strings.TrimSpace(string(b.Error))
	switch {
	case strings.HasPrefix(trimmed, "{"):
		var o graphErrorObject
		if json.Unmarshal(b.Error, &o) != nil {
			return false
		}
		e.Code, e.Subcode = int(o.Code), int(o.Subcode)
		e.Type, e.FBTraceID, e.Transient = scrub(o.Type), scrub(o.FBTraceID), o.IsTransient
		e.Message = o.Message
		if e.Message == "" {
			e.Message = o.UserMsg
		}
	case strings.HasPrefix(trimmed, `"`):
		var s string
		_ = json.Unmarshal(b.Error, &s)
		e.Type, e.Message = scrub(s), b.ErrorDesc
	case b.ErrorType != "" || b.ErrorMessage != "":
		e.Type, e.Code, e.Message = scrub(b.ErrorType), int(b.Code), b.ErrorMessage
	default:
		return false
	}
	e.Message = shorten(scrub(e.Message), 300)
	return true
}

// snippet is a short, printable, token-free excerpt of a body we could not
// parse, so the admin sees "<html>… 502 Bad Gateway" rather than nothing.
func snippet(body []byte, scrub func(string) string) string {
	s := scrub(string(body))
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	// Scrub again: collapsing whitespace can join a key and its value.
	return shorten(scrub(s), 80)
}

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// retryAfter reads how long Instagram wants us to wait: the usage headers
// carry estimated_time_to_regain_access in minutes; Retry-After in seconds.
func retryAfter(h http.Header) time.Duration {
	var best time.Duration
	for _, name := range []string{"X-Business-Use-Case-Usage", "X-App-Usage", "X-Ad-Account-Usage"} {
		for _, v := range h.Values(name) {
			var doc any
			if json.Unmarshal([]byte(v), &doc) != nil {
				continue
			}
			if m := min(maxRegainMinutes(doc, 0), 24*60); m > 0 {
				best = max(best, time.Duration(m*float64(time.Minute)))
			}
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
			best = max(best, time.Duration(s)*time.Second)
		}
	}
	// A day is far beyond anything Instagram documents; cap so a garbled
	// header cannot park the scheduler for years.
	return min(best, 24*time.Hour)
}

// maxRegainMinutes walks the usage JSON (shape differs per header) for the
// largest estimated_time_to_regain_access.
func maxRegainMinutes(v any, depth int) float64 {
	if depth > 8 {
		return 0
	}
	var best float64
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if k == "estimated_time_to_regain_access" {
				switch n := x.(type) {
				case float64:
					best = max(best, n)
				case string:
					if f, err := strconv.ParseFloat(n, 64); err == nil {
						best = max(best, f)
					}
				}
				continue
			}
			best = max(best, maxRegainMinutes(x, depth+1))
		}
	case []any:
		for _, x := range t {
			best = max(best, maxRegainMinutes(x, depth+1))
		}
	}
	if best != best || best < 0 { // NaN or negative
		return 0
	}
	return best
}
