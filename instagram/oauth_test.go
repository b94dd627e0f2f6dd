package instagram

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"vitrine/instagram/fake"
)

const sixtyDays = 60 * 24 * time.Hour

func TestAuthorizeURL(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) {
		c.Scopes = []string{"instagram_business_basic", "instagram_business_manage_comments"}
	}))
	raw := e.c.AuthorizeURL("st4te-value")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(e.ep.AuthURL)
	if u.Scheme != base.Scheme || u.Host != base.Host || u.Path != base.Path {
		t.Errorf("authorize URL %s does not start with %s", raw, e.ep.AuthURL)
	}
	q := u.Query()
	want := map[string]string{
		"response_type": "code",
		"client_id":     e.f.ClientID(),
		"redirect_uri":  testRedirect,
		"scope":         "instagram_business_basic,instagram_business_manage_comments",
		"state":         "st4te-value",
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(q) != len(want) {
		t.Errorf("unexpected parameters in %v", q)
	}
	if strings.Contains(raw, e.f.ClientSecret()) {
		t.Error("the client secret is in the authorize URL")
	}
	// ForceReauth makes Instagram ask which account to connect, and the
	// fake's dialog shows it.
	forced := newEnv(t, withConfig(func(c *Config) { c.ForceReauth = true }))
	fu, _ := url.Parse(forced.c.AuthorizeURL("st4te"))
	if fu.Query().Get("force_reauth") != "true" {
		t.Errorf("ForceReauth: no force_reauth=true in %s", fu)
	}
	resp, err := http.Get(fu.String())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "data-force-reauth") {
		t.Errorf("the fake's dialog does not ask which account:\n%.800s", page)
	}
}

// TestFullFlow is the admin's Generate end to end: the browser approves on
// the authorize page, the callback's code becomes a 60-day token, and the
// token reads the profile and every post.
func TestFullFlow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	clock := e.f.Clock()

	loc := e.approveInBrowser(e.c.AuthorizeURL("xyz"))
	if got := loc.Scheme + "://" + loc.Host + loc.Path; !strings.HasPrefix(testRedirect, got) {
		t.Fatalf("redirected to %s, want %s", got, testRedirect)
	}
	if loc.Query().Get("state") != "xyz" {
		t.Errorf("state = %q, want xyz", loc.Query().Get("state"))
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", e.seen(errors.New(loc.Query().Encode())))
	}
	e.track(code)
	if loc.Fragment != "_" {
		t.Errorf("callback fragment = %q, want Instagram's \"_\"", loc.Fragment)
	}

	// The callback handler may hand us the code with Instagram's "#_".
	short, err := e.c.ExchangeCode(ctx, code+"#_")
	if err != nil {
		t.Fatalf("ExchangeCode: %v", e.seen(err))
	}
	e.track(short.AccessToken)
	if short.AccessToken == "" {
		t.Error("empty short-lived token")
	}
	if short.UserID != e.f.Account().UserID {
		t.Errorf("UserID = %q, want %q", short.UserID, e.f.Account().UserID)
	}
	if !slices.Contains(short.Permissions, "instagram_business_basic") {
		t.Errorf("Permissions = %q", short.Permissions)
	}

	long, err := e.c.ExchangeLongLived(ctx, short.AccessToken)
	if err != nil {
		t.Fatalf("ExchangeLongLived: %v", e.seen(err))
	}
	e.track(long.AccessToken)
	if long.AccessToken == "" || long.AccessToken == short.AccessToken {
		t.Errorf("long-lived token is empty or the short-lived one")
	}
	if !strings.EqualFold(long.TokenType, "bearer") {
		t.Errorf("TokenType = %q", long.TokenType)
	}
	within(t, "ExpiresAt", long.ExpiresAt, clock.Now().Add(sixtyDays), 24*time.Hour)
	if !long.ExpiresAt.Equal(clock.Now().Add(long.ExpiresIn)) {
		t.Errorf("ExpiresAt %s != now + ExpiresIn %s", long.ExpiresAt, long.ExpiresIn)
	}

	p, err := e.c.Me(ctx, long.AccessToken)
	if err != nil {
		t.Fatalf("Me: %v", e.seen(err))
	}
	acct := e.f.Account()
	if p.UserID != acct.UserID || p.Username != acct.Username || p.Name != acct.Name ||
		p.AccountType != acct.AccountType || p.FollowersCount != acct.FollowersCount ||
		p.FollowsCount != acct.FollowsCount || p.MediaCount != acct.MediaCount {
		t.Errorf("Me = %+v, want the fake's account %+v", p, acct)
	}
	if p.ProfilePictureURL == "" {
		t.Error("no profile picture URL")
	}

	media, err := e.c.Media(ctx, long.AccessToken, 0)
	if err != nil {
		t.Fatalf("Media: %v", e.seen(err))
	}
	checkMediaMatchesFake(t, e.f, media)
}

