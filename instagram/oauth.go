package instagram

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Operation names, used in errors and log lines.
const (
	opExchangeCode = "exchange code"
	opExchangeLong = "exchange long-lived"
	opRefresh      = "refresh"
)

// ShortLivedToken is the one-hour token the code exchange returns.
type ShortLivedToken struct {
	AccessToken string
	UserID      string // digit for digit; it does not fit a float64
	Permissions []string
}

// LongLivedToken is the 60-day token. Instagram offers no introspection, so
// ExpiresAt (Now + ExpiresIn at receipt) is all we will ever know of its life.
// Both are zero when Instagram leaves expires_in out.
type LongLivedToken struct {
	AccessToken string
	TokenType   string
	ExpiresIn   time.Duration
	ExpiresAt   time.Time
}

// AuthorizeURL is where the admin's browser goes to approve the app. state
// must be the caller's one-time CSRF value.
//
// oauth2.Config builds the standard parameters; the scope is passed
// explicitly because oauth2 joins Scopes with spaces and Instagram wants
// commas. The secret is left out: it never belongs in a browser URL.
func (c *Client) AuthorizeURL(state string) string {
	oc := oauth2.Config{
		ClientID: c.cfg.ClientID,
		Endpoint: oauth2.Endpoint{
			AuthURL:   c.cfg.AuthURL,
			TokenURL:  c.cfg.TokenURL,
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: c.cfg.RedirectURI,
	}
	opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("scope", strings.Join(c.cfg.Scopes, ","))}
	if c.cfg.ForceReauth {
		opts = append(opts, oauth2.SetAuthURLParam("force_reauth", "true"))
	}
	return oc.AuthCodeURL(state, opts...)
}

// ExchangeCode trades the authorization code from the callback for a
// short-lived token.
//
// This is not oauth2.Config.Exchange, on purpose:
//   - Instagram may answer {"data":[{…}]} instead of a flat token object, which
//     oauth2 does not read (it finds no access_token and fails);
//   - oauth2 decodes the body into map[string]any, so user_id
//     (17841405793187218 > 2^53) would pass through float64 and lose digits;
//   - its errors are Instagram's own shape ({"error_type","code",
//     "error_message"}) that oauth2 reports as an opaque RetrieveError, which
//     does not give us our typed errors or a redacted message;
//   - the follow-up grants ig_exchange_token / ig_refresh_token are GETs with
//     the token in the query, outside oauth2's model altogether;
//   - and oauth2 would not let us choose which failures are safe to retry
//     with a single-use code.
func (c *Client) ExchangeCode(ctx context.Context, code string) (ShortLivedToken, error) {
	// The callback URL ends in "#_"; a browser drops the fragment, but a code
	// pasted by hand or read from a raw Location header may still carry it.
	code = strings.TrimSuffix(strings.TrimSpace(code), "#_")
	if code == "" {
		return ShortLivedToken{}, &APIError{Op: opExchangeCode, Message: "empty authorization code", kind: ErrBadRequest}
	}
	u := *c.tokenURL
	r := &request{
		op:     opExchangeCode,
		method: http.MethodPost,
		url:    &u,
		form: url.Values{
			"client_id":     {c.cfg.ClientID},
			"client_secret": {c.cfg.ClientSecret},
			"grant_type":    {"authorization_code"},
			"redirect_uri":  {c.cfg.RedirectURI},
			"code":          {code},
		},
		secrets: []string{c.cfg.ClientSecret, code},
		policy:  retryUnsent,
	}
	body, err := c.do(ctx, r)
	if err != nil {
		return ShortLivedToken{}, err
	}
	tok, err := parseShortLived(body)
	if err != nil {
		return ShortLivedToken{}, c.bodyError(r, err)
	}
	c.log.Info("instagram: authorization code exchanged", "user_id", tok.UserID, "permissions", tok.Permissions)
	return tok, nil
}

// ExchangeLongLived trades a short-lived token for a 60-day one.
func (c *Client) ExchangeLongLived(ctx context.Context, shortLived string) (LongLivedToken, error) {
	if strings.TrimSpace(shortLived) == "" {
		return LongLivedToken{}, &APIError{Op: opExchangeLong, Message: "empty token", kind: ErrTokenInvalid}
	}
	q := url.Values{
		"grant_type":    {"ig_exchange_token"},
		"client_secret": {c.cfg.ClientSecret},
		"access_token":  {shortLived},
	}
	return c.longLived(ctx, &request{
		op:      opExchangeLong,
		method:  http.MethodGet,
		url:     c.graphURLFor("/access_token", false, q),
		secrets: []string{c.cfg.ClientSecret, shortLived},
		policy:  retryIdempotent,
	})
}

