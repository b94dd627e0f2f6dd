package instagram

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Media URLs (media_url, thumbnail_url, profile_picture_url) come from
// Instagram's answers, so whoever answers in Instagram's name chooses what
// Download fetches. Two checks keep that on Instagram's CDN: the URL's host
// must be a listed media host (before any connection), and the address
// actually dialled must be public (at connection time, after DNS, so a name
// that resolves, or rebinds, to an internal address is refused).

// DefaultMediaHosts are the domains Instagram serves media from.
var DefaultMediaHosts = []string{"cdninstagram.com", "fbcdn.net"}

// mediaHosts is a parsed MediaHosts list.
//
// A domain entry ("fbcdn.net") covers that name and every subdomain
// ("scontent-xx.fbcdn.net", never "evilfbcdn.net"), over https only (on
// any port: the address check keeps it off internal networks), and only
// public addresses. An exact entry ("127.0.0.1:41234",
// "cdn.example.com:8443") covers that host on that port alone, over http or
// https, at whatever address it has: listing it is the operator's decision,
// which is how tests and -demo reach a fake on loopback.
type mediaHosts struct {
	domains []string        // lower case, no trailing dot
	exact   map[string]bool // canonical host:port
}

// CheckMediaHost reports what is wrong with one MediaHosts entry: it must
// be a domain name ("fbcdn.net", covering its subdomains) or an exact
// host:port ("127.0.0.1:8080", "[::1]:8080", "localhost:8080"). A scheme,
// path, wildcard or leading dot is refused, as is an IP address without
// its port (an IP has no subdomains to cover).
func CheckMediaHost(entry string) error {
	_, _, err := parseMediaHost(entry)
	return err
}

// parseMediaHost returns the entry's canonical form and whether it is an
// exact host:port.
func parseMediaHost(entry string) (canonical string, exact bool, err error) {
	e := strings.ToLower(entry)
	switch {
	case e == "":
		return "", false, errors.New("is empty")
	case strings.Contains(e, "://"):
		return "", false, errors.New("has a scheme: give the host only, e.g. fbcdn.net")
	case strings.ContainsAny(e, "/?#@"):
		return "", false, errors.New("has a path, query or user: give the host only, or host:port")
	case strings.Contains(e, "*") || strings.HasPrefix(e, "."):
		return "", false, errors.New("no wildcards or leading dot: a domain covers its subdomains already (fbcdn.net covers scontent-xx.fbcdn.net)")
	}
	host, port, hasPort := e, "", false
	if strings.HasPrefix(e, "[") || strings.Count(e, ":") == 1 {
		h, p, err := net.SplitHostPort(e)
		if err != nil {
			return "", false, errors.New("is not host:port")
		}
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || p != strconv.Itoa(n) {
			return "", false, errors.New("port must be a number between 1 and 65535")
		}
		host, port, hasPort = h, p, true
	} else if strings.Contains(e, ":") {
		return "", false, errors.New("an IPv6 address goes in brackets with its port, e.g. [::1]:8080")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return "", false, errors.New("an IP address with a zone is not supported")
		}
		if !hasPort {
			return "", false, errors.New("an IP address needs its port, e.g. 127.0.0.1:8080 (only an exact host:port may be an address)")
		}
		return net.JoinHostPort(ip.String(), port), true, nil
	}
	if !validHostname(host) {
		return "", false, errors.New("is not a host name (letters, digits, hyphens and dots, e.g. fbcdn.net)")
	}
	if hasPort {
		return net.JoinHostPort(host, port), true, nil
	}
	return host, false, nil
}

// validHostname: dot-separated labels of letters, digits and inner
// hyphens, the last not all digits (so "0.1" cannot pass for a domain that
// IP addresses end in). Lower case only: the caller lowers.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

func parseMediaHosts(entries []string) (*mediaHosts, error) {
	if len(entries) == 0 {
		entries = DefaultMediaHosts
	}
	m := &mediaHosts{exact: map[string]bool{}}
	var problems []string
	for _, e := range entries {
		c, exact, err := parseMediaHost(e)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%q %v", e, err))
		case exact:
			m.exact[c] = true
		default:
			m.domains = append(m.domains, c)
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return m, nil
}

// canonicalHost lowers host, drops a trailing dot (the same name to DNS)
// and writes an IP address in its standard form, so a URL's host and the
// address the transport dials compare with the listed entries alike.
func canonicalHost(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.String()
	}
	return host
}

func canonicalHostPort(host, port string) string {
	return net.JoinHostPort(canonicalHost(host), port)
}

// defaultPort is the port a URL without one reaches.
func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

// isExact reports whether the dialled address addr ("host:port") is listed
// exactly.
func (m *mediaHosts) isExact(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	return err == nil && m.exact[canonicalHostPort(host, port)]
}

