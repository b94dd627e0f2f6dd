package feed

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/connection"
	"vitrine/instagram"
	"vitrine/instagram/fake"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/teststore"
)

var testStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// harness: the fake Instagram on loopback, the real client, a temp-file
// store, the connection and the feed, all on the fake's clock.
type harness struct {
	t        testing.TB
	ctx      context.Context
	f        *fake.Fake
	clock    *fake.Clock
	st       *store.Store
	conn     *connection.Connection
	feed     *Feed
	mediaDir string
	logs     *testkit.LogBuffer // the feed's

	blockCDN atomic.Value // string: CDN paths containing it answer 404
	swapCDN  atomic.Pointer[cdnSwap]
}

// cdnSwap makes the CDN answer body for the paths that contain part, as a
// hostile or broken CDN could.
type cdnSwap struct {
	part   string
	body   []byte
	served atomic.Int32
}

type harnessOpt func(*fake.Options)

func withPosts(n int) harnessOpt { return func(o *fake.Options) { o.Posts = n } }

func newHarness(t testing.TB, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), clock: fake.NewClock(testStart), logs: testkit.NewLogBuffer()}
	h.blockCDN.Store("")
	fo := fake.Options{Clock: h.clock, Posts: 6}
	for _, o := range opts {
		o(&fo)
	}
	h.f = fake.New(fo)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b := h.blockCDN.Load().(string); b != "" && strings.Contains(r.URL.Path, "/cdn/") && strings.Contains(r.URL.Path, b) {
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		if s := h.swapCDN.Load(); s != nil && strings.Contains(r.URL.Path, "/cdn/") && strings.Contains(r.URL.Path, s.part) {
			s.served.Add(1)
			w.Header().Set("Content-Type", "image/png")
			w.Write(s.body)
			return
		}
		h.f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ep := h.f.Endpoints(srv.URL)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ig, err := instagram.New(instagram.Config{
		ClientID: h.f.ClientID(), ClientSecret: h.f.ClientSecret(), RedirectURI: "https://vitrine.example/admin/callback",
		AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, GraphURL: ep.GraphURL, MediaHosts: []string{ep.MediaHost},
		Backoff: time.Millisecond, Timeout: 5 * time.Second, Now: h.clock.Now, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, store.KeySize)
	_, _ = rand.Read(key)
	dir := t.TempDir()
	h.st = teststore.Open(t, teststore.SQLiteAt(t, filepath.Join(dir, "vitrine.db")), key, store.WithClock(h.clock.Now))
	h.conn, err = connection.New(connection.Options{Store: h.st, Instagram: ig, Now: h.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	h.mediaDir = filepath.Join(dir, "media")
	h.feed, err = New(Options{Store: h.st, Instagram: ig, Connection: h.conn, MediaDir: h.mediaDir,
		Now: h.clock.Now, Logger: slog.New(slog.NewTextHandler(h.logs, nil)), DownloadsPerSecond: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// connect stores a freshly issued 60-day token, as connecting does.
func (h *harness) connect() {
	h.t.Helper()
	now := h.clock.Now()
	a := h.f.Account()
	err := h.st.SaveToken(h.ctx, store.Token{
		AccessToken: h.f.IssueLongLivedToken(), UserID: a.UserID, Username: a.Username, AccountType: a.AccountType,
		IssuedAt: now, ExpiresAt: now.Add(60 * 24 * time.Hour),
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) token() store.Token {
	h.t.Helper()
	tok, err := h.st.Token(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}
