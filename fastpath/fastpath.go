// Package fastpath answers the widget's public GETs on the connection
// itself and hands every other connection to net/http.
package fastpath

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vitrine/widget"
)

// The fast path answers the widget's public GETs (/widget, /widget.js,
// /widget.json, /media/…) on the connection itself: one read, one writev of
// bytes the widget prepared, no goroutine, header map or timer per request.
// net/http's per-request work (a background read goroutine, deadlines set
// and cleared, header maps, sorting) costs about half the throughput of
// nginx on the same bytes; see bench/RESULTS.md.
//
// Everything else goes to net/http, with every byte read so far: a
// connection whose request is not a plain GET or HEAD of those paths
// (another path, HTTP/1.0, a body, Expect, Upgrade, an unusual character,
// a header over fastBufSize) or that the widget declines (any error, a
// Range, an image not in memory) is handed over for good and served by the
// usual gin engine. The answers are the handlers' own: the widget answers
// both through one function over the same prepared responses
// (widget.Wire); the system tests compare both paths byte for byte but
// for Date.
//
// It is off when debug logging is on, so the access log sees every
// request, and with TLS.

// fastBufSize bounds a request the fast path reads: browsers send 0.5–2 KB
// of headers; anything larger is handed over with what was read.
const fastBufSize = 4 << 10

// wireSource is the widget's side (widget.Widget.Wire).
type wireSource interface {
	Wire(*widget.WireRequest) (head, body []byte, ok bool)
}

// Listen wraps ln for srv.Serve: srv only sees the connections the fast
// path hands over. It returns ln itself when the fast path is off.
func Listen(ln net.Listener, srv *http.Server, src wireSource, log *slog.Logger) net.Listener {
	if srv.TLSConfig != nil || log.Enabled(context.Background(), slog.LevelDebug) {
		return ln
	}
	f := &fastListener{
		ln: ln, src: src, log: log,
		readHeaderTimeout: srv.ReadHeaderTimeout,
		idleTimeout:       srv.IdleTimeout,
		writeTimeout:      srv.WriteTimeout,
		handoff:           make(chan net.Conn),
		errc:              make(chan error),
		done:              make(chan struct{}),
		conns:             map[*fastConn]struct{}{},
	}
	// The same fallbacks as net/http's.
	if f.readHeaderTimeout <= 0 {
		f.readHeaderTimeout = srv.ReadTimeout
	}
	if f.idleTimeout <= 0 {
		f.idleTimeout = srv.ReadTimeout
	}
	go f.acceptLoop()
	return f
}

// fastListener is the net.Listener http.Server serves: Accept returns the
// connections handed over; Close (from Shutdown or Close) also ends the
// fast path's own connections, idle ones at once, busy ones after their
// current response.
type fastListener struct {
	ln                                           net.Listener
	src                                          wireSource
	log                                          *slog.Logger
	readHeaderTimeout, idleTimeout, writeTimeout time.Duration

	handoff chan net.Conn
	errc    chan error // accept errors, passed on for http.Server to judge
	done    chan struct{}
	closing atomic.Bool
	once    sync.Once

	mu    sync.Mutex
	conns map[*fastConn]struct{}
	wg    sync.WaitGroup

	date atomic.Pointer[dateLine]

	handedOver atomic.Int64 // connections given to net/http, for tests
}

type dateLine struct {
	unix int64
	b    []byte // "Date: …\r\n"
}

// HandedOver counts the connections l has given to net/http so far; 0 when
// l is not a fast-path listener. Tests tell by it which path answered.
func HandedOver(l net.Listener) int64 {
	if f, ok := l.(*fastListener); ok {
		return f.handedOver.Load()
	}
	return 0
}

func (f *fastListener) Addr() net.Addr { return f.ln.Addr() }

func (f *fastListener) Accept() (net.Conn, error) {
	select {
	case c := <-f.handoff:
		return c, nil
	case err := <-f.errc:
		return nil, err
	case <-f.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting, wakes the idle fast connections so they close,
// and waits up to closeWait for the busy ones to finish their response.
func (f *fastListener) Close() error {
	err := net.ErrClosed
	f.once.Do(func() {
		f.closing.Store(true)
		close(f.done)
		err = f.ln.Close()
		f.mu.Lock()
		for c := range f.conns {
			_ = c.c.SetReadDeadline(time.Unix(1, 0))
		}
		f.mu.Unlock()
		finished := make(chan struct{})
		go func() { f.wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(closeWait):
			f.log.Warn("fast path: connections still writing at shutdown")
		}
	})
	return err
}

const closeWait = 5 * time.Second

func (f *fastListener) acceptLoop() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if f.closing.Load() {
				return
			}
			// http.Server decides: it retries temporary errors (and calls
			// Accept again, which lets this loop go on) and stops on others.
			select {
			case f.errc <- err:
				continue
			case <-f.done:
				return
			}
		}
		fc := &fastConn{f: f, c: c, buf: make([]byte, fastBufSize)}
		f.mu.Lock()
		if f.closing.Load() { // Close has run or is waiting on wg: no Add
			f.mu.Unlock()
			_ = c.Close()
			return
		}
		f.conns[fc] = struct{}{}
		f.wg.Add(1)
		f.mu.Unlock()
		go fc.serve()
	}
}

