package metaapp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/connection"
	"vitrine/instagram/fake"
	"vitrine/store"
)

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// harness is the callbacks over a real store and connection, with a fake
// Instagram to sign requests as Meta does.
type harness struct {
	t       *testing.T
	fake    *fake.Fake
	st      *store.Store
	conn    *connection.Connection
	app     *App
	srv     *httptest.Server
	alerts  atomic.Int32
	refused atomic.Int32
	forgot  atomic.Int32 // accounts forgotten: the posts and images go
	// confirmations counts the deletion confirmations written.
	confirmations atomic.Int32
	// failPosts makes reading the posts fail: a deletion fails before it
	// deletes anything.
	failPosts atomic.Bool
	// failForget and failAnonymise make a deletion fail after it deleted
	// the token: removing what it served, or anonymising the log.
	failForget, failAnonymise atomic.Bool
	logs                      syncBuffer

	mu  sync.Mutex
	now time.Time
}

// Now is the clock every part of the harness reads.
func (h *harness) Now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

// syncBuffer is a log destination that concurrent requests can share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// count is how many log lines contain s.
func (b *syncBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.b.String(), s)
}

// harnessStore is the real store, watched.
type harnessStore struct {
	*store.Store
	h *harness
}

func (s harnessStore) SetState(ctx context.Context, key, value string) error {
	if strings.HasPrefix(key, deletionKey("")) {
		s.h.confirmations.Add(1)
	}
	return s.Store.SetState(ctx, key, value)
}

func (s harnessStore) AnonymiseEvents(ctx context.Context, m store.AccountMentions, replacement string) (int, error) {
	if s.h.failAnonymise.Load() {
		return 0, errors.New("anonymise: injected failure")
	}
	return s.Store.AnonymiseEvents(ctx, m, replacement)
}

