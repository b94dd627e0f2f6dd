package fake

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func authParams(mod func(url.Values)) url.Values {
	v := url.Values{
		"client_id":     {DefaultClientID},
		"redirect_uri":  {testRedirect},
		"response_type": {"code"},
		"scope":         {"instagram_business_basic"},
		"state":         {"st4te"},
	}
	if mod != nil {
		mod(v)
	}
	return v
}

func TestAuthorizePageRendersEscapedForm(t *testing.T) {
	h := newHarness(t, Options{AppName: "Vitrine <Test>"})
	state := `"><script>alert(1)</script>`
	resp, body := h.get(h.ep.AuthURL + "?" + authParams(func(v url.Values) { v.Set("state", state) }).Encode())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q", ct)
	}
	page := string(body)
	for _, want := range []string{
		`<form method="post" action="/oauth/authorize">`,
		`<button type="submit" name="decision" value="approve">Allow</button>`,
		`<button type="submit" name="decision" value="deny">Cancel</button>`,
		`@vitrine.studio`,
		`name="redirect_uri" value="https://vitrine.example/admin/callback"`,
		`Vitrine &lt;Test&gt;`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("state was not escaped")
	}
	if h.f.Calls() != 0 {
		t.Errorf("authorize page counted as an API call: %d", h.f.Calls())
	}
}

func TestAuthorizeApproveRedirectsWithCodeAndFragment(t *testing.T) {
	h := newHarness(t, Options{})
	resp, _ := h.postForm(h.ep.AuthURL, authParams(func(v url.Values) { v.Set("decision", "approve") }))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, testRedirect+"?code=AQB") || !strings.HasSuffix(loc, "&state=st4te#_") {
		t.Fatalf("Location %q", loc)
	}
	u, _ := url.Parse(loc)
	if u.Fragment != "_" {
		t.Errorf("fragment %q, want _", u.Fragment)
	}
	if status, body := h.exchangeCode(u.Query().Get("code")); status != http.StatusOK {
		t.Errorf("code from redirect does not exchange: %d %v", status, body)
	}
}

func TestAuthorizeDenyRedirectsWithError(t *testing.T) {
	h := newHarness(t, Options{})
	resp, _ := h.postForm(h.ep.AuthURL, authParams(func(v url.Values) { v.Set("decision", "deny") }))
	want := testRedirect + "?error=access_denied&error_reason=user_denied&error_description=The+user+denied+your+request&state=st4te"
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Fatalf("got %d %q, want 302 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

func TestAuthorizeKeepsRegisteredQueryAndOmitsEmptyState(t *testing.T) {
	const withQuery = "http://127.0.0.1:9999/admin/callback?src=fake"
	h := newHarness(t, Options{RedirectURIs: []string{withQuery}})
	resp, _ := h.postForm(h.ep.AuthURL, authParams(func(v url.Values) {
		v.Set("redirect_uri", withQuery)
		v.Del("state")
		v.Set("decision", "approve")
	}))
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, withQuery+"&code=") || strings.Contains(loc, "state=") {
		t.Fatalf("Location %q", loc)
	}
}

func TestAuthorizeRejectsBadRequestsWithoutRedirect(t *testing.T) {
	h := newHarness(t, Options{})
	cases := []struct {
		name string
		mod  func(url.Values)
		want string
	}{
		{"unknown client", func(v url.Values) { v.Set("client_id", "999") }, "Invalid platform app"},
		{"missing client", func(v url.Values) { v.Del("client_id") }, "Invalid platform app"},
		{"redirect trailing slash", func(v url.Values) { v.Set("redirect_uri", testRedirect+"/") }, "Invalid redirect_uri"},
		{"redirect other host", func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") }, "Invalid redirect_uri"},
		{"redirect case", func(v url.Values) { v.Set("redirect_uri", strings.ToUpper(testRedirect)) }, "Invalid redirect_uri"},
		{"implicit flow", func(v url.Values) { v.Set("response_type", "token") }, "response_type"},
		{"no scope", func(v url.Values) { v.Del("scope") }, "instagram_business_basic is required"},
		{"basic display scopes", func(v url.Values) { v.Set("scope", "user_profile,user_media") }, "Invalid Scopes: user_profile, user_media"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				v := authParams(c.mod)
				var resp *http.Response
				var body []byte
				if method == http.MethodGet {
					resp, body = h.get(h.ep.AuthURL + "?" + v.Encode())
				} else {
					v.Set("decision", "approve")
					resp, body = h.postForm(h.ep.AuthURL, v)
				}
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Fatalf("%s: status %d Location %q", method, resp.StatusCode, resp.Header.Get("Location"))
				}
				if !strings.Contains(string(body), c.want) {
					t.Errorf("%s: page lacks %q", method, c.want)
				}
			}
		})
	}
}

func TestAuthorizeAcceptsSpaceSeparatedScopes(t *testing.T) {
	h := newHarness(t, Options{})
	resp, _ := h.get(h.ep.AuthURL + "?" + authParams(func(v url.Values) {
		v.Set("scope", "instagram_business_basic instagram_business_manage_comments")
	}).Encode())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestAuthorizeNeedsADecision(t *testing.T) {
	h := newHarness(t, Options{})
	resp, _ := h.postForm(h.ep.AuthURL, authParams(nil))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestAuthorizeHelperAndRegisterRedirectURI(t *testing.T) {
	h := newHarness(t, Options{RedirectURIs: []string{}})
	if _, err := h.f.Authorize(testRedirect, "instagram_business_basic"); err == nil {
		t.Fatal("unregistered redirect URI accepted")
	}
	h.f.RegisterRedirectURI(testRedirect)
	code, err := h.f.Authorize(testRedirect, "instagram_business_basic")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := h.exchangeCode(code); status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, body)
	}
	if _, err := h.f.Authorize(testRedirect, "user_profile"); err == nil {
		t.Fatal("bad scope accepted")
	}
}
