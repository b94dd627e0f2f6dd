package server

import (
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"vitrine/metrics"
)

// proxies tells who a request comes from, honouring only the proxies in
// server.trusted_proxies, as gin's ClientIP does, and says once in the log
// when an untrusted peer sends forwarding headers: then every visitor
// behind that proxy shares one address, for the login throttle and the
// logs alike, and /metrics cannot tell them apart.
type proxies struct {
	trusted []netip.Prefix
	log     *slog.Logger
	warned  atomic.Bool
}

// forwardingHeaders are those a reverse proxy adds; gin reads the first
// two.
var forwardingHeaders = []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded"}

func forwarded(r *http.Request) bool {
	for _, h := range forwardingHeaders {
		if r.Header.Get(h) != "" {
			return true
		}
	}
	return false
}

func (px *proxies) trustedPeer(peer netip.Addr) bool {
	peer = peer.Unmap()
	for _, p := range px.trusted {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

// address is the client's address, or an invalid one when the request was
// relayed by a peer that is not trusted (the real client is unknown).
func (px *proxies) address(c *gin.Context) netip.Addr {
	peer, err := netip.ParseAddr(c.RemoteIP())
	if err != nil {
		return netip.Addr{}
	}
	if !forwarded(c.Request) {
		return peer.Unmap()
	}
	if !px.trustedPeer(peer) {
		return netip.Addr{}
	}
	client, err := netip.ParseAddr(c.ClientIP())
	if err != nil {
		return netip.Addr{}
	}
	return client.Unmap()
}

// warnUntrustedForwarding is middleware: the first request that carries
// forwarding headers from a peer not listed as a trusted proxy logs how
// to fix it. Once: a misconfigured proxy sends them on every request.
func (px *proxies) warnUntrustedForwarding(c *gin.Context) {
	if !px.warned.Load() && forwarded(c.Request) {
		if peer, err := netip.ParseAddr(c.RemoteIP()); err == nil && !px.trustedPeer(peer) && px.warned.CompareAndSwap(false, true) {
			px.log.Warn("requests arrive with X-Forwarded-For from a proxy that server.trusted_proxies does not list: "+
				"Vitrine sees every visitor behind it as that proxy, so one visitor's wrong passwords throttle everyone's sign-in. "+
				"List the proxy's address in server.trusted_proxies", "proxy", peer.String())
		}
	}
	c.Next()
}

// metricsGate lets a request through to /metrics only as access allows;
// a refusal is counted and says nothing more than its status.
func (v *Vitrine) metricsGate(access metrics.Access) gin.HandlerFunc {
	var logged atomic.Bool
	return func(c *gin.Context) {
		status := access.Check(v.proxies.address(c), c.GetHeader("Authorization"))
		if status == 0 {
			c.Next()
			return
		}
		v.Metrics.RequestRefused(metrics.RefusedScrape)
		if logged.CompareAndSwap(false, true) {
			v.Log.Warn("metrics: refused a scrape from outside metrics.allowed_networks without the metrics.token (logged once)",
				"ip", c.ClientIP(), "status", status)
		}
		if status == http.StatusUnauthorized {
			c.Header("WWW-Authenticate", `Bearer realm="vitrine metrics"`)
		}
		c.AbortWithStatus(status)
	}
}