func (s harnessStore) Posts(ctx context.Context, limit int) ([]store.Post, error) {
	if s.h.failPosts.Load() {
		return nil, errors.New("posts: injected failure")
	}
	return s.Store.Posts(ctx, limit)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	gin.SetMode(gin.TestMode)
	h := &harness{t: t, fake: fake.New(fake.Options{Clock: fake.NewClock(testNow)}), now: testNow}
	key := make([]byte, store.KeySize)
	_, _ = rand.Read(key)
	st, err := store.Open(filepath.Join(t.TempDir(), "v.db"), key, store.WithClock(h.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	log := slog.New(slog.NewTextHandler(&h.logs, nil))
	h.conn, err = connection.New(connection.Options{Store: st, Instagram: nil, Logger: log, Now: h.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.app, err = New(Options{AppSecret: h.fake.ClientSecret(), PublicURL: "https://gallery.example.com/", Connection: operations{h},
		Store: harnessStore{st, h}, Refused: func(string) { h.refused.Add(1) }, Logger: log, Now: h.Now})
	if err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	h.app.Register(engine)
	h.srv = httptest.NewServer(engine)
	t.Cleanup(h.srv.Close)
	return h
}

// operations are the app's, as far as the callbacks reach: the connection's
// answer, then what follows it (ops alerted, the posts and images removed),
// counted.
type operations struct{ h *harness }

func (o operations) AppRemoved(ctx context.Context, userID string, at time.Time) (bool, error) {
	flagged, err := o.h.conn.AppRemoved(ctx, userID, at)
	if flagged {
		o.h.alerts.Add(1)
	}
	return flagged, err
}

func (o operations) ForgetAccount(ctx context.Context, userID string, at time.Time) (string, bool, error) {
	f, err := o.h.conn.ForgetAccount(ctx, userID, at)
	if err == nil && f.Connected {
		err = o.ForgetServed(ctx, f.Username)
	}
	return f.Username, f.Any(), err
}

func (o operations) ForgetServed(ctx context.Context, username string) error {
	o.h.forgot.Add(1)
	if o.h.failForget.Load() {
		return errors.New("remove the mirrored images: injected failure")
	}
	if _, err := o.h.st.ReplacePosts(ctx, nil); err != nil { // as the feed forgets them
		return err
	}
	// As the app says what it removed.
	return o.h.st.AddEvent(ctx, "disconnected", store.LevelWarn, "Disconnected @"+username+"; the token, the cached posts and the mirrored images were deleted")
}

// connect stores the fake account's token as connected at connectedAt.
func (h *harness) connect(connectedAt time.Time) {
	h.t.Helper()
	acct := h.fake.Account()
	err := h.st.SaveToken(context.Background(), store.Token{AccessToken: "IGAA-test", UserID: acct.UserID, Username: acct.Username,
		IssuedAt: connectedAt, ExpiresAt: connectedAt.Add(60 * 24 * time.Hour), Status: store.StatusValid, ConnectedAt: connectedAt})
	if err != nil {
		h.t.Fatal(err)
	}
}

// seedPosts caches two posts of the connected account and puts entries
// about it in the activity log, as connecting and moderating do.
func (h *harness) seedPosts() []store.Post {
	h.t.Helper()
	ctx := context.Background()
	posts := []store.Post{
		{ID: "18000000000000001", MediaType: "IMAGE", Caption: "Spring glaze test, straight from the kiln. #ceramics",
			Permalink: "https://www.instagram.com/p/CyoR2foxUDR/", Timestamp: testNow.Add(-time.Hour)},
		{ID: "18000000000000002", MediaType: "IMAGE", Caption: "Blue bowls, second firing", Timestamp: testNow.Add(-2 * time.Hour)},
	}
	if _, err := h.st.ReplacePosts(ctx, posts); err != nil {
		h.t.Fatal(err)
	}
	for _, e := range []struct{ kind, msg string }{
		{"connected", "Connected @" + h.fake.Account().Username + " (Business account); the token expires 27 January 2027"},
		{"sync", "Synced 2 posts (2 new, 0 changed, 0 removed); images: 2 mirrored now, 2 in all."},
		{"moderation", "Pinned post 18000000000000001 (“Spring glaze test, straight from the kiln…”)."},
		{"login", "Admin signed in from 192.0.2.7"},
	} {
		if err := h.st.AddEvent(ctx, e.kind, store.LevelInfo, e.msg); err != nil {
			h.t.Fatal(err)
		}
	}
	return posts
}

// events is the activity log, oldest first.
func (h *harness) events() []store.Event {
	h.t.Helper()
	ev, err := h.st.Events(context.Background(), 0)
	if err != nil {
		h.t.Fatal(err)
	}
	slices.Reverse(ev)
	return ev
}

// statusPage GETs the deletion status page for the query.
func (h *harness) statusPage(rawQuery string) (int, string, http.Header) {
	h.t.Helper()
	resp, err := http.Get(h.srv.URL + DeletionPath + "?" + rawQuery)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// deletion posts a data-deletion request that must be answered 200, and
// returns its confirmation code.
func (h *harness) deletion(signedRequest string) string {
	h.t.Helper()
	code, body := h.post(DataDeletionPath, signedRequest)
	if code != http.StatusOK {
		h.t.Fatalf("deletion: %d %s", code, body)
	}
	var answer struct {
		URL  string `json:"url"`
		Code string `json:"confirmation_code"`
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		h.t.Fatalf("answer %q: %v", body, err)
	}
	if !codeRE.MatchString(answer.Code) || answer.URL != "https://gallery.example.com"+DeletionPath+"?code="+answer.Code {
		h.t.Errorf("answer = %+v", answer)
	}
	return answer.Code
}

func (h *harness) post(path, signedRequest string) (int, string) {
	h.t.Helper()
	resp, err := http.PostForm(h.srv.URL+path, url.Values{"signed_request": {signedRequest}})
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *harness) status() connection.Status {
	h.t.Helper()
	s, err := h.conn.Status(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func TestDeauthorizeFlagsTheConnectedAccount(t *testing.T) {
	h := newHarness(t)
	h.connect(testNow.Add(-48 * time.Hour))
	user := h.fake.Account().UserID

	// Forged, or about someone else, or older than this connection: nothing changes.
	for name, sr := range map[string]string{
		"forged signature": h.fake.SignedRequest(user, testNow)[1:],
		"other secret":     fake.New(fake.Options{ClientSecret: "another-secret"}).SignedRequest(user, testNow),
		"garbage":          "not.a.signed.request",
		"empty":            "",
	} {
		if code, _ := h.post(DeauthorizePath, sr); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, code)
		}
	}
	if got := h.refused.Load(); got != 4 {
		t.Errorf("%d refusals counted, want 4", got)
	}
	if code, _ := h.post(DeauthorizePath, h.fake.SignedRequest("17841400000000001", testNow)); code != http.StatusOK {
		t.Errorf("another user's notice: %d, want 200 (it is Meta's, just not about us)", code)
	}
	if code, _ := h.post(DeauthorizePath, h.fake.SignedRequest(user, testNow.Add(-72*time.Hour))); code != http.StatusBadRequest {
		t.Errorf("a 3-day-old notice: %d, want 400", code)
	}
	if s := h.status(); s.State != store.StatusValid || h.alerts.Load() != 0 {
		t.Fatalf("after requests that must change nothing: state %s, %d alerts", s.State, h.alerts.Load())
	}

	// Meta's real notice: flagged at once, with that cause, and ops alerted.
	if code, body := h.post(DeauthorizePath, h.fake.SignedRequest(user, testNow)); code != http.StatusOK {
		t.Fatalf("valid notice: %d %s", code, body)
	}
	s := h.status()
	if s.State != store.StatusNeedsReauth || s.Reason != connection.ReasonAppRemoved || !s.NeedsAttention() {
		t.Errorf("after the notice: state %s reason %q", s.State, s.Reason)
	}
	if h.alerts.Load() != 1 {
		t.Errorf("%d alerts started, want 1", h.alerts.Load())
	}
}

// A notice signed before the owner connected again is about the old
// authorization: replayed, it must not break the new connection.
func TestDeauthorizeIgnoresANoticeOlderThanTheConnection(t *testing.T) {
	h := newHarness(t)
	h.connect(testNow.Add(-time.Hour))
	if code, _ := h.post(DeauthorizePath, h.fake.SignedRequest(h.fake.Account().UserID, testNow.Add(-2*time.Hour))); code != http.StatusOK {
		t.Fatalf("old notice: %d", code)
	}
	if s := h.status(); s.State != store.StatusValid || h.alerts.Load() != 0 {
		t.Errorf("an old notice changed the new connection: %s, %d alerts", s.State, h.alerts.Load())
	}
}

func TestDataDeletionDeletesAndConfirms(t *testing.T) {
	h := newHarness(t)
	h.connect(testNow.Add(-48 * time.Hour))
	h.seedPosts()
	acct := h.fake.Account()

	if code, _ := h.post(DataDeletionPath, "x"+h.fake.SignedRequest(acct.UserID, testNow)); code != http.StatusBadRequest {
		t.Errorf("forged deletion: %d, want 400", code)
	}
	if s := h.status(); !s.Connected || h.forgot.Load() != 0 {
		t.Fatal("a forged deletion request deleted something")
	}

	code := h.deletion(h.fake.SignedRequest(acct.UserID, testNow))
	if s := h.status(); s.Connected || h.forgot.Load() != 1 {
		t.Errorf("after deletion: connected %v, posts and images forgotten %d times", s.Connected, h.forgot.Load())
	}

	status, page, hdr := h.statusPage("code=" + code)
	if status != http.StatusOK || !strings.Contains(page, code) || !strings.Contains(page, "has been deleted") ||
		!strings.Contains(page, "deleted: token, 2 posts and their images removed") {
		t.Errorf("status page = %d:\n%s", status, page)
	}
	if strings.Contains(page, acct.Username) || strings.Contains(page, acct.UserID) {
		t.Error("the status page shows whose data it was")
	}
	if !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("CSP = %q", hdr.Get("Content-Security-Policy"))
	}
	for _, q := range []string{"code=" + strings.Repeat("0", 32), "code=<script>", "", "code=" + code + "x"} {
		if status, page, _ := h.statusPage(q); status != http.StatusNotFound || strings.Contains(page, "<script>") {
			t.Errorf("status page for %q = %d", q, status)
		}
	}

	// Asked again with a new notice (not a replay), with nothing left:
	// confirmed, and said so.
	again := h.deletion(h.fake.SignedRequest(acct.UserID, testNow.Add(time.Second)))
	if _, page, _ := h.statusPage("code=" + again); !strings.Contains(page, outcomeNoAccount) || strings.Contains(page, "has been deleted") {
		t.Errorf("second deletion's page:\n%s", page)
	}
}

// The activity log forgets the account along with its data: no entry
// names it or quotes its posts any more; the rest of the log stays.
func TestDataDeletionAnonymisesTheActivityLog(t *testing.T) {
	h := newHarness(t)
	h.connect(testNow.Add(-48 * time.Hour))
	posts := h.seedPosts()
	acct := h.fake.Account()
	h.deletion(h.fake.SignedRequest(acct.UserID, testNow))

	var kinds []string
	for _, e := range h.events() {
		kinds = append(kinds, e.Kind)
		for _, s := range []string{"@" + acct.Username, acct.UserID, posts[0].ID, "Spring glaze", posts[0].Permalink} {
			if strings.Contains(strings.ToLower(e.Message), strings.ToLower(s)) {
				t.Errorf("after the deletion, the %s entry %q still says %q", e.Kind, e.Message, s)
			}
		}
		switch e.Kind {
		case "sync", "login", "deletion":
			if e.Message == anonymisedEntry {
				t.Errorf("the %s entry, about no one, was anonymised", e.Kind)
			}
		case "connected", "moderation", "disconnected":
			if e.Message != anonymisedEntry {
				t.Errorf("the %s entry = %q, want it anonymised", e.Kind, e.Message)
			}
		}
	}
	// The entries stay, in order: the log still shows that something was
	// connected, moderated, deleted at Meta's request and disconnected.
	want := []string{"connected", "sync", "moderation", "login", "deletion", "disconnected"}
	if !slices.Equal(kinds, want) {
		t.Errorf("log kinds = %v, want %v", kinds, want)
	}
}

// The status page tells what the request actually did: nothing, when it
// was about another account, or older than the current connection.
func TestDeletionStatusSaysWhatHappened(t *testing.T) {
	for _, tc := range []struct {
		name    string
		connect bool
		user    string        // "" for the connected account
		age     time.Duration // of the notice, against a connection 1 h old
		outcome string
	}{
		{"other account", true, "17841400000000001", 0, outcomeOtherAccount},
		{"older than the connection", true, "", 2 * time.Hour, outcomeOlderNotice},
		{"no account", false, "", 0, outcomeNoAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.connect {
				h.connect(testNow.Add(-time.Hour))
				h.seedPosts()
			}
			before := h.events()
			user := tc.user
			if user == "" {
				user = h.fake.Account().UserID
			}
			code := h.deletion(h.fake.SignedRequest(user, testNow.Add(-tc.age)))
			status, page, _ := h.statusPage("code=" + code)
			if status != http.StatusOK || !strings.Contains(page, tc.outcome) || !strings.Contains(page, "nothing to delete") {
				t.Errorf("status page = %d:\n%s", status, page)
			}
			for _, claim := range []string{"has been deleted", "no longer holds"} {
				if strings.Contains(page, claim) {
					t.Errorf("the page claims %q though nothing was deleted", claim)
				}
			}
			if s := h.status(); s.Connected != tc.connect || h.forgot.Load() != 0 {
				t.Errorf("connected %v, forgotten %d times", s.Connected, h.forgot.Load())
			}
			if n, err := h.st.PostCount(context.Background()); err != nil || (tc.connect && n != 2) {
				t.Errorf("%d posts cached, %v", n, err)
			}
			if after := h.events(); !slices.Equal(after, before) {
				t.Errorf("the activity log changed:\n%v\nwas\n%v", after, before)
			}
		})
	}
}

// A confirmation recorded by an earlier version (the time alone) still
// has its page, which does not claim what it cannot know.
func TestDeletionStatusOfAnOlderRecord(t *testing.T) {
	h := newHarness(t)
	code := strings.Repeat("ab", 16)
	if err := h.st.SetState(context.Background(), deletionKey(code), "2026-11-01T10:30:00Z"); err != nil {
		t.Fatal(err)
	}
	status, page, _ := h.statusPage("code=" + code)
	if status != http.StatusOK || !strings.Contains(page, code) || !strings.Contains(page, "1 November 2026, 10:30 UTC") {
		t.Errorf("status page = %d:\n%s", status, page)
	}
	if strings.Contains(page, "has been deleted") || strings.Contains(page, "nothing to delete") {
		t.Errorf("the page states an outcome that was never recorded:\n%s", page)
	}
}

func TestParseSignedRequest(t *testing.T) {
	f := fake.New(fake.Options{})
	secret := f.ClientSecret()
	good := f.SignedRequest("17841405793187218", testNow)
	n, err := parseSignedRequest(good, secret, testNow)
	if err != nil || n.UserID != "17841405793187218" || !n.IssuedAt.Equal(testNow) {
		t.Fatalf("good request: %+v %v", n, err)
	}
	sig, payload, _ := strings.Cut(good, ".")
	if _, err := parseSignedRequest(sig+"=."+payload+"==", secret, testNow); err == nil {
		// Padding on the payload part changes what was signed.
		t.Error("a payload part that is not the signed bytes verified")
	}
	for name, raw := range map[string]string{
		"wrong secret":    fake.New(fake.Options{ClientSecret: "x"}).SignedRequest("1", testNow),
		"no dot":          sig + payload,
		"short signature": sig[:10] + "." + payload,
		"too long":        good + strings.Repeat("A", maxSignedRequest),
		"future":          f.SignedRequest("1", testNow.Add(time.Hour)),
		"stale":           f.SignedRequest("1", testNow.Add(-25*time.Hour)),
		"not a user id":   f.SignedRequest("me", testNow),
		"empty user id":   f.SignedRequest("", testNow),
	} {
		if _, err := parseSignedRequest(raw, secret, testNow); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	// Signed right, but not with the algorithm it claims.
	other, _ := json.Marshal(map[string]any{"algorithm": "none", "issued_at": testNow.Unix(), "user_id": "1"})
	otherPart := base64.RawURLEncoding.EncodeToString(other)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(otherPart))
	if _, err := parseSignedRequest(base64.RawURLEncoding.EncodeToString(mac.Sum(nil))+"."+otherPart, secret, testNow); err == nil {
		t.Error("algorithm none verified")
	}
	if _, err := parseSignedRequest(good, "", testNow); err == nil {
		t.Error("verified with no app secret configured")
	}
}

// sign is what Meta would send for payloadPart, spelled as given.
func sign(secret, payloadPart string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payloadPart))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) + "." + payloadPart
}