// check returns why u may not be downloaded, or nil. The reason names the
// host, never the query (it carries the URL's signature).
func (m *mediaHosts) check(u *url.URL) error {
	port := u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	if m.exact[canonicalHostPort(u.Hostname(), port)] {
		return nil
	}
	if !m.coversDomain(canonicalHost(u.Hostname())) {
		return fmt.Errorf("host %s is not one of the media hosts (instagram.media_hosts)", u.Host)
	}
	if u.Scheme != "https" {
		return fmt.Errorf("http to %s refused: media hosts are reached over https unless listed exactly as host:port", u.Host)
	}
	return nil
}

func (m *mediaHosts) coversDomain(host string) bool {
	if !validHostname(host) {
		return false // an IP address, or not a name at all
	}
	for _, d := range m.domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// nonPublicAddrError is a connection refused at dial time: the address is
// not a public one and its host:port is not listed exactly.
type nonPublicAddrError struct {
	addr netip.Addr
	kind string
}

func (e *nonPublicAddrError) Error() string {
	return fmt.Sprintf("refused to connect to %s (%s address): only a host listed exactly as host:port in instagram.media_hosts may have a non-public address", e.addr, e.kind)
}

// refuseNonPublic is a net.Dialer Control function: it sees the very
// address about to be connected to, after DNS resolution, so a name
// resolving (or rebinding) to an internal address is caught.
func refuseNonPublic(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused to connect to %q: not an IP address and port", address)
	}
	if kind := nonPublicKind(ap.Addr()); kind != "" {
		return &nonPublicAddrError{addr: ap.Addr().Unmap(), kind: kind}
	}
	return nil
}

var (
	// nat64 is the well-known NAT64 prefix: the IPv4 address it embeds is
	// the one really reached.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
	// globalUnicast6 is the only IPv6 block allocated for public unicast;
	// everything outside it is special (loopback, ULA, link-local, ...).
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	// specialRanges are the special-purpose blocks the netip predicates do
	// not cover.
	specialRanges = []struct {
		prefix netip.Prefix
		kind   string
	}{
		{netip.MustParsePrefix("0.0.0.0/8"), "reserved"},
		{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
		{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
		{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
		{netip.MustParsePrefix("192.88.99.0/24"), "reserved"},
		{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
		{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
		{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
		{netip.MustParsePrefix("2001::/23"), "reserved"},
		{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
		{netip.MustParsePrefix("2002::/16"), "6to4"},
		{netip.MustParsePrefix("3fff::/20"), "documentation"},
	}
)

// nonPublicKind says what kind of non-public address ip is, or "" when it
// is a public unicast address.
func nonPublicKind(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	case nat64.Contains(ip):
		b := ip.As16()
		return nonPublicKind(netip.AddrFrom4([4]byte(b[12:])))
	}
	for _, r := range specialRanges {
		if r.prefix.Contains(ip) {
			return r.kind
		}
	}
	if ip.Is6() && !globalUnicast6.Contains(ip) {
		return "reserved"
	}
	return ""
}

// proxyAddrs remembers the proxies the transport was told to use, so
// their dials pass: a proxy from HTTPS_PROXY is the operator's choice, and
// it, not Vitrine, connects to the CDN (the host check still applies).
type proxyAddrs struct {
	mu    sync.Mutex
	addrs map[string]bool
	from  func(*http.Request) (*url.URL, error)
}

func (p *proxyAddrs) proxy(req *http.Request) (*url.URL, error) {
	u, err := p.from(req)
	if u != nil && err == nil {
		port := u.Port()
		if port == "" {
			port = map[string]string{"https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme]
		}
		if port == "" {
			port = "80"
		}
		p.mu.Lock()
		p.addrs[canonicalHostPort(u.Hostname(), port)] = true
		p.mu.Unlock()
	}
	return u, err
}

func (p *proxyAddrs) has(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addrs[canonicalHostPort(host, port)]
}

// mediaHTTPClient is the client downloads use, apart from the one for the
// Graph and OAuth calls (Config.HTTPClient): its dialer refuses non-public
// addresses but for exactly listed hosts and the configured proxy, and it
// refuses redirects, so the host check cannot be walked around by a 302.
func mediaHTTPClient(timeout time.Duration, hosts *mediaHosts, proxy func(*http.Request) (*url.URL, error)) *http.Client {
	plain := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	guarded := &net.Dialer{Timeout: plain.Timeout, KeepAlive: plain.KeepAlive, Control: refuseNonPublic}
	proxies := &proxyAddrs{addrs: map[string]bool{}, from: proxy}
	// The Graph client's settings (timeouts, pool, no redirects), with the
	// proxy remembered and the guarded dialer.
	c := defaultHTTPClient(timeout)
	t := c.Transport.(*http.Transport)
	t.Proxy = proxies.proxy
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if hosts.isExact(addr) || proxies.has(addr) {
			return plain.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
	return c
}
