package moderation

import (
	"errors"
	"strings"
	"testing"

	"vitrine/store"
)

func TestCheckLink(t *testing.T) {
	ok := []struct{ url, label string }{
		{"https://shop.example/mug", "Buy the mug"},
		{"  HTTPS://Shop.example/mug?color=blue#top ", ""},
		{"http://shop.example:8080/", "Shop\tthis\n  now "},
		{"https://loja.example/caneca", strings.Repeat("é", MaxLinkLabel)},
		{"https://xn--bcher-kva.example/", "🛍️ Shop"},
	}
	want := []store.Link{
		{URL: "https://shop.example/mug", Label: "Buy the mug"},
		{URL: "https://Shop.example/mug?color=blue#top", Label: ""},
		{URL: "http://shop.example:8080/", Label: "Shop this now"},
		{URL: "https://loja.example/caneca", Label: strings.Repeat("é", MaxLinkLabel)},
		{URL: "https://xn--bcher-kva.example/", Label: "🛍️ Shop"},
	}
	for i, c := range ok {
		got, err := CheckLink(c.url, c.label)
		if err != nil || got != want[i] {
			t.Errorf("CheckLink(%q, %q) = %+v, %v; want %+v", c.url, c.label, got, err, want[i])
		}
	}

	bad := []struct{ url, label, field string }{
		{"", "Shop", "url"},
		{"   ", "", "url"},
		{"javascript:alert(1)", "", "url"},
		{"JavaScript:alert(document.cookie)//https://shop.example", "", "url"},
		{"data:text/html,<script>alert(1)</script>", "", "url"},
		{"vbscript:msgbox", "", "url"},
		{"//shop.example/mug", "", "url"},
		{"/mug", "", "url"},
		{"shop.example/mug", "", "url"},
		{"https:shop.example", "", "url"},
		{"https://", "", "url"},
		{"https://user:pw@shop.example/", "", "url"},
		{"https://google.com@evil.example/", "", "url"},
		{"https://shop.example/a b", "", "url"},
		{"https://shop.example/\x00", "", "url"},
		{"https://shop.example/\u2028mug", "", "url"},
		{"https://shop.example/%zz", "", "url"},
		{"ftp://shop.example/", "", "url"},
		{"https://shop.example/" + strings.Repeat("a", MaxLinkURL), "", "url"},
		{"https://shop.example/", strings.Repeat("x", MaxLinkLabel+1), "label"},
		{"https://shop.example/", "\xff\xfe", "label"},
	}
	for _, c := range bad {
		got, err := CheckLink(c.url, c.label)
		var le *LinkError
		if !errors.As(err, &le) || !errors.Is(err, ErrBadLink) || le.Field != c.field || le.Message == "" || got != (store.Link{}) {
			t.Errorf("CheckLink(%q, %q) = %+v, %v; want a LinkError about the %s", c.url, c.label, got, err, c.field)
		}
	}
}
