package instagram

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// countingServer stands in for a host downloads must not reach (an
// internal service, say): it counts the connections made to it and the
// requests it answers, each with a small JPEG.
type countingServer struct {
	*httptest.Server
	conns, requests atomic.Int64
}

func newCountingServer(t *testing.T, useTLS bool) *countingServer {
	t.Helper()
	var img bytes.Buffer
	if err := jpeg.Encode(&img, image.NewGray(image.Rect(0, 0, 4, 4)), nil); err != nil {
		t.Fatal(err)
	}
	cs := &countingServer{}
	cs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.requests.Add(1)
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(img.Bytes())
	}))
	cs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			cs.conns.Add(1)
		}
	}
	if useTLS {
		cs.StartTLS()
	} else {
		cs.Start()
	}
	t.Cleanup(cs.Close)
	return cs
}

// port is the server's port on 127.0.0.1.
func (cs *countingServer) port(t *testing.T) string {
	t.Helper()
	_, port, err := net.SplitHostPort(hostOf(t, cs.URL))
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func (cs *countingServer) untouched(t *testing.T, what string) {
	t.Helper()
	if c, r := cs.conns.Load(), cs.requests.Load(); c != 0 || r != 0 {
		t.Errorf("%s: the server saw %d connections and %d requests, want none", what, c, r)
	}
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// refused checks that err is a download refused as a bad request whose
// text says why (want) and carries no query.
func refused(t *testing.T, e *env, what string, err error, want string) {
	t.Helper()
	e.seen(err)
	if !errors.Is(err, ErrBadRequest) {
		t.Errorf("%s: err = %v, want ErrBadRequest", what, err)
		return
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%s: err = %q, want it to say %q", what, err, want)
	}
	if strings.Contains(err.Error(), "oh=") || strings.Contains(err.Error(), "sig-value") {
		t.Errorf("%s: the error carries the URL's signature: %q", what, err)
	}
}

func TestDownloadNeverFetchesAnUnlistedHost(t *testing.T) {
	internal := newCountingServer(t, false)
	e := newEnv(t, withPosts(-1)) // lists the fake's host:port only
	_, _, err := e.c.Download(context.Background(), internal.URL+"/latest/meta-data.jpg?oh=sig-value&oe=1", 0)
	refused(t, e, "unlisted loopback host", err, "host "+hostOf(t, internal.URL)+" is not one of the media hosts")
	internal.untouched(t, "unlisted loopback host")
}

// TestDownloadDomainCoversSubdomainsOnly runs the downloads through a
// Config.HTTPClient whose every dial lands on a local server, as if DNS
// pointed these names there: a download that went out at all would show.
func TestDownloadDomainCoversSubdomainsOnly(t *testing.T) {
	sink := newCountingServer(t, true)
	var dialer net.Dialer
	everythingToSink := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, sink.Listener.Addr().String())
		},
	}}
	e := newEnv(t, withPosts(-1), withConfig(func(c *Config) {
		c.MediaHosts = []string{"fbcdn.net", "cdninstagram.com"}
		c.HTTPClient = everythingToSink
		c.MaxRetries = -1
	}))
	for _, u := range []string{
		"https://evilfbcdn.net/v/t51/x.jpg?oh=sig-value",
		"https://fbcdn.net.evil.example/x.jpg?oh=sig-value",
		"https://scontent.cdninstagram.com.evil.example/x.jpg",
		"https://157.240.1.1/x.jpg",
	} {
		_, _, err := e.c.Download(context.Background(), u, 0)
		refused(t, e, u, err, "is not one of the media hosts")
	}
	sink.untouched(t, "hosts outside the listed domains")
}

func TestDownloadRefusesHTTPUnlessListedExactly(t *testing.T) {
	srv := newCountingServer(t, false)
	e := newEnv(t, withPosts(-1), withConfig(func(c *Config) { c.MediaHosts = []string{"localhost"} }))
	_, _, err := e.c.Download(context.Background(), "http://localhost:"+srv.port(t)+"/x.jpg?oh=sig-value", 0)
	refused(t, e, "http to a listed domain", err, "over https unless listed exactly")
	srv.untouched(t, "http to a listed domain")
}

