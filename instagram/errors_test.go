package instagram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		status, code int
		transient    bool
		want         error
	}{
		{400, 190, false, ErrTokenInvalid},
		{400, 102, false, ErrTokenInvalid},
		{403, 10, false, ErrTokenInvalid},
		{400, 200, false, ErrTokenInvalid},
		{400, 299, false, ErrTokenInvalid},
		{500, 190, false, ErrTokenInvalid}, // the code is the specific signal
		{400, 4, true, ErrRateLimited},     // code 4 carries is_transient too
		{400, 17, false, ErrRateLimited},
		{400, 32, false, ErrRateLimited},
		{400, 613, false, ErrRateLimited},
		{400, 341, false, ErrRateLimited},
		{400, 80002, false, ErrRateLimited},
		{429, 0, false, ErrRateLimited},
		{500, 1, true, ErrUnavailable},
		{500, 2, true, ErrUnavailable},
		{400, 0, true, ErrUnavailable},
		{502, 0, false, ErrUnavailable},
		{400, 400, false, ErrBadRequest}, // code-exchange shape
		{400, 100, false, ErrBadRequest},
		{404, 2500, false, ErrBadRequest},
		{302, 0, false, ErrBadRequest},
	}
	for _, tc := range cases {
		if got := classify(tc.status, tc.code, tc.transient); got != tc.want {
			t.Errorf("classify(%d, %d, %v) = %v, want %v", tc.status, tc.code, tc.transient, got, tc.want)
		}
	}
}

func TestAPIErrorTextAndReason(t *testing.T) {
	cases := []struct {
		err    *APIError
		text   string
		reason string
	}{
		{&APIError{Op: "me", HTTPStatus: 400, Code: 190, Subcode: 460, Message: "Error validating access token"},
			"instagram: me: token invalid (190/460): Error validating access token", "password changed"},
		{&APIError{Op: "me", HTTPStatus: 400, Code: 190, Subcode: 463}, "instagram: me: token invalid (190/463)", "token expired"},
		{&APIError{Op: "me", HTTPStatus: 400, Code: 190, Subcode: 458}, "instagram: me: token invalid (190/458)", "app access removed"},
		{&APIError{Op: "me", HTTPStatus: 400, Code: 190, Subcode: 467}, "instagram: me: token invalid (190/467)", "token invalid or logged out"},
		{&APIError{Op: "me", HTTPStatus: 400, Code: 190}, "instagram: me: token invalid (190)", "token invalid or logged out"},
		{&APIError{Op: "me", HTTPStatus: 400, Code: 102}, "instagram: me: token invalid (102)", "token invalid or logged out"},
		{&APIError{Op: "media", HTTPStatus: 403, Code: 10}, "instagram: media: token invalid (10)", "permission missing"},
		{&APIError{Op: "media", HTTPStatus: 403, Code: 200}, "instagram: media: token invalid (200)", "permission missing"},
		{&APIError{Op: "media", HTTPStatus: 400, Code: 4, RetryAfter: 5 * time.Minute, Message: "Application request limit reached"},
			"instagram: media: rate limited (4): Application request limit reached (retry after 5m0s)", "rate limited by Instagram"},
		{&APIError{Op: "me", HTTPStatus: 503, Message: "non-JSON response (text/plain): Service Unavailable"},
			"instagram: me: unavailable (HTTP 503): non-JSON response (text/plain): Service Unavailable", "Instagram unavailable"},
		{&APIError{Op: "exchange code", HTTPStatus: 400, Code: 400, Message: "Matching code was not found or was already used"},
			"instagram: exchange code: bad request (400): Matching code was not found or was already used", "authorization code rejected"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.text {
			t.Errorf("Error()\n got %q\nwant %q", got, tc.text)
		}
		if got := tc.err.Reason(); got != tc.reason {
			t.Errorf("%s: Reason() = %q, want %q", tc.text, got, tc.reason)
		}
		wrapped := fmt.Errorf("jobs: validate: %w", tc.err)
		if got := Reason(wrapped); got != tc.reason {
			t.Errorf("Reason(wrapped) = %q, want %q", got, tc.reason)
		}
		if !errors.Is(wrapped, tc.err.Unwrap()) {
			t.Errorf("errors.Is(wrapped, %v) is false", tc.err.Unwrap())
		}
	}
}

func TestReasonOtherErrors(t *testing.T) {
	cases := map[error]string{
		nil:              "",
		context.Canceled: "canceled",
		&cancelError{op: "me", err: context.DeadlineExceeded}:                 "timed out",
		&transportError{op: "me", msg: "refused", err: errors.New("refused")}: "Instagram unreachable",
		errors.New("other"): "unexpected error",
	}
	for err, want := range cases {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestParseErrorBody(t *testing.T) {
	scrub := func(s string) string { return scrubText(s, nil) }
	cases := []struct {
		body string
		want APIError
	}{
		{`{"error":{"message":"Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"EJplcsCHuLu"}}`,
			APIError{Code: 190, Subcode: 463, Type: "OAuthException", Message: "Session has expired", FBTraceID: "EJplcsCHuLu"}},
		{`{"error":{"message":"An unexpected error has occurred.","type":"OAuthException","code":2,"is_transient":true}}`,
			APIError{Code: 2, Type: "OAuthException", Message: "An unexpected error has occurred.", Transient: true}},
		{`{"error_type":"OAuthException","code":400,"error_message":"Matching code was not found or was already used"}`,
			APIError{Code: 400, Type: "OAuthException", Message: "Matching code was not found or was already used"}},
		{`{"error":"invalid_grant","error_description":"bad code=AQBsecret"}`,
			APIError{Type: "invalid_grant", Message: "bad code=REDACTED"}},
	}
	for _, tc := range cases {
		var got APIError
		if !parseErrorBody(&got, []byte(tc.body), scrub) {
			t.Errorf("not recognised: %s", tc.body)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("parseErrorBody(%s)\n got %+v\nwant %+v", tc.body, got, tc.want)
		}
	}
	for _, body := range []string{"", "<html>502</html>", `{"data":[]}`, `{"error":5}`, `[]`} {
		var got APIError
		if parseErrorBody(&got, []byte(body), scrub) {
			t.Errorf("%q recognised as an error: %+v", body, got)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	h := http.Header{}
	h.Set("X-App-Usage", `{"call_count":100,"total_cputime":20,"total_time":30}`)
	h.Set("X-Business-Use-Case-Usage", `{"17841405793187218":[{"type":"instagram","call_count":100,"total_cputime":5,"total_time":5,"estimated_time_to_regain_access":7}]}`)
	if got := retryAfter(h); got != 7*time.Minute {
		t.Errorf("retryAfter = %s, want 7m", got)
	}
	h = http.Header{}
	h.Set("X-App-Usage", `{"call_count":100,"estimated_time_to_regain_access":"3"}`)
	h.Set("Retry-After", "30")
	if got := retryAfter(h); got != 3*time.Minute {
		t.Errorf("retryAfter = %s, want 3m", got)
	}
	h = http.Header{}
	h.Set("X-App-Usage", `{"estimated_time_to_regain_access":1e300}`)
	if got := retryAfter(h); got != 24*time.Hour {
		t.Errorf("retryAfter = %s, want the 24h cap", got)
	}
	h.Set("X-App-Usage", `not json`)
	if got := retryAfter(h); got != 0 {
		t.Errorf("retryAfter(garbage) = %s", got)
	}
}