// flipTrailingBits changes the unused low bits of the last character of
// an unpadded base64url string: a lenient decoder reads the same bytes.
func flipTrailingBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	unused := map[int]int{2: 4, 3: 2}[len(s)%4] // bits the last character carries beyond the data
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last^(1<<unused-1)])
}

// Only the one canonical spelling of a request verifies: padding, line
// breaks and stray trailing bits would let one request of Meta's be sent
// in many forms that each look new.
func TestSignedRequestOnlyInCanonicalForm(t *testing.T) {
	f := fake.New(fake.Options{})
	secret := f.ClientSecret()
	good := f.SignedRequest("17841405793187218", testNow)
	sig, payload, _ := strings.Cut(good, ".")
	if len(payload)%4 == 0 {
		t.Fatal("the test payload has no trailing bits to flip; change its user id")
	}
	variants := map[string]string{
		"padded signature":             sig + "=." + payload,
		"signature with CR LF":         sig[:20] + "\r\n" + sig[20:] + "." + payload,
		"signature with LF at the end": sig + "\n." + payload,
		"signature's trailing bits":    flipTrailingBits(sig) + "." + payload,
		// The payload variants are signed as sent: only their spelling is wrong.
		"padded payload":          sign(secret, payload+strings.Repeat("=", (4-len(payload)%4)%4)),
		"payload with CR LF":      sign(secret, payload[:16]+"\r\n"+payload[16:]),
		"payload's trailing bits": sign(secret, flipTrailingBits(payload)),
	}
	for name, raw := range variants {
		if raw == good {
			t.Fatalf("%s: the variant is the original", name)
		}
		if _, err := parseSignedRequest(raw, secret, testNow); err == nil {
			t.Errorf("%s: verified", name)
		}
	}

	// At the callbacks they are refused, and counted, like a bad signature.
	h := newHarness(t)
	h.connect(testNow.Add(-48 * time.Hour))
	user := h.fake.Account().UserID
	good = h.fake.SignedRequest(user, testNow)
	sig, payload, _ = strings.Cut(good, ".")
	for _, path := range []string{DeauthorizePath, DataDeletionPath} {
		for _, raw := range []string{sig + "=." + payload, flipTrailingBits(sig) + "." + payload, sign(h.fake.ClientSecret(), payload[:8]+"\n"+payload[8:])} {
			if code, _ := h.post(path, raw); code != http.StatusBadRequest {
				t.Errorf("POST %s with a non-canonical request: %d, want 400", path, code)
			}
		}
	}
	if got := h.refused.Load(); got != 6 {
		t.Errorf("%d refusals counted, want 6", got)
	}
	if s := h.status(); s.State != store.StatusValid || h.forgot.Load() != 0 || h.alerts.Load() != 0 {
		t.Errorf("non-canonical requests changed something: state %s, forgot %d, alerts %d", s.State, h.forgot.Load(), h.alerts.Load())
	}
}

