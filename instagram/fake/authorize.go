package fake

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

const scopeBasic = "instagram_business_basic"

// knownScopes are the Instagram Login scopes and how the consent page
// words them. Basic Display scopes (user_profile, user_media) are gone.
var knownScopes = map[string]string{
	scopeBasic:                           "Your profile info and the photos and videos you have posted",
	"instagram_business_manage_messages": "Access and manage your messages",
	"instagram_business_manage_comments": "Access and manage comments on your posts",
	"instagram_business_content_publish": "Publish content to your account",
	"instagram_business_manage_insights": "Access insights about your account",
}

// authRequest is what the authorize dialog was asked for.
type authRequest struct {
	ClientID, RedirectURI, ResponseType, Scope, State string
	// ForceReauth ("true") makes the dialog ask which account to use
	// instead of taking the browser's current one.
	ForceReauth bool
}

func authRequestFrom(v url.Values) authRequest {
	return authRequest{
		ClientID:     v.Get("client_id"),
		RedirectURI:  v.Get("redirect_uri"),
		ResponseType: v.Get("response_type"),
		Scope:        v.Get("scope"),
		State:        v.Get("state"),
		ForceReauth:  v.Get("force_reauth") == "true",
	}
}

// validateLocked checks a request the way the dialog does before showing
// anything; on failure it returns the message of the error page.
func (f *Fake) validateLocked(a authRequest) ([]string, error) {
	if a.ClientID != f.clientID {
		return nil, errors.New(msgPlatformApp)
	}
	// Exact match, and never a redirect to an unregistered URI: that would
	// make the dialog an open redirector.
	if !f.redirectURIs[a.RedirectURI] || strings.Contains(a.RedirectURI, "#") {
		return nil, errors.New("Invalid redirect_uri")
	}
	if a.ResponseType != "code" {
		return nil, errors.New("Invalid response_type: only \"code\" is supported")
	}
	scopes := strings.FieldsFunc(a.Scope, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	var unknown []string
	for _, s := range scopes {
		if _, ok := knownScopes[s]; !ok {
			unknown = append(unknown, s)
		}
	}
	if len(unknown) > 0 {
		return nil, errors.New("Invalid Scopes: " + strings.Join(unknown, ", "))
	}
	if !slices.Contains(scopes, scopeBasic) {
		return nil, errors.New("Invalid Scopes: " + scopeBasic + " is required")
	}
	slices.Sort(scopes)
	return slices.Compact(scopes), nil
}

// Authorize does what a user clicking Allow does and returns the code the
// redirect would carry: single use, valid one hour.
func (f *Fake) Authorize(redirectURI, scope string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	scopes, err := f.validateLocked(authRequest{ClientID: f.clientID, RedirectURI: redirectURI, ResponseType: "code", Scope: scope})
	if err != nil {
		return "", errors.New("fake: authorize: " + err.Error())
	}
	return f.newCodeLocked(redirectURI, scopes), nil
}

func (f *Fake) newCodeLocked(redirectURI string, scopes []string) string {
	b := make([]byte, 96)
	rand.Read(b)
	// Real codes carry '-' and '_' too; clients must not mangle them.
	code := "AQB" + base64.RawURLEncoding.EncodeToString(b)
	f.codes[code] = &authCode{clientID: f.clientID, redirectURI: redirectURI, scopes: scopes, expires: f.clock.Now().Add(codeTTL)}
	return code
}

// serveAuthorize is www.instagram.com/oauth/authorize: GET shows the
// consent dialog, POST (its form) redirects back with a code or an error.
func (f *Fake) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		params = r.URL.Query()
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			f.authorizeError(w, http.StatusBadRequest, "The request could not be read.")
			return
		}
		params = r.PostForm
	default:
		w.Header().Set("Allow", "GET, POST")
		f.authorizeError(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	req := authRequestFrom(params)

	f.mu.Lock()
	scopes, err := f.validateLocked(req)
	account := f.account
	var code string
	if err == nil && r.Method == http.MethodPost && params.Get("decision") == "approve" {
		code = f.newCodeLocked(req.RedirectURI, scopes)
	}
	f.mu.Unlock()
	if err != nil {
		f.authorizeError(w, http.StatusBadRequest, err.Error())
		return
	}

	if r.Method != http.MethodPost {
		f.renderConsent(w, req, scopes, account)
		return
	}
	switch params.Get("decision") {
	case "approve":
		// The literal "#_" is Instagram's: browsers keep it client-side,
		// but anyone copying the URL by hand gets it glued to the code.
		redirect(w, req.RedirectURI, []string{"code", code, "state", req.State}, "#_")
	case "deny":
		redirect(w, req.RedirectURI, []string{
			"error", "access_denied",
			"error_reason", "user_denied",
			"error_description", "The user denied your request",
			"state", req.State,
		}, "")
	default:
		f.authorizeError(w, http.StatusBadRequest, "Choose Allow or Cancel.")
	}
}