// localhost is a listed domain here, so the URL passes the host check;
// it resolves to loopback, which the dialer refuses before connecting.
func TestDownloadRefusesALoopbackAddressBehindAListedDomain(t *testing.T) {
	srv := newCountingServer(t, true)
	e := newEnv(t, withPosts(-1), withConfig(func(c *Config) { c.MediaHosts = []string{"localhost"} }))
	_, _, err := e.c.Download(context.Background(), "https://localhost:"+srv.port(t)+"/x.jpg?oh=sig-value", 0)
	refused(t, e, "listed domain resolving to loopback", err, "(loopback address)")
	srv.untouched(t, "listed domain resolving to loopback")
}

func TestDownloadExactHostPortMayBeLoopback(t *testing.T) {
	listed, byName, other := newCountingServer(t, false), newCountingServer(t, false), newCountingServer(t, false)
	e := newEnv(t, withPosts(-1), withConfig(func(c *Config) {
		c.MediaHosts = []string{hostOf(t, listed.URL), "LocalHost:" + byName.port(t)}
	}))
	ctx := context.Background()
	if _, _, err := e.c.Download(ctx, listed.URL+"/x.jpg", 0); err != nil {
		t.Errorf("listed 127.0.0.1:port: %v", e.seen(err))
	}
	if _, _, err := e.c.Download(ctx, "http://localhost:"+byName.port(t)+"/x.jpg", 0); err != nil {
		t.Errorf("listed localhost:port: %v", e.seen(err))
	}
	if listed.requests.Load() != 1 || byName.requests.Load() != 1 {
		t.Errorf("requests: %d and %d, want 1 each", listed.requests.Load(), byName.requests.Load())
	}
	// The same host on another port is another host.
	_, _, err := e.c.Download(ctx, other.URL+"/x.jpg?oh=sig-value", 0)
	refused(t, e, "same host, unlisted port", err, "is not one of the media hosts")
	other.untouched(t, "same host, unlisted port")
}

func TestDownloadRefusesRedirects(t *testing.T) {
	target := newCountingServer(t, false)
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/x.jpg", http.StatusFound)
	}))
	defer redirecting.Close()
	e := newEnv(t, withPosts(-1), withConfig(func(c *Config) {
		c.MediaHosts = []string{hostOf(t, redirecting.URL), hostOf(t, target.URL)}
	}))
	_, _, err := e.c.Download(context.Background(), redirecting.URL+"/x.jpg", 0)
	refused(t, e, "redirect", err, "HTTP 302")
	target.untouched(t, "redirect target")
}