// Refresh extends a long-lived token that is at least 24 hours old and not
// yet expired. Store the returned token: whether the old one keeps working
// is not documented.
func (c *Client) Refresh(ctx context.Context, longLived string) (LongLivedToken, error) {
	if strings.TrimSpace(longLived) == "" {
		return LongLivedToken{}, &APIError{Op: opRefresh, Message: "empty token", kind: ErrTokenInvalid}
	}
	q := url.Values{
		"grant_type":   {"ig_refresh_token"},
		"access_token": {longLived},
	}
	return c.longLived(ctx, &request{
		op:      opRefresh,
		method:  http.MethodGet,
		url:     c.graphURLFor("/refresh_access_token", false, q),
		secrets: []string{longLived},
		policy:  retryIdempotent,
	})
}

func (c *Client) longLived(ctx context.Context, r *request) (LongLivedToken, error) {
	body, err := c.do(ctx, r)
	if err != nil {
		return LongLivedToken{}, err
	}
	tok, err := parseLongLived(body, c.cfg.Now())
	if err != nil {
		return LongLivedToken{}, c.bodyError(r, err)
	}
	c.log.Info("instagram: long-lived token received", "op", r.op, "expires_at", tok.ExpiresAt)
	return tok, nil
}

// bodyError reports a 2xx body we could not use, without quoting it.
func (c *Client) bodyError(r *request, err error) error {
	if ae, ok := err.(*APIError); ok {
		ae.Op, ae.Message = r.op, r.scrub(ae.Message)
		return ae
	}
	return malformed(r.op, http.StatusOK, r.scrub(err.Error()))
}

type tokenJSON struct {
	AccessToken string   `json:"access_token"`
	UserID      flexID   `json:"user_id"`
	ID          flexID   `json:"id"`
	Permissions flexList `json:"permissions"`
	TokenType   string   `json:"token_type"`
	ExpiresIn   flexInt  `json:"expires_in"`
}

// parseShortLived reads the code-exchange answer in either shape Instagram
// uses: flat, or wrapped in {"data":[…]}.
func parseShortLived(body []byte) (ShortLivedToken, error) {
	var v struct {
		tokenJSON
		Data []tokenJSON `json:"data"`
	}
	if err := decodeJSON(body, &v); err != nil {
		return ShortLivedToken{}, err
	}
	t := v.tokenJSON
	if t.AccessToken == "" && len(v.Data) > 0 {
		t = v.Data[0]
	}
	if t.AccessToken == "" {
		return ShortLivedToken{}, errorInBody(body, "no access_token")
	}
	if t.UserID == "" {
		t.UserID = t.ID
	}
	return ShortLivedToken{AccessToken: t.AccessToken, UserID: string(t.UserID), Permissions: []string(t.Permissions)}, nil
}

// maxTokenLife bounds expires_in: Instagram's tokens live 60 days, so a
// value of years is garbage and must not push the refresh out of sight.
const maxTokenLife = 366 * 24 * time.Hour

// parseLongLived reads {"access_token","token_type","expires_in"}.
func parseLongLived(body []byte, now time.Time) (LongLivedToken, error) {
	var t tokenJSON
	if err := decodeJSON(body, &t); err != nil {
		return LongLivedToken{}, err
	}
	if t.AccessToken == "" {
		return LongLivedToken{}, errorInBody(body, "no access_token")
	}
	if t.ExpiresIn < 0 || time.Duration(t.ExpiresIn) > maxTokenLife/time.Second {
		return LongLivedToken{}, errorInBody(body, "implausible expires_in")
	}
	tok := LongLivedToken{AccessToken: t.AccessToken, TokenType: t.TokenType}
	if t.ExpiresIn > 0 {
		tok.ExpiresIn = time.Duration(t.ExpiresIn) * time.Second
		tok.ExpiresAt = now.Add(tok.ExpiresIn)
	}
	return tok, nil
}

// errorInBody turns a 2xx body that is really an error (it happens) into an
// APIError, or else reports what was missing.
func errorInBody(body []byte, missing string) error {
	ae := &APIError{HTTPStatus: http.StatusOK}
	if parseErrorBody(ae, body, func(s string) string { return scrubText(s, nil) }) {
		ae.kind = classify(0, ae.Code, ae.Transient)
		return ae
	}
	return malformed("", http.StatusOK, missing)
}