// checkMediaMatchesFake compares what Media returned with the fake's posts.
func checkMediaMatchesFake(t *testing.T, f *fake.Fake, media []Media) {
	t.Helper()
	posts := f.Posts()
	if len(media) != len(posts) {
		t.Fatalf("got %d posts, want %d", len(media), len(posts))
	}
	var carousels, videos int
	for i, m := range media {
		p := posts[i]
		if m.ID != p.ID {
			t.Errorf("post %d: id %s, want %s (order newest first)", i, m.ID, p.ID)
		}
		if m.MediaType != p.MediaType {
			t.Errorf("post %s: type %s, want %s", m.ID, m.MediaType, p.MediaType)
		}
		if m.Caption != p.Caption {
			t.Errorf("post %s: caption %q, want %q", m.ID, m.Caption, p.Caption)
		}
		if !m.Timestamp.Equal(p.Timestamp.Truncate(time.Second)) {
			t.Errorf("post %s: timestamp %s, want %s", m.ID, m.Timestamp, p.Timestamp)
		}
		if m.Permalink == "" || m.Username == "" {
			t.Errorf("post %s: permalink %q, username %q", m.ID, m.Permalink, m.Username)
		}
		if (m.MediaURL == "") != p.NoMediaURL {
			t.Errorf("post %s: media_url %q, NoMediaURL %v", m.ID, m.MediaURL, p.NoMediaURL)
		}
		switch m.MediaType {
		case fake.MediaVideo:
			videos++
			if m.ThumbnailURL == "" {
				t.Errorf("video %s has no thumbnail", m.ID)
			}
		case fake.MediaCarousel:
			carousels++
			if len(m.Children) != len(p.Children) || len(m.Children) == 0 {
				t.Errorf("carousel %s: %d children, want %d", m.ID, len(m.Children), len(p.Children))
				continue
			}
			for j, ch := range m.Children {
				if ch.ID != p.Children[j].ID || ch.MediaType != p.Children[j].MediaType {
					t.Errorf("carousel %s child %d = %s/%s, want %s/%s", m.ID, j, ch.ID, ch.MediaType,
						p.Children[j].ID, p.Children[j].MediaType)
				}
				if ch.MediaURL == "" {
					t.Errorf("carousel %s child %s has no media_url", m.ID, ch.ID)
				}
			}
		default:
			if len(m.Children) != 0 {
				t.Errorf("%s %s has children", m.MediaType, m.ID)
			}
		}
	}
	if carousels == 0 || videos == 0 {
		t.Errorf("the fixture should hold carousels (%d) and videos (%d)", carousels, videos)
	}
}

func TestExchangeCodeShapes(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		name := "flat"
		if wrapped {
			name = "wrapped"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.f.SetWrappedCodeResponse(wrapped)
			short, err := e.c.ExchangeCode(context.Background(), e.authorize())
			if err != nil {
				t.Fatalf("ExchangeCode: %v", e.seen(err))
			}
			e.track(short.AccessToken)
			// 17841405793187218 is not a float64: decoding through one
			// would give ...216.
			if short.UserID != "17841405793187218" {
				t.Errorf("UserID = %q, want 17841405793187218", short.UserID)
			}
			if !slices.Equal(short.Permissions, []string{"instagram_business_basic"}) {
				t.Errorf("Permissions = %q", short.Permissions)
			}
			// The short-lived token works.
			if _, err := e.c.Me(context.Background(), short.AccessToken); err != nil {
				t.Errorf("Me with the short-lived token: %v", e.seen(err))
			}
		})
	}
}

