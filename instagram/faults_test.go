package instagram

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"vitrine/testkit"
)

// TestTokenFaults: every way a token dies is ErrTokenInvalid with the
// admin-facing reason, after exactly one call (no retry).
func TestTokenFaults(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(e *env)
		reason string
	}{
		{"expired by the clock", func(e *env) { e.f.Clock().Advance(sixtyDays + time.Minute) }, "token expired"},
		{"expired", func(e *env) { e.f.ExpireTokens() }, "token expired"},
		{"revoked", func(e *env) { e.f.RevokeTokens() }, "app access removed"},
		{"password changed", func(e *env) { e.f.ChangePassword() }, "password changed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			_, long := e.login(ctx)
			tc.break_(e)

			_, err := e.c.Me(ctx, long.AccessToken)
			e.seen(err)
			if !errors.Is(err, ErrTokenInvalid) {
				t.Fatalf("Me: %v, want ErrTokenInvalid", err)
			}
			if got := Reason(err); got != tc.reason {
				t.Errorf("Reason = %q, want %q", got, tc.reason)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != 190 || ae.Op != "me" || ae.FBTraceID == "" {
				t.Errorf("APIError = %+v", ae)
			}
			if !strings.HasPrefix(err.Error(), "instagram: me: token invalid (190/") {
				t.Errorf("Error() = %q", err)
			}
			if n := e.f.CallsTo("/me"); n != 1 {
				t.Errorf("%d /me calls, want 1: a dead token is not retried", n)
			}

			_, err = e.c.Media(ctx, long.AccessToken, 0)
			if !errors.Is(e.seen(err), ErrTokenInvalid) {
				t.Errorf("Media: %v, want ErrTokenInvalid", err)
			}
		})
	}
}

func TestRateLimited(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.longLived()
	e.f.SetRateLimited(true)

	_, err := e.c.Me(ctx, tok)
	e.seen(err)
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("Me: %v, want ErrRateLimited", err)
	}
	if errors.Is(err, ErrTokenInvalid) || errors.Is(err, ErrUnavailable) {
		t.Errorf("a rate limit must not look like another failure: %v", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.RetryAfter <= 0 {
		t.Errorf("RetryAfter not read from the usage headers: %+v", ae)
	}
	if got := Reason(err); got != "rate limited by Instagram" {
		t.Errorf("Reason = %q", got)
	}
	if n := e.f.CallsTo("/me"); n != 1 {
		t.Errorf("%d /me calls, want 1: rate limits are not retried", n)
	}

	e.f.SetRateLimited(false)
	if _, err := e.c.Me(ctx, tok); err != nil {
		t.Errorf("after the limit lifts: %v", e.seen(err))
	}
}

func TestRetriesThenSuccess(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.longLived()
	e.f.FailNext(2, 500)

	if _, err := e.c.Me(ctx, tok); err != nil {
		t.Fatalf("Me: %v", e.seen(err))
	}
	if n := e.f.CallsTo("/me"); n != 3 {
		t.Errorf("%d /me calls, want 3 (two failures, one success)", n)
	}
}

func TestRetriesAcrossMediaPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withPosts(12), withConfig(func(c *Config) { c.PageSize = 5 }))
	tok := e.longLived()
	e.f.FailNext(1, 502)
	media, err := e.c.Media(ctx, tok, 0)
	if err != nil {
		t.Fatalf("Media: %v", e.seen(err))
	}
	if len(media) != 12 {
		t.Errorf("got %d posts, want 12", len(media))
	}
	if n := e.f.CallsTo("/me/media"); n != 4 {
		t.Errorf("%d page requests, want 4 (3 pages + 1 retry)", n)
	}
}

func TestPersistent5xx(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			tok := e.longLived()
			e.f.FailNext(1000, status)

			_, err := e.c.Me(ctx, tok)
			e.seen(err)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Me: %v, want ErrUnavailable", err)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.HTTPStatus != status {
				t.Errorf("APIError = %+v", ae)
			}
			if want := int64(DefaultMaxRetries + 1); e.f.CallsTo("/me") != want {
				t.Errorf("%d /me calls, want %d", e.f.CallsTo("/me"), want)
			}
			if status != 500 && !strings.Contains(err.Error(), "non-JSON response") {
				t.Errorf("a plain-text %d should say so: %v", status, err)
			}
		})
	}
}

// A 4xx that is not JSON (a proxy's page) is ErrBadRequest, said clearly,
// and not retried; a bare 429 is a rate limit.
func TestNonJSON4xx(t *testing.T) {
	cases := []struct {
		status int
		want   error
	}{{404, ErrBadRequest}, {403, ErrBadRequest}, {429, ErrRateLimited}}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			e := newEnv(t)
			tok := e.longLived()
			e.f.FailNext(1000, tc.status)
			_, err := e.c.Me(context.Background(), tok)
			e.seen(err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Me: %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), "non-JSON response (text/plain): "+http.StatusText(tc.status)) {
				t.Errorf("Error() = %q", err)
			}
			if n := e.f.CallsTo("/me"); n != 1 {
				t.Errorf("%d /me calls, want 1", n)
			}
		})
	}
}