// dateLine returns the Date field for now, formatted once a second.
func (f *fastListener) dateLine(now time.Time) []byte {
	sec := now.Unix()
	if d := f.date.Load(); d != nil && d.unix == sec {
		return d.b
	}
	d := &dateLine{unix: sec, b: append(now.UTC().AppendFormat([]byte("Date: "), http.TimeFormat), "\r\n"...)}
	f.date.Store(d)
	return d.b
}

// fastConn is one connection the fast path owns until it hands it over.
type fastConn struct {
	f     *fastListener
	c     net.Conn
	buf   []byte
	n     int // bytes in buf
	req   widget.WireRequest
	iov   [5][]byte
	out   net.Buffers
	close bool // the request said Connection: close

	readDL, writeDL time.Time
	inHeader        bool // readDL is a header deadline, not an idle one
}

var (
	crlf            = []byte("\r\n")
	headerEnd       = []byte("\r\n\r\n")
	connectionClose = []byte("Connection: close\r\n")
)

func (fc *fastConn) serve() {
	handed := false
	defer func() {
		if p := recover(); p != nil {
			fc.f.log.Error("fast path: panic", "panic", fmt.Sprint(p))
		}
		if !handed {
			_ = fc.c.Close()
		}
		fc.f.mu.Lock()
		delete(fc.f.conns, fc)
		fc.f.mu.Unlock()
		fc.f.wg.Done()
	}()
	first := true
	for {
		end := bytes.Index(fc.buf[:fc.n], headerEnd)
		if end < 0 {
			if fc.n == len(fc.buf) || bareLF(fc.buf[:fc.n]) {
				handed = fc.handOver()
				return
			}
			if !fc.read(first || fc.n > 0) {
				return
			}
			continue
		}
		end += len(headerEnd)
		head, body, ok := fc.answer(fc.buf[:end])
		if !ok {
			handed = fc.handOver()
			return
		}
		if !fc.write(head, body) {
			return
		}
		fc.n = copy(fc.buf, fc.buf[end:fc.n])
		first = false
		if fc.close || fc.f.closing.Load() {
			return
		}
	}
}

// bareLF reports a line ending net/http tolerates and the fast path does
// not: such a request may end in "\n\n" and never in CRLF CRLF.
func bareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// read reads more of a request. inHeader: a request has begun (or it is the
// connection's first), so ReadHeaderTimeout runs from now on rather than
// IdleTimeout, as in net/http. Deadlines move at most once a second.
func (fc *fastConn) read(inHeader bool) bool {
	now := time.Now()
	switch {
	case inHeader && !fc.inHeader:
		fc.setReadDeadline(now, fc.f.readHeaderTimeout, true)
	case !inHeader && (fc.inHeader || now.Add(fc.f.idleTimeout).Sub(fc.readDL) > time.Second):
		fc.setReadDeadline(now, fc.f.idleTimeout, false)
	}
	if fc.f.closing.Load() { // after the deadline: Close may have just set one
		return false
	}
	n, err := fc.c.Read(fc.buf[fc.n:])
	fc.n += n
	return err == nil || n > 0 // the next read reports the error again
}

func (fc *fastConn) setReadDeadline(now time.Time, d time.Duration, inHeader bool) {
	fc.inHeader = inHeader
	fc.readDL = time.Time{}
	if d > 0 {
		fc.readDL = now.Add(d)
	}
	_ = fc.c.SetReadDeadline(fc.readDL)
}

// write sends one response: head, Date, the empty line and body in one
// writev.
func (fc *fastConn) write(head, body []byte) bool {
	now := time.Now()
	if d := fc.f.writeTimeout; d > 0 && now.Add(d).Sub(fc.writeDL) > time.Second {
		fc.writeDL = now.Add(d)
		_ = fc.c.SetWriteDeadline(fc.writeDL)
	}
	fc.out = append(fc.iov[:0], head, fc.f.dateLine(now))
	if fc.close {
		fc.out = append(fc.out, connectionClose)
	}
	fc.out = append(fc.out, crlf)
	if len(body) > 0 {
		fc.out = append(fc.out, body)
	}
	_, err := fc.out.WriteTo(fc.c)
	// Drop the references, so an idle connection does not keep a replaced
	// snapshot alive.
	fc.iov, fc.out = [5][]byte{}, nil
	return err == nil
}

// handOver gives the connection, with the bytes read and not answered, to
// net/http. It reports whether it did.
func (fc *fastConn) handOver() bool {
	_ = fc.c.SetDeadline(time.Time{})
	pc := &prefixConn{Conn: fc.c, pending: fc.buf[:fc.n]}
	fc.f.handedOver.Add(1)
	select {
	case fc.f.handoff <- pc:
		return true
	case <-fc.f.done:
		return false
	}
}