// redirect sends a 302 to base with kv appended to its query; an empty
// state is left out rather than sent as "state=".
func redirect(w http.ResponseWriter, base string, kv []string, fragment string) {
	var b strings.Builder
	b.WriteString(base)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "state" && kv[i+1] == "" {
			continue
		}
		b.WriteString(sep + url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
		sep = "&"
	}
	b.WriteString(fragment)
	w.Header().Set("Location", b.String())
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
}

func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	// No form-action: Chromium applies it to the redirect after the POST,
	// which must reach the (foreign) redirect_uri.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
}

type consentPage struct {
	AppName, Username, Name, Initial, Action string
	Permissions                              []string
	Req                                      authRequest
}

func (f *Fake) renderConsent(w http.ResponseWriter, req authRequest, scopes []string, a Account) {
	page := consentPage{
		AppName:  f.appName,
		Username: a.Username,
		Name:     a.Name,
		Initial:  strings.ToUpper(a.Username[:min(1, len(a.Username))]),
		Action:   f.prefix + "/oauth/authorize",
		Req:      req,
	}
	for _, s := range scopes {
		page.Permissions = append(page.Permissions, knownScopes[s])
	}
	setPageHeaders(w)
	w.WriteHeader(http.StatusOK)
	consentTmpl.Execute(w, page)
}

func (f *Fake) authorizeError(w http.ResponseWriter, status int, msg string) {
	setPageHeaders(w)
	w.WriteHeader(status)
	errorTmpl.Execute(w, struct{ Message string }{msg})
}

const pageStyle = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
 font:15px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 background:#fafafa;color:#262626}
.card{width:min(380px,100% - 32px);background:#fff;border:1px solid #dbdbdb;border-radius:12px;
 padding:32px 28px 24px;text-align:center}
.logo{font:italic 600 30px/1 "Billabong",Georgia,serif;letter-spacing:.5px;margin-bottom:24px}
.ring{width:84px;height:84px;margin:0 auto 12px;border-radius:50%;padding:3px;
 background:conic-gradient(#feda75,#fa7e1e,#d62976,#962fbf,#4f5bd5,#feda75)}
.avatar{width:100%;height:100%;border-radius:50%;border:3px solid #fff;background:#efe6dc;
 display:flex;align-items:center;justify-content:center;font:600 32px/1 Georgia,serif;color:#8a6d52}
h1{font-size:17px;font-weight:400;margin:8px 0 4px}
.who{color:#737373;margin:0 0 20px}
ul{list-style:none;text-align:left;margin:0 0 24px;padding:14px 16px;background:#fafafa;border-radius:8px}
li{padding-left:22px;position:relative;margin:4px 0}
li::before{content:"✓";position:absolute;left:0;color:#0095f6;font-weight:700}
.buttons{display:flex;flex-direction:column;gap:8px}
button{font-family:inherit;font-size:14px;font-weight:600;line-height:1;padding:11px 16px;border-radius:8px;border:0;cursor:pointer}
button[value=approve]{background:#0095f6;color:#fff}
button[value=approve]:hover{background:#1877f2}
button[value=deny]{background:transparent;color:#262626}
.fine{color:#a8a8a8;font-size:12px;margin:18px 0 0}
.err{color:#ed4956;font-weight:600;margin:0 0 8px}
`

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Allow {{.AppName}} to access your Instagram account?</title>
<style>` + pageStyle + `</style></head>
<body><main class="card">
<div class="logo">Instagram</div>
<div class="ring"><div class="avatar" aria-hidden="true">{{.Initial}}</div></div>
<h1><strong>{{.AppName}}</strong> would like to access your account</h1>
{{if .Req.ForceReauth}}<p class="who" data-force-reauth>Choose the account to connect: <strong>@{{.Username}}</strong> · {{.Name}}<br><small>Instagram asked you to sign in again rather than use the account this browser is logged into.</small></p>
{{else}}<p class="who">Logged in as <strong>@{{.Username}}</strong> · {{.Name}}</p>{{end}}
<ul>{{range .Permissions}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="{{.Action}}">
<input type="hidden" name="client_id" value="{{.Req.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.Req.RedirectURI}}">
<input type="hidden" name="response_type" value="{{.Req.ResponseType}}">
<input type="hidden" name="scope" value="{{.Req.Scope}}">
<input type="hidden" name="state" value="{{.Req.State}}">
{{if .Req.ForceReauth}}<input type="hidden" name="force_reauth" value="true">{{end}}
<div class="buttons">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</div>
</form>
<p class="fine">Fake Instagram for development and tests. No real account is involved.</p>
</main></body></html>
`))

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Error · Instagram</title>
<style>` + pageStyle + `</style></head>
<body><main class="card">
<div class="logo">Instagram</div>
<p class="err">Sorry, this page isn't available.</p>
<p>{{.Message}}</p>
<p class="fine">Fake Instagram for development and tests.</p>
</main></body></html>
`))
