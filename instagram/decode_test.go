package instagram

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestParseShortLived(t *testing.T) {
	want := ShortLivedToken{AccessToken: "IGAAT", UserID: "17841405793187218", Permissions: []string{"instagram_business_basic", "instagram_business_manage_messages"}}
	for _, body := range []string{
		`{"access_token":"IGAAT","user_id":17841405793187218,"permissions":["instagram_business_basic","instagram_business_manage_messages"]}`,
		`{"data":[{"access_token":"IGAAT","user_id":"17841405793187218","permissions":"instagram_business_basic, instagram_business_manage_messages"}]}`,
		`{"data":[{"access_token":"IGAAT","user_id":17841405793187218,"permissions":"instagram_business_basic,instagram_business_manage_messages,"}]}`,
		` {"access_token":"IGAAT","id":17841405793187218,"permissions":["instagram_business_basic","instagram_business_manage_messages"]} `,
	} {
		got, err := parseShortLived([]byte(body))
		if err != nil {
			t.Errorf("parseShortLived(%s): %v", body, err)
			continue
		}
		if got.AccessToken != want.AccessToken || got.UserID != want.UserID || !slices.Equal(got.Permissions, want.Permissions) {
			t.Errorf("parseShortLived(%s) = %+v", body, got)
		}
	}
	for _, body := range []string{``, `{}`, `{"data":[]}`, `{"access_token":""}`, `{"access_token":"x","user_id":1.5}`,
		`{"access_token":"x"} trailing`, `{"access_token":"x","permissions":{}}`, `<html>`} {
		if _, err := parseShortLived([]byte(body)); err == nil {
			t.Errorf("parseShortLived(%q) accepted", body)
		}
	}
	// An error object in a 2xx body becomes a typed error.
	_, err := parseShortLived([]byte(`{"error_type":"OAuthException","code":400,"error_message":"Invalid platform app"}`))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Message != "Invalid platform app" || !errors.Is(err, ErrBadRequest) {
		t.Errorf("error in 200 body: %v", err)
	}
}

func TestParseLongLived(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	got, err := parseLongLived([]byte(`{"access_token":"IGAAT","token_type":"bearer","expires_in":5183944}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExpiresIn != 5183944*time.Second || !got.ExpiresAt.Equal(now.Add(5183944*time.Second)) || got.TokenType != "bearer" {
		t.Errorf("parseLongLived = %+v", got)
	}
	got, err = parseLongLived([]byte(`{"access_token":"IGAAT","token_type":"bearer","expires_in":"5183944"}`), now)
	if err != nil || got.ExpiresIn != 5183944*time.Second {
		t.Errorf("string expires_in: %+v, %v", got, err)
	}
	got, err = parseLongLived([]byte(`{"access_token":"IGAAT"}`), now)
	if err != nil || !got.ExpiresAt.IsZero() {
		t.Errorf("no expires_in: %+v, %v", got, err)
	}
	for _, body := range []string{`{"access_token":"x","expires_in":-1}`, `{"access_token":"x","expires_in":99999999999}`,
		`{"access_token":"x","expires_in":"soon"}`, `{"expires_in":5}`} {
		if _, err := parseLongLived([]byte(body), now); err == nil {
			t.Errorf("parseLongLived(%s) accepted", body)
		}
	}
}

func TestParseMediaPage(t *testing.T) {
	body := `{"data":[
	  {"id":"18263987191164952","caption":"\ud83c\udf3f leaf","media_type":"CAROUSEL_ALBUM",
	   "media_url":"https:\/\/cdn\/a.jpg?oh=1&oe=2","permalink":"https:\/\/www.instagram.com\/p\/Cy\/",
	   "timestamp":"2023-10-20T17:40:47+0000","username":"u",
	   "children":{"data":[{"id":"1","media_type":"IMAGE","media_url":"https:\/\/cdn\/1.jpg"},{"id":2,"media_type":"VIDEO","thumbnail_url":"t"}]}},
	  {"id":18263987191164953,"media_type":"VIDEO","thumbnail_url":"https:\/\/cdn\/t.jpg","timestamp":"2023-10-19T08:00:00Z"},
	  {"id":"3","media_type":"CAROUSEL_ALBUM","timestamp":"yesterday"},
	  {"id":"4","media_type":"IMAGE","timestamp":"2023-10-18T01:02:03-0230"}],
	 "paging":{"cursors":{"before":"QVFIb","after":"QVFIa"},"next":"https:\/\/graph\/me\/media?access_token=IGAAT&after=QVFIa"}}`
	p, err := parseMediaPage([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.items) != 4 || p.after != "QVFIa" || !p.hasNext {
		t.Fatalf("page = %+v", p)
	}
	a := p.items[0]
	if a.Caption != "🌿 leaf" || a.MediaURL != "https://cdn/a.jpg?oh=1&oe=2" || len(a.Children) != 2 || a.Children[1].ID != "2" {
		t.Errorf("carousel = %+v", a)
	}
	if want := time.Date(2023, 10, 20, 17, 40, 47, 0, time.UTC); !a.Timestamp.Equal(want) {
		t.Errorf("timestamp = %s, want %s", a.Timestamp, want)
	}
	if p.items[1].ID != "18263987191164953" || p.items[1].Timestamp.IsZero() {
		t.Errorf("numeric id / RFC 3339 time: %+v", p.items[1])
	}
	if !p.items[2].Timestamp.IsZero() {
		t.Errorf("unparsable timestamp should be zero: %s", p.items[2].Timestamp)
	}
	if want := time.Date(2023, 10, 18, 3, 32, 3, 0, time.UTC); !p.items[3].Timestamp.Equal(want) {
		t.Errorf("-0230 timestamp = %s, want %s", p.items[3].Timestamp, want)
	}
	if !slices.Equal(p.childless, []int{2}) {
		t.Errorf("childless = %v, want [2]", p.childless)
	}

	last, err := parseMediaPage([]byte(`{"data":[{"id":"9"}],"paging":{"cursors":{"before":"a","after":"b"}}}`))
	if err != nil || last.hasNext {
		t.Errorf("a page without paging.next is the last: %+v, %v", last, err)
	}
	for _, bad := range []string{`{}`, `{"data":{}}`, `{"data":[{"caption":"no id"}]}`, `nope`} {
		if _, err := parseMediaPage([]byte(bad)); err == nil {
			t.Errorf("parseMediaPage(%s) accepted", bad)
		}
	}
}

func TestParseProfile(t *testing.T) {
	p, err := parseProfile([]byte(`{"id":"26412537291830114","user_id":17841405793187218,"username":"u","account_type":"Media_Creator","followers_count":"12","media_count":30}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != "17841405793187218" || p.FollowersCount != 12 || p.MediaCount != 30 || p.AccountType != "Media_Creator" {
		t.Errorf("parseProfile = %+v", p)
	}
	_, err = parseProfile([]byte(`{"error":{"message":"m","code":190,"error_subcode":460}}`))
	if !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("error object in a 200: %v", err)
	}
}