// answer parses one request head (request line to the empty line) and asks
// the widget. ok is false for anything the fast path does not take: it is
// strict, and leaves every doubt to net/http.
func (fc *fastConn) answer(b []byte) (head, body []byte, ok bool) {
	r := &fc.req
	*r = widget.WireRequest{}
	fc.close = false

	i := bytes.Index(b, crlf)
	line := b[:i]
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		line = line[4:]
	case bytes.HasPrefix(line, []byte("HEAD ")):
		line, r.Head = line[5:], true
	default:
		return nil, nil, false
	}
	target, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok || len(target) == 0 || target[0] != '/' {
		return nil, nil, false
	}
	for _, c := range target {
		if !targetChar[c] {
			return nil, nil, false
		}
	}
	path, query, _ := bytes.Cut(target, []byte("?"))
	if !widget.IsPublicPath(path) {
		return nil, nil, false
	}
	r.Path, r.RawQuery = string(path), string(query)

	var seen uint
	rest := b[i+2:]
	for {
		j := bytes.Index(rest, crlf)
		if j == 0 {
			break
		}
		line, rest = rest[:j], rest[j+2:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, nil, false
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		for _, c := range name {
			if !tokenChar[c] {
				return nil, nil, false
			}
		}
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return nil, nil, false
			}
		}
		f, known := fieldOf(name)
		if !known {
			continue
		}
		if f.once {
			if seen&f.bit != 0 {
				return nil, nil, false
			}
			seen |= f.bit
		}
		switch f.bit {
		case fHost:
			if !validHost(value) {
				return nil, nil, false
			}
		case fAcceptEncoding:
			r.AcceptEncoding = string(value)
		case fIfNoneMatch:
			r.IfNoneMatch = string(value)
		case fOrigin:
			r.Origin = string(value)
		case fConnection:
			if !fc.connection(value) {
				return nil, nil, false
			}
		case fConditional:
			r.Conditional = true
		case fRefuse:
			return nil, nil, false
		}
	}
	if seen&fHost == 0 {
		return nil, nil, false // net/http answers 400
	}
	return fc.f.src.Wire(r)
}

// connection accepts the tokens keep-alive and close only.
func (fc *fastConn) connection(v []byte) bool {
	for len(v) > 0 {
		var tok []byte
		tok, v, _ = bytes.Cut(v, []byte(","))
		switch tok = trimOWS(tok); {
		case asciiEqualFold(tok, "close"):
			fc.close = true
		case asciiEqualFold(tok, "keep-alive"), len(tok) == 0:
		default:
			return false
		}
	}
	return true
}

// Header fields the fast path looks at.
const (
	fHost uint = 1 << iota
	fAcceptEncoding
	fIfNoneMatch
	fOrigin
	fConnection
	fConditional
	fRefuse // a body, Expect, Upgrade…: net/http's business
)

type field struct {
	bit  uint
	once bool // a second line hands the request over
}

var fields = map[string]field{
	"host":                {fHost, true},
	"accept-encoding":     {fAcceptEncoding, true},
	"if-none-match":       {fIfNoneMatch, true},
	"origin":              {fOrigin, true},
	"connection":          {fConnection, true},
	"range":               {fConditional, false},
	"if-range":            {fConditional, false},
	"if-match":            {fConditional, false},
	"if-modified-since":   {fConditional, false},
	"if-unmodified-since": {fConditional, false},
	"content-length":      {fRefuse, false},
	"transfer-encoding":   {fRefuse, false},
	"expect":              {fRefuse, false},
	"upgrade":             {fRefuse, false},
	"http2-settings":      {fRefuse, false},
	"te":                  {fRefuse, false},
	"trailer":             {fRefuse, false},
}

// fieldOf looks name up case-insensitively without allocating.
func fieldOf(name []byte) (field, bool) {
	if len(name) > 32 {
		return field{}, false
	}
	var lower [32]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	f, ok := fields[string(lower[:len(name)])]
	return f, ok
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// validHost accepts host names, IPv4 and bracketed IPv6 with a port; the
// rest (empty, user info, odd bytes) is left to net/http's checks.
func validHost(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-.:[]_", c) >= 0) {
			return false
		}
	}
	return true
}

var targetChar, tokenChar [256]bool

func init() {
	for c := 0; c < 256; c++ {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		// No '%': with no escapes, the raw path is the decoded one
		// net/http and gin route on.
		targetChar[c] = alnum || strings.IndexByte("-._~/?=&,:@!$'()*+;", byte(c)) >= 0
		tokenChar[c] = alnum || strings.IndexByte("!#$&'*+-.^_`|~", byte(c)) >= 0
	}
}

// prefixConn is a handed-over connection: Read returns the bytes the fast
// path had read before the connection's own.
type prefixConn struct {
	net.Conn
	pending []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// ReadFrom keeps sendfile for net/http's file responses.
func (c *prefixConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite lets net/http half-close as it does on a *net.TCPConn.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