func TestExchangeCodeReused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	code := e.authorize()
	short, err := e.c.ExchangeCode(ctx, code)
	if err != nil {
		t.Fatalf("first exchange: %v", e.seen(err))
	}
	e.track(short.AccessToken)

	_, err = e.c.ExchangeCode(ctx, code)
	e.seen(err)
	if !errors.Is(err, ErrBadRequest) {
		t.Fatalf("second exchange: %v, want ErrBadRequest", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Op != "exchange code" || ae.HTTPStatus != 400 || ae.Message == "" {
		t.Errorf("APIError = %+v", ae)
	}
	if got := Reason(err); got != "authorization code rejected" {
		t.Errorf("Reason = %q", got)
	}
	if n := e.f.CallsTo("/oauth/access_token"); n != 2 {
		t.Errorf("%d calls to the token endpoint, want 2 (a 400 is not retried)", n)
	}
}

func TestExchangeCodeRedirectMismatch(t *testing.T) {
	e := newEnv(t)
	other := e.cfg
	other.RedirectURI = testRedirect + "&x=1"
	c, err := New(other)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ExchangeCode(context.Background(), e.authorize())
	e.seen(err)
	if !errors.Is(err, ErrBadRequest) {
		t.Fatalf("err = %v, want ErrBadRequest", err)
	}
}

func TestExchangeCodeEmpty(t *testing.T) {
	e := newEnv(t)
	for _, code := range []string{"", "#_", "  "} {
		_, err := e.c.ExchangeCode(context.Background(), code)
		if !errors.Is(e.seen(err), ErrBadRequest) {
			t.Errorf("ExchangeCode(%q) = %v, want ErrBadRequest", code, err)
		}
	}
	if n := e.f.Calls(); n != 0 {
		t.Errorf("%d calls for empty codes", n)
	}
}

func TestRefresh(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, long := e.login(ctx)
	clock := e.f.Clock()

	clock.Advance(25 * time.Hour)
	fresh, err := e.c.Refresh(ctx, long.AccessToken)
	if err != nil {
		t.Fatalf("Refresh: %v", e.seen(err))
	}
	e.track(fresh.AccessToken)
	within(t, "ExpiresAt after refresh", fresh.ExpiresAt, clock.Now().Add(sixtyDays), 24*time.Hour)
	if !fresh.ExpiresAt.After(long.ExpiresAt) {
		t.Errorf("refresh did not extend the expiry: %s, was %s", fresh.ExpiresAt, long.ExpiresAt)
	}
	if _, err := e.c.Me(ctx, fresh.AccessToken); err != nil {
		t.Errorf("Me with the refreshed token: %v", e.seen(err))
	}
	if n := e.f.CallsTo("/refresh_access_token"); n != 1 {
		t.Errorf("%d refresh calls, want 1", n)
	}
}

func TestRefreshTooEarlyIsNotRetried(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, long := e.login(ctx)
	_, err := e.c.Refresh(ctx, long.AccessToken)
	e.seen(err)
	if err == nil {
		t.Fatal("refresh of a token younger than 24h succeeded")
	}
	if errors.Is(err, ErrUnavailable) {
		t.Errorf("err = %v: a refused refresh is not upstream trouble", err)
	}
	if n := e.f.CallsTo("/refresh_access_token"); n != 1 {
		t.Errorf("%d refresh calls, want 1", n)
	}
}

func TestRefreshExpired(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, long := e.login(ctx)
	e.f.Clock().Advance(sixtyDays + time.Hour)
	_, err := e.c.Refresh(ctx, long.AccessToken)
	e.seen(err)
	if !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("err = %v, want ErrTokenInvalid", err)
	}
	if got := Reason(err); got != "token expired" {
		t.Errorf("Reason = %q, want token expired", got)
	}
}
