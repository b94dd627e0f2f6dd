package fake

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Lifetimes of the real API.
const (
	codeTTL           = time.Hour
	shortLivedTTL     = time.Hour
	longLivedTTL      = 60 * 24 * time.Hour // expires_in 5184000
	refreshMinimumAge = 24 * time.Hour
)

type tokenKind int

const (
	shortLived tokenKind = iota + 1
	longLived
)

type token struct {
	kind    tokenKind
	scopes  []string
	issued  time.Time
	expires time.Time
	// invalidated is the 190 subcode (458 app removed, 460 password changed)
	// a fault switch gave this token; 0 while it is good.
	invalidated int
}

type authCode struct {
	clientID    string
	redirectURI string
	scopes      []string
	expires     time.Time
}

// IssueLongLivedToken mints a 60-day token issued now for the default
// account, as if the whole OAuth dance had just happened.
func (f *Fake) IssueLongLivedToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mintLocked(longLived, []string{scopeBasic}, f.clock.Now())
}

// SetWrappedCodeResponse picks the code-exchange body: false (default) the
// flat shape real clients see, true the {"data":[...]} shape Meta documents.
func (f *Fake) SetWrappedCodeResponse(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wrapped = on
}

func (f *Fake) mintLocked(kind tokenKind, scopes []string, now time.Time) string {
	ttl := shortLivedTTL
	if kind == longLived {
		ttl = longLivedTTL
	}
	raw := "IGAA" + randAlnum(146)
	f.tokens[raw] = &token{kind: kind, scopes: scopes, issued: now, expires: now.Add(ttl)}
	return raw
}

// checkTokenLocked returns the live token for raw or the graph error the
// real API gives for it.
func (f *Fake) checkTokenLocked(raw string, now time.Time) (*token, *graphError) {
	if raw == "" {
		return nil, &graphError{Message: msgNoToken, Code: 2500}
	}
	t, ok := f.tokens[raw]
	if !ok {
		return nil, &graphError{Message: msgBadToken, Code: 190}
	}
	switch t.invalidated {
	case 458:
		return nil, &graphError{Message: fmt.Sprintf(msgRevoked, f.clientID), Code: 190, Subcode: 458}
	case 460:
		return nil, &graphError{Message: msgPassword, Code: 190, Subcode: 460}
	}
	if !now.Before(t.expires) {
		const layout = "Monday, 02-Jan-06 15:04:05 MST"
		msg := fmt.Sprintf(msgExpired, t.expires.UTC().Format(layout), now.UTC().Format(layout))
		return nil, &graphError{Message: msg, Code: 190, Subcode: 463}
	}
	return t, nil
}

// tokenFrom reads the access token from the query or an Authorization
// header ("Bearer" or Graph's older "OAuth" scheme).
func tokenFrom(r *http.Request) string {
	if t := r.URL.Query().Get("access_token"); t != "" {
		return t
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "OAuth") {
		return strings.TrimSpace(cred)
	}
	return ""
}