// The code exchange spends a single-use code: a 500 may mean Instagram
// consumed it, so it is not retried; a gateway's 502/503/504 is.
func TestExchangeCodeRetryPolicy(t *testing.T) {
	ctx := context.Background()
	t.Run("500 not retried", func(t *testing.T) {
		e := newEnv(t)
		e.f.FailNext(1, 500)
		_, err := e.c.ExchangeCode(ctx, e.authorize())
		if !errors.Is(e.seen(err), ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		if n := e.f.CallsTo("/oauth/access_token"); n != 1 {
			t.Errorf("%d token calls, want 1", n)
		}
	})
	t.Run("503 retried", func(t *testing.T) {
		e := newEnv(t)
		e.f.FailNext(2, 503)
		short, err := e.c.ExchangeCode(ctx, e.authorize())
		if err != nil {
			t.Fatalf("ExchangeCode: %v", e.seen(err))
		}
		e.track(short.AccessToken)
		if n := e.f.CallsTo("/oauth/access_token"); n != 3 {
			t.Errorf("%d token calls, want 3", n)
		}
	})
	t.Run("dropped after sending not retried", func(t *testing.T) {
		e := newEnv(t)
		e.f.SetDropConnections(true)
		_, err := e.c.ExchangeCode(ctx, e.authorize())
		if !errors.Is(e.seen(err), ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		if n := e.f.CallsTo("/oauth/access_token"); n > 1 {
			t.Errorf("%d token calls, want at most 1", n)
		}
	})
	t.Run("refused retried", func(t *testing.T) {
		e := newEnv(t)
		cfg := e.cfg
		cfg.TokenURL = "http://" + closedPort(t) + "/oauth/access_token"
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		code := e.authorize()
		_, err = c.ExchangeCode(ctx, code)
		if !errors.Is(e.seen(err), ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		if got := strings.Count(e.logs.String(), "instagram: retrying"); got != DefaultMaxRetries {
			t.Errorf("%d retries logged for a refused connection, want %d", got, DefaultMaxRetries)
		}
	})
}

func TestTimeout(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withConfig(func(c *Config) {
		c.Timeout = 50 * time.Millisecond
		c.MaxRetries = 1
	}))
	tok := e.longLived()
	e.f.SetLatency(2 * time.Second)

	start := time.Now()
	_, err := e.c.Me(ctx, tok)
	e.seen(err)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Me: %v, want ErrUnavailable", err)
	}
	if errors.Is(err, context.DeadlineExceeded) == false {
		t.Errorf("a timeout should still be recognisable: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("two 50ms attempts took %s", d)
	}
	// Both attempts were made. (Counted here, not at the fake: on a loaded
	// machine an attempt can time out before the fake's handler runs.)
	if got := strings.Count(e.logs.String(), "instagram: retrying"); got != 1 {
		t.Errorf("%d retries logged, want 1", got)
	}
	e.f.SetLatency(0)
}

func TestDroppedConnections(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.longLived()
	e.f.SetDropConnections(true)

	_, err := e.c.Me(ctx, tok)
	e.seen(err)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Me: %v, want ErrUnavailable", err)
	}
	if n := e.f.CallsTo("/me"); n != DefaultMaxRetries+1 {
		t.Errorf("%d /me calls, want %d", n, DefaultMaxRetries+1)
	}
	if got := Reason(err); got != "Instagram unreachable" {
		t.Errorf("Reason = %q", got)
	}

	e.f.SetDropConnections(false)
	if _, err := e.c.Me(ctx, tok); err != nil {
		t.Errorf("after connections recover: %v", e.seen(err))
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) {
		c.Backoff = time.Hour // the client would sleep for ages between attempts
		c.MaxRetries = 10
	}))
	tok := e.longLived()
	e.f.FailNext(1000, 503)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.c.Me(ctx, tok)
		done <- err
	}()
	testkit.Eventually(t, "the first attempt", func() bool { return e.f.CallsTo("/me") >= 1 })
	cancel()

	select {
	case err := <-done:
		e.seen(err)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if errors.Is(err, ErrTokenInvalid) {
			t.Errorf("cancellation must not look like a dead token: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Me did not return after its context was canceled")
	}
	// The first wait is random in [0, 250ms·…]: allow the rare second try,
	// but not the ten more the client would have made.
	if n := e.f.CallsTo("/me"); n > 2 {
		t.Errorf("%d /me calls after cancel, want at most 2", n)
	}
}

func TestContextCancelDuringRequest(t *testing.T) {
	e := newEnv(t)
	tok := e.longLived()
	e.f.SetLatency(time.Minute)
	t.Cleanup(func() { e.f.SetLatency(0) })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.c.Me(ctx, tok)
		done <- err
	}()
	testkit.Eventually(t, "the request to arrive", func() bool { return e.f.CallsTo("/me") >= 1 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(e.seen(err), context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Me did not return after its context was canceled")
	}
}

// closedPort returns host:port where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
