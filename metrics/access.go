package metrics

import (
	"crypto/subtle"
	"net/http"
	"net/netip"
	"strings"
)

// RefusedScrape is the refusal reason of a scrape Access turned away.
const RefusedScrape = "metrics"

// Access says who may read the metrics: what they show (whether the token
// works, when it expires, which jobs fail, process details) helps an
// attacker time their moves, so by default only the host itself may.
type Access struct {
	// AllowedNetworks admit a client by its address.
	AllowedNetworks []netip.Prefix
	// Token, when set, admits anyone sending "Authorization: Bearer Token".
	Token string
}

// Check says whether a request from client with the given Authorization
// header may read the metrics: 0 when it may, else the status to refuse
// with, 401 when the token would have admitted it and 403 when nothing
// would. An invalid client is one whose address is unknown (relayed by a
// proxy that is not trusted): only the token admits it.
func (a Access) Check(client netip.Addr, authorization string) int {
	if a.Token != "" {
		scheme, presented, _ := strings.Cut(authorization, " ")
		if strings.EqualFold(scheme, "Bearer") &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(presented)), []byte(a.Token)) == 1 {
			return 0
		}
	}
	if client.IsValid() {
		client = client.Unmap()
		for _, n := range a.AllowedNetworks {
			if n.Contains(client) {
				return 0
			}
		}
	}
	if a.Token != "" {
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}
