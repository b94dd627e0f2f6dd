package instagram

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://graph.instagram.com/v24.0/me?fields=id&access_token=IGAAsecret",
			"https://graph.instagram.com/v24.0/me?fields=id&access_token=REDACTED"},
		{"https://graph.instagram.com/access_token?grant_type=ig_exchange_token&client_secret=s3&access_token=t",
			"https://graph.instagram.com/access_token?grant_type=ig_exchange_token&client_secret=REDACTED&access_token=REDACTED"},
		{"https://x/cb?code=AQBxyz&state=abc#_", "https://x/cb?code=REDACTED&state=REDACTED#_"},
		{"https://x/cb#access_token=abc&x=1", "https://x/cb#access_token=REDACTED&x=1"},
		{"https://u:pw@x/?fb_exchange_token=1&app_secret_proof=2&limit=25",
			"https://u:REDACTED@x/?fb_exchange_token=REDACTED&app_secret_proof=REDACTED&limit=25"},
		{"https://x/?Access%5FToken=abc", "https://x/?Access%5FToken=REDACTED"},
	}
	for _, tc := range cases {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := redactURL(u); got != tc.want {
			t.Errorf("redactURL(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestScrubText(t *testing.T) {
	in := `Get "https://g/me?access_token=IGAAT123&error_code=5": next https://g/x?after=Q&access_token=IGAAT999 ` +
		`{"access_token":"tok","code":400,"client_secret":"cs"} code=AQB stray IGQVJabcdefghijklmnopqrstuvwxyz mysecretvalue`
	got := scrubText(in, []string{"mysecretvalue", "ab"})
	for _, leak := range []string{"IGAAT123", "IGAAT999", `"tok"`, `"cs"`, "AQB", "IGQVJabcdef", "mysecretvalue"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q survived: %s", leak, got)
		}
	}
	for _, keep := range []string{"error_code=5", `"code":400`, "after=Q", "https://g/me?"} {
		if !strings.Contains(got, keep) {
			t.Errorf("%q was scrubbed needlessly: %s", keep, got)
		}
	}
}

func TestRedactTransportErr(t *testing.T) {
	inner := errors.New(`dial tcp: lookup host: no such host (token=abc123)`)
	err := &url.Error{Op: "Get", URL: "https://g/me?access_token=IGAAsecretsecret", Err: inner}
	safe, msg := redactTransportErr(err, []string{"IGAAsecretsecret"})
	if strings.Contains(msg, "IGAAsecret") || strings.Contains(safe.Error(), "IGAAsecret") || strings.Contains(msg, "abc123") {
		t.Errorf("leak: %s / %s", msg, safe)
	}
	var ue *url.Error
	if !errors.As(safe, &ue) || ue.URL != "https://g/me?access_token=REDACTED" {
		t.Errorf("url.Error = %#v", ue)
	}
	if !errors.Is(safe, inner) {
		t.Error("the cause is no longer in the chain")
	}
}

func TestSnippet(t *testing.T) {
	body := []byte("<html>\n<body>\n502   Bad Gateway access_token=IGAAxyz \x00\xff" + strings.Repeat("x", 500))
	got := snippet(body, func(s string) string { return scrubText(s, nil) })
	if strings.Contains(got, "IGAAxyz") || strings.ContainsAny(got, "\x00\n") {
		t.Errorf("snippet = %q", got)
	}
	if !strings.HasPrefix(got, "<html> <body> 502 Bad Gateway") {
		t.Errorf("snippet = %q", got)
	}
	if n := len([]rune(got)); n > 81 {
		t.Errorf("snippet is %d runes long", n)
	}
}
