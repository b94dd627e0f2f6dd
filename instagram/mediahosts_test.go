package instagram

import (
	"strings"
	"testing"
)

func TestCheckMediaHost(t *testing.T) {
	for _, ok := range []string{"fbcdn.net", "CDNInstagram.com", "localhost", "127.0.0.1:8080", "[::1]:8080", "cdn.example:443", "xn--bcher-kva.example"} {
		if err := CheckMediaHost(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for entry, want := range map[string]string{
		"":                    "empty",
		"https://fbcdn.net":   "scheme",
		"fbcdn.net/v":         "path",
		"user@fbcdn.net":      "user",
		"*.fbcdn.net":         "wildcards",
		".fbcdn.net":          "leading dot",
		"fbcdn.net.":          "not a host name",
		"fb_cdn.net":          "not a host name",
		"fbcdn .net":          "not a host name",
		"-fbcdn.net":          "not a host name",
		"0.1":                 "not a host name",
		"127.0.0.1":           "needs its port",
		"::1":                 "brackets",
		"[::1]":               "host:port",
		"fbcdn.net:0":         "port",
		"fbcdn.net:99999":     "port",
		"fbcdn.net:08":        "port",
		"fbcdn.net:https":     "port",
		"[fe80::1%eth0]:8080": "zone",
	} {
		err := CheckMediaHost(entry)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckMediaHost(%q) = %v, want an error saying %q", entry, err, want)
		}
	}
}