// A connection of the account waiting for the owner's confirmation is its
// data too: a deletion discards it, whatever is connected, so it can no
// longer connect the account again, and the log forgets its name. Another
// account's connection, and one the owner made after Meta signed, stay.
func TestDataDeletionDiscardsTheAccountsParkedConnection(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	acct := h.fake.Account()
	other := store.Token{AccessToken: "IGAA-other", UserID: "17841400000000777", Username: "someone.else",
		IssuedAt: testNow.Add(-48 * time.Hour), ExpiresAt: testNow.Add(50 * 24 * time.Hour), Status: store.StatusValid,
		ConnectedAt: testNow.Add(-48 * time.Hour)}
	if err := h.st.SaveToken(ctx, other); err != nil {
		t.Fatal(err)
	}
	park := func(at time.Time) {
		t.Helper()
		tok := store.Token{AccessToken: "IGAA-parked", UserID: acct.UserID, Username: acct.Username,
			IssuedAt: at, ExpiresAt: at.Add(60 * 24 * time.Hour), Status: store.StatusValid, ConnectedAt: at}
		if err := h.st.ParkToken(ctx, tok, testNow.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := h.st.AddEvent(ctx, "parked", store.LevelWarn, "Connecting @"+acct.Username+" waits for your confirmation"); err != nil {
			t.Fatal(err)
		}
	}

	// Parked after Meta signed: the owner's newer authorization stays.
	park(testNow.Add(time.Minute))
	h.deletion(h.fake.SignedRequest(acct.UserID, testNow))
	if _, err := h.st.ParkedToken(ctx); err != nil {
		t.Errorf("a connection parked after the request was discarded: %v", err)
	}

	park(testNow.Add(-10 * time.Minute))
	code := h.deletion(h.fake.SignedRequest(acct.UserID, testNow.Add(time.Second))) // a new request, not a replay
	if _, err := h.st.ParkedToken(ctx); !errors.Is(err, store.ErrNoParkedToken) {
		t.Errorf("the account's parked connection after the deletion: %v", err)
	}
	if _, page, _ := h.statusPage("code=" + code); !strings.Contains(page, "has been deleted") {
		t.Errorf("status page:\n%s", page)
	}
	if tok, err := h.st.Token(ctx); err != nil || tok.UserID != other.UserID || h.forgot.Load() != 0 {
		t.Errorf("the other account's connection: %v, %v; its posts forgotten %d times", tok.UserID, err, h.forgot.Load())
	}
	for _, e := range h.events() {
		if strings.Contains(e.Message, acct.Username) {
			t.Errorf("the log still names the account: %q", e.Message)
		}
	}
}

// A deletion that fails after deleting the token (removing what it
// served, anonymising the log) is finished by Meta's retry, which would
// otherwise find no token and confirm "nothing to delete".
func TestDeletionFailingAfterTheTokenIsFinishedByTheRetry(t *testing.T) {
	for _, step := range []string{"forget", "anonymise"} {
		t.Run(step, func(t *testing.T) {
			h := newHarness(t)
			h.connect(testNow.Add(-48 * time.Hour))
			posts := h.seedPosts()
			acct := h.fake.Account()
			fail := map[string]*atomic.Bool{"forget": &h.failForget, "anonymise": &h.failAnonymise}[step]
			sr := h.fake.SignedRequest(acct.UserID, testNow)
			fail.Store(true)
			if status, body := h.post(DataDeletionPath, sr); status != http.StatusInternalServerError {
				t.Fatalf("with %s failing: %d %s", step, status, body)
			}
			if s := h.status(); s.Connected || h.confirmations.Load() != 0 {
				t.Fatalf("the failed attempt: connected %v, %d confirmations; want the token deleted, none confirmed", s.Connected, h.confirmations.Load())
			}
			fail.Store(false)
			code := h.deletion(sr) // Meta's retry: the failed answer was not remembered
			if _, page, _ := h.statusPage("code=" + code); !strings.Contains(page, "has been deleted") || !strings.Contains(page, "2 posts") {
				t.Errorf("the retry's status page:\n%s", page)
			}
			if cached, err := h.st.Posts(context.Background(), 0); err != nil || len(cached) != 0 {
				t.Errorf("posts after the retry: %d, %v", len(cached), err)
			}
			for _, e := range h.events() {
				if strings.Contains(e.Message, acct.Username) || strings.Contains(e.Message, posts[0].ID) || strings.Contains(e.Message, "Spring glaze") {
					t.Errorf("the log still mentions the account: %q", e.Message)
				}
			}
			if raw, _, err := h.st.State(context.Background(), pendingKey(acct.UserID)); err != nil || raw != "" {
				t.Errorf("the pending deletion after it was confirmed: %q, %v", raw, err)
			}
			// A later request, with everything gone, says so.
			again := h.deletion(h.fake.SignedRequest(acct.UserID, testNow.Add(time.Second)))
			if _, page, _ := h.statusPage("code=" + again); !strings.Contains(page, outcomeNoAccount) {
				t.Errorf("a later request's page:\n%s", page)
			}
		})
	}
}

// Meta's deletion of an account disconnected before: no token says whose
// the log's entries are, but its name was kept when it connected, so they
// go, and so does the name; asked again, nothing is left.
func TestDataDeletionOfAnAccountDisconnectedBefore(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	acct := h.fake.Account()
	connectedAt := testNow.Add(-48 * time.Hour)
	if _, err := h.conn.Save(ctx, store.Token{AccessToken: "IGAA-test", UserID: acct.UserID, Username: acct.Username,
		IssuedAt: connectedAt, ExpiresAt: connectedAt.Add(60 * 24 * time.Hour), Status: store.StatusValid, ConnectedAt: connectedAt}); err != nil {
		t.Fatal(err)
	}
	h.seedPosts()
	if _, err := h.conn.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.ReplacePosts(ctx, nil); err != nil { // as the app forgets them
		t.Fatal(err)
	}

	code := h.deletion(h.fake.SignedRequest(acct.UserID, testNow))
	if _, page, _ := h.statusPage("code=" + code); !strings.Contains(page, "has been deleted") || !strings.Contains(page, "not connected now") {
		t.Errorf("status page:\n%s", page)
	}
	for _, e := range h.events() {
		if strings.Contains(e.Message, acct.Username) || strings.Contains(e.Message, "Spring glaze") {
			t.Errorf("the log still mentions the account: %q", e.Message)
		}
	}
	if h.forgot.Load() != 0 {
		t.Errorf("what a token served was forgotten %d times, with no token deleted", h.forgot.Load())
	}
	again := h.deletion(h.fake.SignedRequest(acct.UserID, testNow.Add(time.Second)))
	if _, page, _ := h.statusPage("code=" + again); !strings.Contains(page, outcomeNoAccount) {
		t.Errorf("asked again:\n%s", page)
	}
}
