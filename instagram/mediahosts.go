package instagram

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

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