func TestMediaHostsCheck(t *testing.T) {
	hosts, err := parseMediaHosts([]string{"fbcdn.net", "CDNinstagram.com", "127.0.0.1:41234", "[::1]:8080", "cdn.example:8443"})
	if err != nil {
		t.Fatal(err)
	}
	for raw, ok := range map[string]bool{
		"https://fbcdn.net/x.jpg":                     true,
		"https://scontent-xx.fbcdn.net/v/x.jpg?oh=1":  true,
		"https://SCONTENT.FBCDN.NET./x.jpg":           true, // case and the root's dot
		"https://a.b.cdninstagram.com:443/x.jpg":      true,
		"http://127.0.0.1:41234/x.jpg":                true,
		"https://127.0.0.1:41234/x.jpg":               true,
		"http://[::1]:8080/x.jpg":                     true,
		"http://[0:0::1]:8080/x.jpg":                  true, // the same address
		"http://cdn.example:8443/x.jpg":               true,
		"https://evilfbcdn.net/x.jpg":                 false,
		"https://fbcdn.net.evil.example/x.jpg":        false,
		"https://net/x.jpg":                           false,
		"http://scontent.fbcdn.net/x.jpg":             false, // domains are https only
		"http://127.0.0.1/x.jpg":                      false,
		"http://127.0.0.1:41235/x.jpg":                false,
		"http://localhost:41234/x.jpg":                false, // another name for it is another host
		"https://cdn.example/x.jpg":                   false, // listed with a port only
		"http://cdn.example:8444/x.jpg":               false,
		"https://[::ffff:127.0.0.1]:41234/x.jpg":      false,
		"https://fbcdn.net%2e127.0.0.1.nip.io/x.jpg":  false,
		"https://169.254.169.254/latest/meta-data/":   false,
		"https://metadata.google.internal/x.jpg":      false,
		"https://scontent.fbcdn.net@10.0.0.1/x.jpg":   false, // userinfo, then the real host
		"https://10.0.0.1#@scontent.fbcdn.net/x.jpg":  false,
		"https://10.0.0.1\\@scontent.fbcdn.net/x.jpg": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			if ok {
				t.Errorf("%s: %v", raw, err)
			}
			continue
		}
		if err := hosts.check(u); (err == nil) != ok {
			t.Errorf("check(%s) = %v, want allowed %v", raw, err, ok)
		}
	}
}

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

func TestNonPublicKind(t *testing.T) {
	for addr, want := range map[string]string{
		"8.8.8.8":                         "",
		"157.240.1.1":                     "",
		"2a03:2880:f003:c07:face:b00c::2": "",
		"64:ff9b::808:808":                "", // NAT64 of 8.8.8.8
		"127.0.0.1":                       "loopback",
		"127.9.9.9":                       "loopback",
		"::1":                             "loopback",
		"::ffff:127.0.0.1":                "loopback",
		"10.1.2.3":                        "private",
		"172.16.0.1":                      "private",
		"192.168.1.1":                     "private",
		"fc00::1":                         "private",
		"fd12:3456::1":                    "private",
		"64:ff9b::a00:1":                  "private", // NAT64 of 10.0.0.1
		"169.254.169.254":                 "link-local",
		"fe80::1":                         "link-local",
		"0.0.0.0":                         "unspecified",
		"::":                              "unspecified",
		"0.1.2.3":                         "reserved",
		"100.64.0.1":                      "shared (carrier-grade NAT)",
		"100.127.255.254":                 "shared (carrier-grade NAT)",
		"224.0.0.251":                     "link-local",
		"239.1.2.3":                       "multicast",
		"ff05::1":                         "multicast",
		"255.255.255.255":                 "reserved",
		"192.0.2.1":                       "documentation",
		"2001:db8::1":                     "documentation",
		"198.18.0.1":                      "benchmarking",
		"2002:a00:1::1":                   "6to4",
		"fec0::1":                         "reserved",
		"100::1":                          "reserved",
	} {
		if got := nonPublicKind(netip.MustParseAddr(addr)); got != want {
			t.Errorf("nonPublicKind(%s) = %q, want %q", addr, got, want)
		}
	}
}

// A proxy from the environment is dialled although it is on loopback: the
// operator chose it, and it, not Vitrine, connects to the CDN.
func TestMediaDownloadsUseTheConfiguredProxy(t *testing.T) {
	connects := make(chan string, 1)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			select {
			case connects <- r.Host:
			default:
			}
		}
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)
	hosts, err := parseMediaHosts(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := mediaHTTPClient(DefaultTimeout, hosts, http.ProxyURL(proxyURL))
	resp, err := hc.Get("https://scontent.cdninstagram.com/x.jpg")
	if err == nil {
		resp.Body.Close()
	}
	var refused *nonPublicAddrError
	if errors.As(err, &refused) {
		t.Fatalf("the proxy was refused: %v", err)
	}
	select {
	case host := <-connects:
		if host != "scontent.cdninstagram.com:443" {
			t.Errorf("CONNECT %s", host)
		}
	default:
		t.Errorf("the proxy saw no CONNECT: %v", err)
	}
}
