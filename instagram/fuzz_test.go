package instagram

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The parsers read whatever Instagram (or something in between) sends:
// they must never panic, and an error must not quote the body.

func FuzzParseTokenResponse(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"IGAAT","user_id":17841405793187218,"permissions":["instagram_business_basic"]}`,
		`{"data":[{"access_token":"IGAAT","user_id":"17841405793187218","permissions":"instagram_business_basic"}]}`,
		`{"access_token":"IGAAT","token_type":"bearer","expires_in":5183944}`,
		`{"error_type":"OAuthException","code":400,"error_message":"Matching code was not found or was already used"}`,
		`{"error":{"message":"m","code":190,"error_subcode":463}}`,
		`{"access_token":"x","expires_in":1e308}`,
		`{"data":[null]}`, `null`, ``, `<html>`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		if tok, err := parseShortLived(body); err == nil && tok.AccessToken == "" {
			t.Error("success without a token")
		} else if err != nil {
			noEcho(t, err)
		}
		if tok, err := parseLongLived(body, now); err == nil {
			if tok.AccessToken == "" || tok.ExpiresIn < 0 || tok.ExpiresIn > maxTokenLife {
				t.Errorf("implausible token accepted: %+v", tok)
			}
		} else {
			noEcho(t, err)
		}
		var ae APIError
		parseErrorBody(&ae, body, func(s string) string { return scrubText(s, nil) })
		_ = ae.Error()
		_ = snippet(body, func(s string) string { return scrubText(s, nil) })
	})
}

func FuzzParseMediaPage(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"id":"1","media_type":"CAROUSEL_ALBUM","timestamp":"2023-10-20T17:40:47+0000","children":{"data":[{"id":"2"}]}}],"paging":{"cursors":{"after":"a"},"next":"n"}}`,
		`{"data":[{"id":1,"media_type":"CAROUSEL_ALBUM"}]}`,
		`{"data":[],"paging":null}`,
		`{"id":"1","user_id":17841405793187218,"followers_count":"9"}`,
		`{"data":[{"id":"1","timestamp":"2023-13-45T99:99:99+9999"}]}`,
		`{"error":{"code":"190"}}`,
		`{"data":[{"id":"1","like_count":"12","comments_count":null},{"id":"2","like_count":-4,"comments_count":1e400}]}`,
		`{"user_id":"1","username":"u","biography":"bio","followers_count":7}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseMediaPage(body)
		if err != nil {
			noEcho(t, err)
			return
		}
		for _, i := range p.childless {
			if i < 0 || i >= len(p.items) || p.items[i].MediaType != "CAROUSEL_ALBUM" {
				t.Fatalf("childless index %d is not a carousel", i)
			}
		}
		for _, m := range p.items {
			if m.ID == "" {
				t.Fatal("item without id accepted")
			}
			for _, n := range []*int{m.LikeCount, m.CommentsCount} {
				if n != nil && *n < 0 {
					t.Fatalf("negative count %d accepted", *n)
				}
			}
		}
		_, _ = parseProfile(body)
		h := http.Header{}
		h.Set("X-Business-Use-Case-Usage", string(body))
		if d := retryAfter(h); d < 0 || d > 24*time.Hour {
			t.Fatalf("retryAfter = %s", d)
		}
	})
}

// noEcho fails when a parse error quotes a long stretch of input: error
// text must not carry whatever token the body held.
// (An APIError's Message is Instagram's own words, shown on purpose; the
// request's secrets are scrubbed from it by the caller.)
func noEcho(t *testing.T, err error) {
	t.Helper()
	var ae *APIError
	if errors.As(err, &ae) {
		return
	}
	if strings.Contains(err.Error(), "IGAAT") {
		t.Errorf("error echoes the body: %s", err)
	}
}