func secretOK(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// serveCodeExchange is api.instagram.com/oauth/access_token: a one-time
// code for a one-hour token. It reads only the POST body (urlencoded or
// multipart, as Meta's curl -F examples send), so a client that leaks the
// secret into the query string fails here as it should.
func (f *Fake) serveCodeExchange(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeCodeExchangeError(w, http.StatusMethodNotAllowed, "Unsupported "+r.Method+" request; use POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		writeCodeExchangeError(w, http.StatusBadRequest, "Invalid request body")
		return
	}
	form := r.PostForm
	switch {
	case form.Get("client_id") != f.clientID:
		writeCodeExchangeError(w, http.StatusBadRequest, msgPlatformApp)
		return
	case !secretOK(form.Get("client_secret"), f.clientSecret):
		writeCodeExchangeError(w, http.StatusBadRequest, msgClientSecret)
		return
	case form.Get("grant_type") != "authorization_code":
		writeCodeExchangeError(w, http.StatusBadRequest, msgGrantType)
		return
	}

	f.mu.Lock()
	now := f.clock.Now()
	raw := form.Get("code") // a code ending in "#_" is never found: codes hold no '#'
	c, ok := f.codes[raw]
	if ok && !now.Before(c.expires) {
		delete(f.codes, raw)
		ok = false
	}
	if !ok || c.clientID != form.Get("client_id") {
		f.mu.Unlock()
		writeCodeExchangeError(w, http.StatusBadRequest, msgCodeNotFound)
		return
	}
	if c.redirectURI != form.Get("redirect_uri") {
		// The code survives a mismatch, so a fixed retry can still succeed.
		f.mu.Unlock()
		writeCodeExchangeError(w, http.StatusBadRequest, msgRedirectMatch)
		return
	}
	delete(f.codes, raw)
	tok := f.mintLocked(shortLived, c.scopes, now)
	wrapped := f.wrapped
	userID := f.account.UserID
	f.mu.Unlock()

	if wrapped {
		writeJSON(w, http.StatusOK, map[string]any{"data": []any{map[string]any{
			"access_token": tok,
			"user_id":      userID,
			"permissions":  strings.Join(c.scopes, ","),
		}}})
		return
	}
	// user_id is a bare number beyond 2^53: json.Number writes its digits
	// verbatim, as Instagram does, so float64 decoders lose precision.
	writeJSON(w, http.StatusOK, struct {
		AccessToken string      `json:"access_token"`
		UserID      json.Number `json:"user_id"`
		Permissions []string    `json:"permissions"`
	}{tok, json.Number(userID), c.scopes})
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// serveExchange is graph.instagram.com/access_token: a live short-lived
// token and the app secret for a 60-day token. Errors use the graph shape:
// code 100 for a wrong grant_type or a token that is not short-lived, 101
// for a bad secret, 190/2500 for the token itself.
func (f *Fake) serveExchange(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("grant_type") != "ig_exchange_token" {
		writeGraphError(w, http.StatusBadRequest, graphError{Message: "(#100) Unsupported grant_type: expected ig_exchange_token", Code: 100})
		return
	}
	if !secretOK(q.Get("client_secret"), f.clientSecret) {
		writeGraphError(w, http.StatusBadRequest, graphError{Message: "Error validating client secret.", Code: 101})
		return
	}
	f.mu.Lock()
	now := f.clock.Now()
	t, gerr := f.checkTokenLocked(tokenFrom(r), now)
	if gerr == nil && t.kind != shortLived {
		gerr = &graphError{Message: "(#100) Only a short-lived access token can be exchanged for a long-lived one", Code: 100}
	}
	if gerr != nil {
		f.mu.Unlock()
		writeGraphError(w, http.StatusBadRequest, *gerr)
		return
	}
	tok := f.mintLocked(longLived, t.scopes, now)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, tokenResponse{tok, "bearer", int64(longLivedTTL / time.Second)})
}

// serveRefresh is graph.instagram.com/refresh_access_token. Following
// Meta's rules: only a live long-lived token at least 24 hours old can be
// refreshed. A short-lived or too-young token gets code 100 (the request is
// wrong, the token is fine: no re-auth); an expired or invalidated one gets
// 190 (re-authorize). The answer is a new token valid 60 days from now; the
// old one keeps working until its own expiry.
func (f *Fake) serveRefresh(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("grant_type") != "ig_refresh_token" {
		writeGraphError(w, http.StatusBadRequest, graphError{Message: "(#100) Unsupported grant_type: expected ig_refresh_token", Code: 100})
		return
	}
	f.mu.Lock()
	now := f.clock.Now()
	t, gerr := f.checkTokenLocked(tokenFrom(r), now)
	switch {
	case gerr != nil:
	case t.kind != longLived:
		gerr = &graphError{Message: "(#100) Short-lived access tokens cannot be refreshed; exchange it for a long-lived token", Code: 100}
	case now.Sub(t.issued) < refreshMinimumAge:
		gerr = &graphError{Message: "(#100) The access token is less than 24 hours old and cannot be refreshed yet", Code: 100}
	}
	if gerr != nil {
		f.mu.Unlock()
		writeGraphError(w, http.StatusBadRequest, *gerr)
		return
	}
	tok := f.mintLocked(longLived, t.scopes, now)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, tokenResponse{tok, "bearer", int64(longLivedTTL / time.Second)})
}
