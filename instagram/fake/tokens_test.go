package fake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCodeExchangeFlatKeepsUserIDPrecision(t *testing.T) {
	// An odd id above 2^53 has no float64 twin, so only a careful decoder
	// gets it back.
	const oddID = "17841405793187219"
	h := newHarness(t, Options{UserID: oddID})
	resp, body := h.postForm(h.ep.TokenURL, url.Values{
		"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret},
		"grant_type": {"authorization_code"}, "redirect_uri": {testRedirect}, "code": {h.authorizeCode("x")},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if !bytes.Contains(body, []byte(`"user_id":`+oddID+`,`)) {
		t.Errorf("user_id not a bare number: %s", body)
	}
	var got struct {
		AccessToken string      `json:"access_token"`
		UserID      json.Number `json:"user_id"`
		Permissions []string    `json:"permissions"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.AccessToken, "IGAA") || got.UserID != oddID ||
		len(got.Permissions) != 1 || got.Permissions[0] != "instagram_business_basic" {
		t.Errorf("got %+v", got)
	}
	var lossy struct {
		UserID float64 `json:"user_id"`
	}
	json.Unmarshal(body, &lossy)
	if fmt.Sprintf("%.0f", lossy.UserID) == oddID {
		t.Error("user_id survived float64; the fake would not catch precision bugs")
	}
	if status, me := h.graph("/me", got.AccessToken, url.Values{"fields": {"user_id"}}); status != http.StatusOK || me["user_id"] != oddID {
		t.Errorf("/me: %d %v", status, me)
	}
}

func TestCodeExchangeDefaultUserID(t *testing.T) {
	h := newHarness(t, Options{})
	resp, body := h.postForm(h.ep.TokenURL, url.Values{
		"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret},
		"grant_type": {"authorization_code"}, "redirect_uri": {testRedirect}, "code": {h.authorizeCode("x")},
	})
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"user_id":17841405793187218,`)) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestCodeExchangeWrapped(t *testing.T) {
	h := newHarness(t, Options{})
	h.f.SetWrappedCodeResponse(true)
	status, body := h.exchangeCode(h.authorizeCode("x"))
	data, _ := body["data"].([]any)
	if status != http.StatusOK || len(data) != 1 {
		t.Fatalf("%d %v", status, body)
	}
	d := data[0].(map[string]any)
	if d["user_id"] != "17841405793187218" || d["permissions"] != "instagram_business_basic" || !strings.HasPrefix(str(d["access_token"]), "IGAA") {
		t.Errorf("got %v", d)
	}
}

func wantCodeError(t *testing.T, status int, body map[string]any, msg string) {
	t.Helper()
	if status != http.StatusBadRequest || body["error_type"] != "OAuthException" || body["code"] != json.Number("400") || body["error_message"] != msg {
		t.Fatalf("got %d %v, want 400 %q", status, body, msg)
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	h := newHarness(t, Options{})
	code := h.authorizeCode("x")
	if status, _ := h.exchangeCode(code); status != http.StatusOK {
		t.Fatalf("first use: %d", status)
	}
	status, body := h.exchangeCode(code)
	wantCodeError(t, status, body, msgCodeNotFound)
}

func TestCodeExpiresAfterAnHour(t *testing.T) {
	h := newHarness(t, Options{})
	fresh, stale := h.authorizeCode("a"), h.authorizeCode("b")
	h.f.Clock().Advance(59 * time.Minute)
	if status, body := h.exchangeCode(fresh); status != http.StatusOK {
		t.Fatalf("at 59 min: %d %v", status, body)
	}
	h.f.Clock().Advance(time.Minute)
	status, body := h.exchangeCode(stale)
	wantCodeError(t, status, body, msgCodeNotFound)
}

func TestCodeExchangeErrors(t *testing.T) {
	h := newHarness(t, Options{})
	cases := []struct {
		name string
		mod  func(v url.Values)
		want string
	}{
		{"facebook app id", func(v url.Values) { v.Set("client_id", "555") }, msgPlatformApp},
		{"bad secret", func(v url.Values) { v.Set("client_secret", "nope") }, msgClientSecret},
		{"grant type", func(v url.Values) { v.Set("grant_type", "client_credentials") }, msgGrantType},
		{"redirect mismatch", func(v url.Values) { v.Set("redirect_uri", testRedirect+"?x=1") }, msgRedirectMatch},
		{"fragment glued to code", func(v url.Values) { v.Set("code", v.Get("code")+"#_") }, msgCodeNotFound},
		{"unknown code", func(v url.Values) { v.Set("code", "AQBnope") }, msgCodeNotFound},
		{"no code", func(v url.Values) { v.Del("code") }, msgCodeNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := url.Values{
				"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret},
				"grant_type": {"authorization_code"}, "redirect_uri": {testRedirect}, "code": {h.authorizeCode("x")},
			}
			c.mod(v)
			resp, body := h.postForm(h.ep.TokenURL, v)
			wantCodeError(t, resp.StatusCode, decode(t, body), c.want)
		})
	}
}

func TestCodeExchangeReadsOnlyTheBody(t *testing.T) {
	h := newHarness(t, Options{})
	q := url.Values{"client_secret": {DefaultClientSecret}}
	resp, body := h.postForm(h.ep.TokenURL+"?"+q.Encode(), url.Values{
		"client_id": {DefaultClientID}, "grant_type": {"authorization_code"},
		"redirect_uri": {testRedirect}, "code": {h.authorizeCode("x")},
	})
	wantCodeError(t, resp.StatusCode, decode(t, body), msgClientSecret)

	resp, body = h.get(h.ep.TokenURL)
	if resp.StatusCode != http.StatusMethodNotAllowed || decode(t, body)["error_type"] != "OAuthException" {
		t.Errorf("GET: %d %s", resp.StatusCode, body)
	}
}

func TestCodeExchangeAcceptsMultipart(t *testing.T) {
	h := newHarness(t, Options{})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{
		"client_id": DefaultClientID, "client_secret": DefaultClientSecret,
		"grant_type": "authorization_code", "redirect_uri": testRedirect, "code": h.authorizeCode("x"),
	} {
		mw.WriteField(k, v)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, h.ep.TokenURL, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if resp, body := h.do(req); resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestShortLivedTokenLastsAnHour(t *testing.T) {
	h := newHarness(t, Options{})
	short := h.shortLivedToken()
	h.f.Clock().Advance(time.Hour - time.Second)
	if status, body := h.graph("/me", short, nil); status != http.StatusOK {
		t.Fatalf("before expiry: %d %v", status, body)
	}
	h.f.Clock().Advance(time.Second)
	msg := h.wantGraphError("/me", short, nil, 190, 463)
	if !strings.Contains(msg, "Session has expired on") {
		t.Errorf("message %q", msg)
	}
}

func TestLongLivedExchange(t *testing.T) {
	h := newHarness(t, Options{})
	short := h.shortLivedToken()
	status, body := h.exchangeLongLived(short)
	if status != http.StatusOK || body["token_type"] != "bearer" || body["expires_in"] != json.Number("5184000") {
		t.Fatalf("%d %v", status, body)
	}
	long := str(body["access_token"])
	if long == short || !strings.HasPrefix(long, "IGAA") {
		t.Fatalf("token %q", long)
	}
	// The unversioned path works as well, and the short token still does.
	q := url.Values{"grant_type": {"ig_exchange_token"}, "client_secret": {DefaultClientSecret}}
	if status, body := h.graph("/access_token", short, q); status != http.StatusOK {
		t.Fatalf("unversioned: %d %v", status, body)
	}

	q.Set("client_secret", "wrong")
	h.wantGraphError("/access_token", short, q, 101, 0)
	q.Set("client_secret", DefaultClientSecret)
	h.wantGraphError("/access_token", long, q, 100, 0) // already long-lived
	q.Set("grant_type", "ig_refresh_token")
	h.wantGraphError("/access_token", short, q, 100, 0)

	h.f.Clock().Advance(60*24*time.Hour - time.Second)
	if status, _ := h.graph("/me", long, nil); status != http.StatusOK {
		t.Fatalf("long-lived token dead before 60 days: %d", status)
	}
	h.f.Clock().Advance(time.Second)
	h.wantGraphError("/me", long, nil, 190, 463)
}

func refreshQuery() url.Values { return url.Values{"grant_type": {"ig_refresh_token"}} }

func TestRefreshRules(t *testing.T) {
	h := newHarness(t, Options{})
	short := h.shortLivedToken()
	h.wantGraphError("/refresh_access_token", short, refreshQuery(), 100, 0)

	long := h.longLivedToken()
	h.wantGraphError("/refresh_access_token", long, refreshQuery(), 100, 0) // younger than 24 h
	h.wantGraphError("/refresh_access_token", long, url.Values{"grant_type": {"ig_exchange_token"}}, 100, 0)
	h.wantGraphError("/refresh_access_token", "", refreshQuery(), 2500, 0)
	h.wantGraphError("/refresh_access_token", "IGAAgarbage", refreshQuery(), 190, 0)

	h.f.Clock().Advance(24 * time.Hour)
	status, body := h.graph("/v24.0/refresh_access_token", long, refreshQuery())
	if status != http.StatusOK || body["expires_in"] != json.Number("5184000") || body["token_type"] != "bearer" {
		t.Fatalf("refresh after 24 h: %d %v", status, body)
	}
	refreshed := str(body["access_token"])
	if refreshed == long {
		t.Fatal("refresh returned the same token")
	}

	// The old token lives out its own 60 days; the new one 60 days from the refresh.
	h.f.Clock().Advance(59*24*time.Hour - time.Second) // 60 days after issue, less 1 s
	if status, _ := h.graph("/me", long, nil); status != http.StatusOK {
		t.Fatalf("old token dead early: %d", status)
	}
	h.f.Clock().Advance(time.Second)
	h.wantGraphError("/me", long, nil, 190, 463)
	h.wantGraphError("/refresh_access_token", long, refreshQuery(), 190, 463) // expired: re-authorize
	if status, _ := h.graph("/me", refreshed, nil); status != http.StatusOK {
		t.Fatalf("refreshed token dead: %d", status)
	}
	h.f.Clock().Advance(24 * time.Hour) // 60 days after the refresh
	h.wantGraphError("/refresh_access_token", refreshed, refreshQuery(), 190, 463)
}

func TestIssueLongLivedToken(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	if status, body := h.graph("/me", tok, url.Values{"fields": {"user_id"}}); status != http.StatusOK || body["user_id"] != "17841405793187218" {
		t.Fatalf("%d %v", status, body)
	}
	h.f.Clock().Advance(24 * time.Hour)
	if status, body := h.graph("/refresh_access_token", tok, refreshQuery()); status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, body)
	}
}
