package alerts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/buildinfo"
	"vitrine/config"
	"vitrine/connection"
	"vitrine/store"
	"vitrine/testkit/teststore"
)

const (
	testPublicURL = "https://vitrine.example"
	testSecret    = "webhook-secret"
)

// harness: an Alerter on a real store, watching a connection whose status
// the test sets, with a webhook receiver on loopback.
type harness struct {
	t       testing.TB
	ctx     context.Context
	al      *Alerter
	st      *store.Store
	hook    *hook
	counted *countingObserver

	mu     sync.Mutex
	status connection.Status
	clock  time.Time
}

func newHarness(t testing.TB, opts ...func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), clock: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		counted: &countingObserver{sent: map[string]int{}, failed: map[string]int{}}}
	key := make([]byte, store.KeySize)
	_, _ = rand.Read(key)
	st := teststore.Open(t, teststore.SQLite(t), key, store.WithClock(h.now))
	h.st = st
	h.hook = newHook(t)
	o := Options{
		PublicURL: testPublicURL, Store: st, Connection: h, Now: h.now, Observer: h.counted, WebhookBackoff: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	o.Settings.WebhookURL = h.hook.srv.URL + "/hooks/T000/B000/secretpath"
	o.Settings.WebhookSecret = testSecret
	o.Settings.RemindEvery = config.Duration(24 * time.Hour)
	for _, f := range opts {
		f(&o)
	}
	var err error
	if h.al, err = New(o); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clock
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clock = h.clock.Add(d)
}

// Status is the connection the Alerter watches.
func (h *harness) Status(context.Context) (connection.Status, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status, nil
}

func (h *harness) setStatus(state store.TokenStatus, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = connection.Status{Connected: true, State: state, Reason: reason,
		Account: store.Token{Username: "vitrine.studio", ExpiresAt: h.clock.Add(50 * 24 * time.Hour), StatusChangedAt: h.clock}}
}

type countingObserver struct {
	mu           sync.Mutex
	sent, failed map[string]int
}

func (c *countingObserver) AlertSent(ch string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent[ch]++
}

func (c *countingObserver) AlertFailed(ch string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed[ch]++
}

// hook is an httptest webhook receiver that checks every signature.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []Alert
	fail   atomic.Int32 // answer 503 to this many more requests
	hits   atomic.Int32
}

func newHook(t testing.TB) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		if got, want := r.Header.Get(SignatureHeader), Sign(testSecret, body); !hmac.Equal([]byte(got), []byte(want)) {
			t.Errorf("webhook signature %q, want %q", got, want)
		}
		// The receiver's logs name the build that sent it.
		if got, want := r.UserAgent(), buildinfo.Get().UserAgent(); got != want {
			t.Errorf("webhook User-Agent %q, want %q", got, want)
		}
		if h.fail.Load() > 0 {
			h.fail.Add(-1)
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		var a Alert
		if err := json.Unmarshal(body, &a); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		h.mu.Lock()
		h.alerts = append(h.alerts, a)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) kinds() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, a := range h.alerts {
		out = append(out, a.Kind)
	}
	return out
}

func (h *hook) last() Alert {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.alerts) == 0 {
		return Alert{}
	}
	return h.alerts[len(h.alerts)-1]
}
