package instagram

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestNoSecretsLeak drives every flow and every fault through one client
// whose logger writes debug lines to a buffer, collects every error, and
// checks that no token, code or the client secret shows up anywhere. (Every
// other test runs the same check on its own env at cleanup.)
func TestNoSecretsLeak(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withPosts(12), withConfig(func(c *Config) {
		c.PageSize = 5
		c.Timeout = 100 * time.Millisecond
		c.MaxRetries = 1
	}))
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, e.seen(err))
		}
	}
	try := func(err error) { e.seen(err) }

	// Authorize in the browser, with the code as the callback gets it.
	loc := e.approveInBrowser(e.c.AuthorizeURL("s"))
	code := loc.Query().Get("code")
	e.track(code)
	short, err := e.c.ExchangeCode(ctx, code+"#_")
	must("ExchangeCode", err)
	e.track(short.AccessToken)
	_, err = e.c.ExchangeCode(ctx, code) // reused
	try(err)

	e.f.SetWrappedCodeResponse(true)
	short2, err := e.c.ExchangeCode(ctx, e.authorize())
	must("ExchangeCode wrapped", err)
	e.track(short2.AccessToken)
	e.f.SetWrappedCodeResponse(false)

	long, err := e.c.ExchangeLongLived(ctx, short.AccessToken)
	must("ExchangeLongLived", err)
	e.track(long.AccessToken)
	_, err = e.c.ExchangeLongLived(ctx, "IGAAnot-a-real-token-0123456789abcdef")
	e.track("IGAAnot-a-real-token-0123456789abcdef")
	try(err)

	_, err = e.c.Refresh(ctx, long.AccessToken) // too early
	try(err)
	e.f.Clock().Advance(25 * time.Hour)
	fresh, err := e.c.Refresh(ctx, long.AccessToken)
	must("Refresh", err)
	e.track(fresh.AccessToken)

	_, err = e.c.Me(ctx, fresh.AccessToken)
	must("Me", err)
	_, err = e.c.Media(ctx, fresh.AccessToken, 0)
	must("Media", err)

	faults := []func(){
		func() { e.f.FailNext(1000, 500) },
		func() { e.f.FailNext(1000, 502) },
		func() { e.f.FailNext(1000, 503) },
		func() { e.f.SetRateLimited(true) },
		func() { e.f.SetDropConnections(true) },
		func() { e.f.SetLatency(time.Second) },
		func() { e.f.ExpireTokens() },
		func() { e.f.RevokeTokens() },
		func() { e.f.ChangePassword() },
	}
	for _, fault := range faults {
		fault()
		_, err = e.c.Me(ctx, fresh.AccessToken)
		try(err)
		_, err = e.c.Media(ctx, fresh.AccessToken, 0)
		try(err)
		_, err = e.c.Refresh(ctx, fresh.AccessToken)
		try(err)
		_, err = e.c.ExchangeLongLived(ctx, short2.AccessToken)
		try(err)
		_, err = e.c.ExchangeCode(ctx, e.authorize())
		try(err)
		if err == nil {
			t.Log("an exchange succeeded under a fault")
		}
		e.f.ResetFaults()
	}
	e.f.Clock().Advance(sixtyDays)
	_, err = e.c.Me(ctx, fresh.AccessToken)
	try(err)

	// Nothing listens: Go's *url.Error would print the whole URL.
	cfg := e.cfg
	dead := "http://" + closedPort(t)
	cfg.GraphURL, cfg.TokenURL = dead, dead+"/oauth/access_token"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Me(ctx, fresh.AccessToken)
	try(err)
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("connection refused: want a *url.Error in the chain, got %v", err)
	}
	if !strings.Contains(ue.URL, "access_token=REDACTED") {
		t.Errorf("url.Error URL = %q, want access_token=REDACTED", ue.URL)
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("connection refused: %v, want ErrUnavailable", err)
	}
	_, err = c.ExchangeLongLived(ctx, short2.AccessToken)
	try(err)
	_, err = c.ExchangeCode(ctx, e.authorize())
	try(err)

	// The check means something only if the URLs were logged at all.
	logs := e.logs.String()
	if !strings.Contains(logs, "access_token=REDACTED") || !strings.Contains(logs, "client_secret=REDACTED") {
		t.Errorf("debug logs should show redacted URLs:\n%s", logs)
	}
	if len(e.errs) < 20 {
		t.Errorf("only %d error renderings collected", len(e.errs))
	}
}
