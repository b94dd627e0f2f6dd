package alerts

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"vitrine/config"
)

// sendEmail sends the alert with net/smtp: over TLS from the first byte
// when alerts.smtp.implicit_tls (SMTPS, port 465), else STARTTLS when
// alerts.smtp.starttls (refusing to go on in clear text if the server does
// not offer it), then AUTH PLAIN when a username is set. net/smtp is enough
// for one plain-text message and keeps the dependency list short; its
// PlainAuth also refuses to send a password over an unencrypted connection
// to anything but localhost.
func (al *Alerter) sendEmail(ctx context.Context, a Alert) error {
	c := al.cfg.SMTP
	from, to, err := mailAddresses(c)
	if err != nil {
		return err
	}
	msg := al.buildMessage(from, to, a)

	conn, err := al.dialSMTP(ctx, c)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("email: %w", err)
	}
	defer cl.Close()
	if err := al.smtpHandshake(cl, c); err != nil {
		return err
	}
	if err := smtpTransfer(cl, from, to, msg); err != nil {
		return err
	}
	if err := cl.Quit(); err != nil {
		al.log.Debug("alerts: SMTP QUIT", "err", err) // the message was accepted already
	}
	return nil
}

// mailAddresses parses the sender and the recipients, so a bad address
// fails before any connection is made.
func mailAddresses(c config.SMTP) (from *mail.Address, to []*mail.Address, err error) {
	from, err = mail.ParseAddress(c.From)
	if err != nil {
		return nil, nil, fmt.Errorf("email: alerts.smtp.from: %w", err)
	}
	for _, t := range c.To {
		addr, err := mail.ParseAddress(t)
		if err != nil {
			return nil, nil, fmt.Errorf("email: alerts.smtp.to %q: %w", t, err)
		}
		to = append(to, addr)
	}
	return from, to, nil
}

// dialSMTP connects to the mail server, speaking TLS from the first byte
// when alerts.smtp.implicit_tls is on.
func (al *Alerter) dialSMTP(ctx context.Context, c config.SMTP) (net.Conn, error) {
	port := c.Port
	if port == 0 {
		port = 587
	}
	d := &net.Dialer{Timeout: 15 * time.Second}
	addr := net.JoinHostPort(c.Host, strconv.Itoa(port))
	if c.ImplicitTLS {
		// A *tls.Conn: net/smtp then knows the line is encrypted and
		// lets PlainAuth send the password.
		return (&tls.Dialer{NetDialer: d, Config: al.smtpTLSConfig(c.Host)}).DialContext(ctx, "tcp", addr)
	}
	return d.DialContext(ctx, "tcp", addr)
}

// smtpHandshake greets the server, upgrades to TLS when STARTTLS is asked
// for and authenticates when a username is set.
func (al *Alerter) smtpHandshake(cl *smtp.Client, c config.SMTP) error {
	if err := cl.Hello(al.heloName()); err != nil {
		return fmt.Errorf("email: HELO: %w", err)
	}
	if c.StartTLS && !c.ImplicitTLS {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return errors.New("email: the server does not offer STARTTLS (alerts.smtp.starttls is on)")
		}
		if err := cl.StartTLS(al.smtpTLSConfig(c.Host)); err != nil {
			return fmt.Errorf("email: STARTTLS: %w", err)
		}
	}
	if c.Username != "" {
		if ok, _ := cl.Extension("AUTH"); !ok {
			return errors.New("email: the server offers no AUTH but alerts.smtp.username is set")
		}
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, c.Host)); err != nil {
			return fmt.Errorf("email: AUTH: %w", err)
		}
	}
	return nil
}

// smtpTransfer hands msg over for every recipient: MAIL, RCPT, DATA.
func smtpTransfer(cl *smtp.Client, from *mail.Address, to []*mail.Address, msg []byte) error {
	if err := cl.Mail(from.Address); err != nil {
		return fmt.Errorf("email: MAIL FROM: %w", err)
	}
	for _, t := range to {
		if err := cl.Rcpt(t.Address); err != nil {
			return fmt.Errorf("email: RCPT TO %s: %w", t.Address, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("email: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("email: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: DATA: %w", err)
	}
	return nil
}

// smtpTLSConfig verifies the server as host (tests supply their own roots).
func (al *Alerter) smtpTLSConfig(host string) *tls.Config {
	if al.smtpTLS == nil {
		return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	tc := al.smtpTLS.Clone()
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	return tc
}

func (al *Alerter) heloName() string {
	u := al.publicURL
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	host, _, _ := strings.Cut(u, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" || strings.ContainsAny(host, " \r\n") {
		return "localhost"
	}
	return host
}

// buildMessage writes a plain-text RFC 5322 message, quoted-printable so
// long lines and non-ASCII survive any relay.
func (al *Alerter) buildMessage(from *mail.Address, to []*mail.Address, a Alert) []byte {
	var b bytes.Buffer
	h := func(k, v string) {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		b.WriteString(k + ": " + v + "\r\n")
	}
	tos := make([]string, len(to))
	for i, t := range to {
		tos[i] = t.String()
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	h("From", from.String())
	h("To", strings.Join(tos, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", a.Subject))
	h("Date", a.At.Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id)+"@"+al.heloName()+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("X-Vitrine-Event", a.Kind)
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")

	var body strings.Builder
	body.WriteString(a.Text + "\n\n")
	if a.Account != "" {
		body.WriteString("Account: " + a.Account + "\n")
	}
	if a.Cause != "" {
		body.WriteString("Cause: " + a.Cause + "\n")
	}
	if !a.ExpiresAt.IsZero() {
		body.WriteString("Token expires: " + a.ExpiresAt.UTC().Format(time.RFC3339) + "\n")
	}
	action := "Reconnect"
	if a.Kind == AlertConnectionParked {
		action = "Confirm or discard"
	}
	body.WriteString(action + ": " + a.AdminURL + "\n\n-- \nVitrine\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(body.String(), "\n", "\r\n")))
	_ = qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}
