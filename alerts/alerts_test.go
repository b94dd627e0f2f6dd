package alerts

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"vitrine/config"
	"vitrine/store"
)

// smtpPeer is a real SMTP server (emersion/go-smtp) on loopback that
// keeps what it receives.
type smtpPeer struct {
	srv  *smtp.Server
	addr *net.TCPAddr
	mu   sync.Mutex
	msgs []received
	// authed and tls are observed per session.
}

type received struct {
	from   string
	to     []string
	data   []byte
	authed bool
	tls    bool
}

type smtpSession struct {
	p   *smtpPeer
	c   *smtp.Conn
	cur received
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "vitrine" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.cur.authed = true
		return nil
	}), nil
}
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	_, s.cur.tls = s.c.TLSConnectionState()
	s.p.mu.Lock()
	s.p.msgs = append(s.p.msgs, s.cur)
	s.p.mu.Unlock()
	return nil
}
func (s *smtpSession) Reset()        { s.cur = received{authed: s.cur.authed} }
func (s *smtpSession) Logout() error { return nil }

func newSMTPPeer(t *testing.T, tlsCfg *tls.Config) *smtpPeer {
	t.Helper()
	return newSMTPPeerOn(t, tlsCfg, false)
}

// newSMTPPeerOn: implicit serves TLS from the first byte (SMTPS) with
// tlsCfg; otherwise tlsCfg, when set, is offered through STARTTLS.
func newSMTPPeerOn(t *testing.T, tlsCfg *tls.Config, implicit bool) *smtpPeer {
	t.Helper()
	p := &smtpPeer{}
	p.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{p: p, c: c}, nil
	}))
	p.srv.Domain = "localhost"
	p.srv.TLSConfig = tlsCfg
	p.srv.ReadTimeout, p.srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().(*net.TCPAddr)
	if implicit {
		ln = tls.NewListener(ln, tlsCfg)
	}
	go p.srv.Serve(ln)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

func (p *smtpPeer) messages() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.msgs...)
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "vitrine test SMTP"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// parseMail parses a received message and decodes subject and body.
func parseMail(t *testing.T, data []byte) (subject, body string, msg *mail.Message) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse mail: %v\n%s", err, data)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mail.ParseDate(msg.Header.Get("Date")); err != nil {
		t.Errorf("Date header: %v", err)
	}
	return subject, string(b), msg
}

func TestEmailAlertOverSTARTTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	peer := newSMTPPeer(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	h := newHarness(t, func(o *Options) {
		o.Settings.WebhookURL = ""
		o.Settings.SMTP = smtpConfig(peer, true)
		o.Settings.SMTP.Username, o.Settings.SMTP.Password = "vitrine", "s3cret"
		o.SMTPTLSConfig = &tls.Config{RootCAs: pool}
	})
	h.setStatus(store.StatusNeedsReauth, "password changed")
	h.al.Evaluate(h.ctx)

	msgs := peer.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages received, want 1", len(msgs))
	}
	m := msgs[0]
	if !m.tls || !m.authed {
		t.Errorf("message sent with tls=%v auth=%v, want both", m.tls, m.authed)
	}
	if m.from != "vitrine@example.com" || len(m.to) != 2 {
		t.Errorf("envelope %s → %v", m.from, m.to)
	}
	subject, body, msg := parseMail(t, m.data)
	if !strings.Contains(subject, "needs reconnecting") || !strings.Contains(subject, "password changed") {
		t.Errorf("subject %q", subject)
	}
	if !strings.Contains(body, "password changed") || !strings.Contains(body, testPublicURL+"/admin") {
		t.Errorf("body lacks the cause or the link:\n%s", body)
	}
	if msg.Header.Get("X-Vitrine-Event") != AlertNeedsReauth {
		t.Errorf("X-Vitrine-Event %q", msg.Header.Get("X-Vitrine-Event"))
	}
	if got := h.counted.sent["email"]; got != 1 {
		t.Errorf("email alerts counted: %d, want 1", got)
	}
}

func TestEmailOverImplicitTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	peer := newSMTPPeerOn(t, &tls.Config{Certificates: []tls.Certificate{cert}}, true)
	settings := func(o *Options) {
		o.Settings.WebhookURL = ""
		o.Settings.SMTP = smtpConfig(peer, true) // starttls stays on, as by default: implicit_tls wins
		o.Settings.SMTP.ImplicitTLS = true
		o.Settings.SMTP.Username, o.Settings.SMTP.Password = "vitrine", "s3cret"
	}
	h := newHarness(t, settings)

	// Not trusting the server's certificate: nothing is sent.
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	if err := h.al.sendEmail(ctx, h.al.newAlert(AlertNeedsReauth, testToken, h.now())); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("with an untrusted certificate: err = %v, want a certificate error", err)
	}

	trusting := newHarness(t, settings, func(o *Options) { o.SMTPTLSConfig = &tls.Config{RootCAs: pool} })
	if err := trusting.al.sendEmail(ctx, trusting.al.newAlert(AlertResolved, testToken, h.now())); err != nil {
		t.Fatal(err)
	}
	msgs := peer.messages()
	if len(msgs) != 1 || !msgs[0].tls || !msgs[0].authed {
		t.Fatalf("messages %+v, want one, over TLS and authenticated", msgs)
	}
	if subject, _, _ := parseMail(t, msgs[0].data); !strings.Contains(subject, "resolved") {
		t.Errorf("subject %q", subject)
	}
}

