package fake

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SignedRequest is what Meta posts, as form field signed_request, to an
// app's deauthorize and data-deletion callbacks about userID:
// base64url(HMAC-SHA256 of the payload part, keyed with the app secret)
// "." base64url(payload), both without padding.
func (f *Fake) SignedRequest(userID string, issuedAt time.Time) string {
	payload, _ := json.Marshal(map[string]any{
		"algorithm": "HMAC-SHA256",
		"issued_at": issuedAt.Unix(),
		"user_id":   userID,
	})
	payloadPart := base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(f.clientSecret))
	mac.Write([]byte(payloadPart))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) + "." + payloadPart
}

// RemoveApp is the owner removing the app in Instagram's settings: every
// token issued so far stops working (190/458), and Meta posts a signed
// deauthorize notice to deauthorizeURL (skipped when it is ""). It returns
// the callback's status.
func (f *Fake) RemoveApp(ctx context.Context, deauthorizeURL string) (int, error) {
	f.RevokeTokens()
	if deauthorizeURL == "" {
		return 0, nil
	}
	status, _, err := f.postSignedRequest(ctx, deauthorizeURL)
	return status, err
}

// RequestDataDeletion is the owner asking, in Instagram's settings, that
// the app delete their data: Meta posts a signed request to
// dataDeletionURL and shows the owner the status URL and confirmation code
// the app answers with.
func (f *Fake) RequestDataDeletion(ctx context.Context, dataDeletionURL string) (statusURL, code string, err error) {
	status, body, err := f.postSignedRequest(ctx, dataDeletionURL)
	if err != nil {
		return "", "", err
	}
	if status != http.StatusOK {
		return "", "", fmt.Errorf("fake: data deletion callback answered %d: %.200s", status, body)
	}
	var answer struct {
		URL  string `json:"url"`
		Code string `json:"confirmation_code"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.URL == "" || answer.Code == "" {
		return "", "", fmt.Errorf("fake: data deletion callback answered no url and confirmation_code: %.200s", body)
	}
	return answer.URL, answer.Code, nil
}

func (f *Fake) postSignedRequest(ctx context.Context, callbackURL string) (int, []byte, error) {
	form := url.Values{"signed_request": {f.SignedRequest(f.Account().UserID, f.clock.Now())}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callbackURL, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, err
}
