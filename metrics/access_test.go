package metrics

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestAccessCheck(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	const token = "0123456789abcdef-metrics"
	for _, tc := range []struct {
		name   string
		access Access
		client string // "" for unknown
		auth   string
		want   int
	}{
		{"loopback", Access{AllowedNetworks: loopback}, "127.0.0.1", "", 0},
		{"IPv6 loopback", Access{AllowedNetworks: loopback}, "::1", "", 0},
		{"IPv4-mapped loopback", Access{AllowedNetworks: loopback}, "::ffff:127.0.0.1", "", 0},
		{"outside, no token configured", Access{AllowedNetworks: loopback}, "203.0.113.9", "", http.StatusForbidden},
		{"outside, a token sent but none configured", Access{AllowedNetworks: loopback}, "203.0.113.9", "Bearer " + token, http.StatusForbidden},
		{"unknown client", Access{AllowedNetworks: loopback}, "", "", http.StatusForbidden},
		{"outside, token missing", Access{AllowedNetworks: loopback, Token: token}, "203.0.113.9", "", http.StatusUnauthorized},
		{"outside, token wrong", Access{AllowedNetworks: loopback, Token: token}, "203.0.113.9", "Bearer " + token + "x", http.StatusUnauthorized},
		{"outside, token as basic", Access{AllowedNetworks: loopback, Token: token}, "203.0.113.9", "Basic " + token, http.StatusUnauthorized},
		{"outside, right token", Access{AllowedNetworks: loopback, Token: token}, "203.0.113.9", "Bearer " + token, 0},
		{"unknown client, right token", Access{AllowedNetworks: loopback, Token: token}, "", "bearer " + token, 0},
		{"nothing allowed", Access{}, "127.0.0.1", "", http.StatusForbidden},
	} {
		var client netip.Addr
		if tc.client != "" {
			client = netip.MustParseAddr(tc.client)
		}
		if got := tc.access.Check(client, tc.auth); got != tc.want {
			t.Errorf("%s: Check = %d, want %d", tc.name, got, tc.want)
		}
	}
}