func TestEmailWithoutTLSWhenConfigured(t *testing.T) {
	peer := newSMTPPeer(t, nil)
	h := newHarness(t, func(o *Options) {
		o.Settings.WebhookURL = ""
		o.Settings.SMTP = smtpConfig(peer, false)
	})
	a := h.al.newAlert(AlertResolved, testToken, h.now())
	if !h.al.send(h.ctx, a) {
		t.Fatal("not sent")
	}
	msgs := peer.messages()
	if len(msgs) != 1 || msgs[0].tls {
		t.Fatalf("messages %+v", msgs)
	}
	subject, body, _ := parseMail(t, msgs[0].data)
	if !strings.Contains(subject, "resolved") || !strings.Contains(body, "works again") {
		t.Errorf("subject %q body %q", subject, body)
	}
}

func TestEmailRefusesPlaintextWhenSTARTTLSRequired(t *testing.T) {
	peer := newSMTPPeer(t, nil) // offers no STARTTLS
	h := newHarness(t, func(o *Options) {
		o.Settings.WebhookURL = ""
		o.Settings.SMTP = smtpConfig(peer, true)
	})
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	err := h.al.sendEmail(ctx, h.al.newAlert(AlertNeedsReauth, testToken, h.now()))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a refusal naming STARTTLS", err)
	}
	if len(peer.messages()) != 0 {
		t.Error("message sent in clear text")
	}
	// A failed delivery is not "sent": the alert is retried next time.
	if h.al.send(h.ctx, h.al.newAlert(AlertNeedsReauth, testToken, h.now())) {
		t.Error("send reported success although no channel delivered")
	}
}

func smtpConfig(p *smtpPeer, starttls bool) (c config.SMTP) {
	c.Host, c.Port, c.StartTLS = "127.0.0.1", p.addr.Port, starttls
	c.From = "vitrine@example.com"
	c.To = []string{"ops@example.com", "Owner <owner@example.com>"}
	return c
}

func TestWebhookSignedAndRetried(t *testing.T) {
	h := newHarness(t)
	h.hook.fail.Store(2)
	a := h.al.newAlert(AlertNeedsReauth, testToken, h.now())
	a.Cause = "password changed"
	if err := h.al.sendWebhook(h.ctx, a); err != nil {
		t.Fatalf("webhook after two 503s: %v", err)
	}
	if n := h.hook.hits.Load(); n != 3 {
		t.Errorf("%d webhook requests, want 3", n)
	}
	if got := h.hook.last(); got.Kind != AlertNeedsReauth || got.Cause != "password changed" {
		t.Errorf("received %+v", got)
	}

	h.hook.fail.Store(100)
	err := h.al.sendWebhook(h.ctx, a)
	if err == nil {
		t.Fatal("webhook reported success against a failing server")
	}
	if strings.Contains(err.Error(), "secretpath") {
		t.Errorf("error names the webhook URL: %v", err)
	}
}

var testToken = store.Token{Username: "vitrine.studio", Status: store.StatusNeedsReauth, StatusReason: "password changed"}

func TestSignIsHMACSHA256(t *testing.T) {
	body := []byte(`{"text":"hi"}`)
	m := hmac.New(sha256.New, []byte("key"))
	m.Write(body)
	if got, want := Sign("key", body), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestOutboxIsAChannelOfItsOwn(t *testing.T) {
	var mu sync.Mutex
	var got []Alert
	fail := true
	h := newHarness(t, func(o *Options) {
		o.Settings.WebhookURL, o.Settings.WebhookSecret = "", "" // the outbox alone must count as delivered
		o.Outbox = func(_ context.Context, a Alert) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				fail = false
				return errors.New("outbox full")
			}
			got = append(got, a)
			return nil
		}
	})
	h.setStatus(store.StatusNeedsReauth, "revoked")
	h.al.Evaluate(h.ctx) // the first alert fails to reach the outbox, so it is owed
	h.al.Evaluate(h.ctx)
	h.al.Evaluate(h.ctx) // already delivered: not again
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Kind != AlertNeedsReauth {
		t.Fatalf("outbox received %+v, want one needs_reauth", got)
	}
}

func TestAlertOncePerChangeRemindAndResolve(t *testing.T) {
	h := newHarness(t)
	h.setStatus(store.StatusValid, "")
	h.al.Evaluate(h.ctx)
	if k := h.hook.kinds(); len(k) != 0 {
		t.Fatalf("alerts for a valid token: %v", k)
	}
	h.setStatus(store.StatusNeedsReauth, "revoked")
	h.al.Evaluate(h.ctx)
	h.al.Evaluate(h.ctx)
	h.advance(23 * time.Hour)
	h.al.Evaluate(h.ctx)
	if k := h.hook.kinds(); !slices.Equal(k, []string{AlertNeedsReauth}) {
		t.Fatalf("alerts %v, want one needs_reauth", k)
	}
	h.advance(time.Hour)
	h.al.Evaluate(h.ctx)
	h.setStatus(store.StatusValid, "")
	h.al.Evaluate(h.ctx)
	h.al.Evaluate(h.ctx)
	if k := h.hook.kinds(); !slices.Equal(k, []string{AlertNeedsReauth, AlertReminder, AlertResolved}) {
		t.Fatalf("alerts %v, want needs_reauth, reminder, resolved", k)
	}
	if h.hook.last().Cause != "revoked" {
		t.Errorf("resolved alert cause %q, want the cause it resolves", h.hook.last().Cause)
	}
}
