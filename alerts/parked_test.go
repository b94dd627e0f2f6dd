package alerts

import (
	"context"
	"crypto/tls"
	"strings"
	"sync"
	"testing"

	"vitrine/store"
)

// A parked connection is told once per call, on every channel (webhook,
// email, outbox), names the account and sends ops to the dashboard; it
// leaves the connection's alert state alone.
func TestConnectionParkedGoesToEveryChannel(t *testing.T) {
	cert, pool := selfSigned(t)
	peer := newSMTPPeer(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	var mu sync.Mutex
	var outbox []Alert
	h := newHarness(t, func(o *Options) {
		o.Settings.SMTP = smtpConfig(peer, true)
		o.SMTPTLSConfig = &tls.Config{RootCAs: pool}
		o.Outbox = func(_ context.Context, a Alert) error {
			mu.Lock()
			defer mu.Unlock()
			outbox = append(outbox, a)
			return nil
		}
	})
	h.setStatus(store.StatusValid, "")
	h.al.ConnectionParked(h.ctx, "someone.else")

	if k := h.hook.kinds(); len(k) != 1 || k[0] != AlertConnectionParked {
		t.Fatalf("webhook alerts %v, want one %s", k, AlertConnectionParked)
	}
	a := h.hook.last()
	if a.Account != "@someone.else" || !strings.Contains(a.Subject, "@someone.else") ||
		!strings.Contains(a.Text, "confirm it on the dashboard") || !strings.Contains(a.Text, testPublicURL+"/admin") {
		t.Errorf("alert %+v", a)
	}
	msgs := peer.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want 1", len(msgs))
	}
	subject, body, msg := parseMail(t, msgs[0].data)
	if !strings.Contains(subject, "@someone.else") || !strings.Contains(body, "Confirm or discard: "+testPublicURL+"/admin") ||
		strings.Contains(body, "Reconnect") || msg.Header.Get("X-Vitrine-Event") != AlertConnectionParked {
		t.Errorf("email %q:\n%s", subject, body)
	}
	mu.Lock()
	if len(outbox) != 1 || outbox[0].Kind != AlertConnectionParked {
		t.Errorf("outbox %+v", outbox)
	}
	mu.Unlock()
	if evs, _ := h.st.Events(h.ctx, 1); len(evs) != 1 || evs[0].Kind != "alert" || evs[0].Level != store.LevelWarn {
		t.Errorf("events %+v", evs)
	}

	// Each attempt is told; the connection's alerts are unaffected.
	h.al.ConnectionParked(h.ctx, "someone.else")
	h.al.Evaluate(h.ctx)
	if k := h.hook.kinds(); len(k) != 2 || k[1] != AlertConnectionParked {
		t.Errorf("webhook alerts %v, want two %s", k, AlertConnectionParked)
	}
	if st, _ := h.al.loadAlertState(h.ctx); st.Open {
		t.Error("a parked connection opened the connection's alert")
	}
}
