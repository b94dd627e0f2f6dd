package auth

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/teststore"
)

// loginForm is a login POST with a valid pre-session CSRF token, ready to
// be sent from any goroutine as any client address (the test engine
// trusts X-Forwarded-For, as gin does by default).
type loginForm struct {
	e      *env
	client *testkit.Browser
	token  string
}

func newLoginForm(e *env) loginForm {
	c := e.newBrowser()
	return loginForm{e: e, client: c, token: testkit.CSRFToken(e.t, c.Get("/admin/login").Text)}
}

func (f loginForm) send(password, clientIP string) (int, error) {
	form := url.Values{"password": {password}, "csrf_token": {f.token}}
	req, err := http.NewRequest(http.MethodPost, f.client.URL("/admin/login"), strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientIP != "" {
		req.Header.Set("X-Forwarded-For", clientIP)
	}
	resp, err := f.client.Client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// countChecks wraps auth's password check, counting the calls and
// the most that ran at once; each takes hold long, like bcrypt at a real
// cost.
func countChecks(e *env, hold time.Duration) (calls, peak *atomic.Int32) {
	calls, peak = new(atomic.Int32), new(atomic.Int32)
	var running atomic.Int32
	e.auth.checkPassword = func(hash, password []byte) error {
		calls.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(hold)
		return bcrypt.CompareHashAndPassword(hash, password)
	}
	return calls, peak
}

// sendAll sends n wrong passwords at once, the i-th from clientIP(i), and
// counts the answers by status.
func sendAll(t *testing.T, f loginForm, n int, clientIP func(i int) string) map[int]int {
	t.Helper()
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, err := f.send(fmt.Sprintf("wrong guess %d", i), clientIP(i))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			counts[code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

// A burst of wrong passwords from one address gets only the free tries
// checked: each attempt is counted before bcrypt runs. Before, the
// throttle counted failures after bcrypt, and 40 at once were all checked.
func TestLoginBurstFromOneAddressChecksFewPasswords(t *testing.T) {
	e := newEnv(t)
	calls, _ := countChecks(e, 20*time.Millisecond)
	counts := sendAll(t, newLoginForm(e), 40, func(int) string { return "198.51.100.7" })
	if got := calls.Load(); got > freeAttempts {
		t.Errorf("%d passwords checked for a burst of 40 from one address, want at most %d", got, freeAttempts)
	}
	if counts[http.StatusUnauthorized] != int(calls.Load()) || counts[http.StatusTooManyRequests] != 40-int(calls.Load()) {
		t.Errorf("answers %v: want one 401 per check and 429 for the rest", counts)
	}
}

// However many clients ask at once, only maxConcurrentChecks passwords
// are checked at a time.
func TestLoginChecksRunFewAtATime(t *testing.T) {
	e := newEnv(t)
	calls, peak := countChecks(e, 30*time.Millisecond)
	counts := sendAll(t, newLoginForm(e), 12, func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) })
	if got := peak.Load(); got > maxConcurrentChecks || got < 1 {
		t.Errorf("%d password checks ran at once, want 1..%d", got, maxConcurrentChecks)
	}
	if calls.Load() != 12 || counts[http.StatusUnauthorized] != 12 {
		t.Errorf("%d checks, answers %v: every client should have been checked, in turn", calls.Load(), counts)
	}
}

// Wrong passwords spread over many addresses drain one global budget: the
// guesser must slow down, and the budget refills, so the owner is slowed,
// not locked out.
func TestLoginGlobalFailureBudget(t *testing.T) {
	e := newEnv(t)
	f := newLoginForm(e)
	for i := range globalBurst {
		if code, err := f.send("wrong guess", fmt.Sprintf("192.0.2.%d", i+1)); err != nil || code != http.StatusUnauthorized {
			t.Fatalf("guess %d from a fresh address = %d %v, want 401", i+1, code, err)
		}
	}
	code, err := f.send(testPassword, "198.51.100.200")
	if err != nil || code != http.StatusTooManyRequests {
		t.Fatalf("a new address after the budget is spent = %d %v, want 429", code, err)
	}
	e.clock.Advance(globalRefill)
	if code, err := f.send(testPassword, "198.51.100.200"); err != nil || code != http.StatusSeeOther {
		t.Fatalf("the right password once the budget refilled = %d %v, want 303", code, err)
	}
}

// IPv6 clients are counted by /64: rotating addresses inside one /64
// does not buy more tries.
func TestLoginThrottleKeysIPv6ByPrefix(t *testing.T) {
	e := newEnv(t)
	f := newLoginForm(e)
	for i := range freeAttempts {
		if code, err := f.send("wrong guess", fmt.Sprintf("2001:db8:1:2::%x", i+1)); err != nil || code != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d %v, want 401", i+1, code, err)
		}
	}
	if code, _ := f.send("wrong guess", "2001:db8:1:2:ffff::1"); code != http.StatusTooManyRequests {
		t.Errorf("another address in the same /64 = %d, want 429", code)
	}
	if code, _ := f.send("wrong guess", "2001:db8:1:3::1"); code != http.StatusUnauthorized {
		t.Errorf("an address in another /64 = %d, want 401", code)
	}
	for ip, want := range map[string]string{
		"192.0.2.1":                  "192.0.2.1",
		"::ffff:192.0.2.1":           "192.0.2.1",
		"2001:db8:1:2:aaaa:bbbb::1":  "2001:db8:1:2::/64",
		"not an address":             "not an address",
		"2001:db8:1:2:aaaa:bbbb::ff": "2001:db8:1:2::/64",
	} {
		if got := clientKey(ip); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", ip, got, want)
		}
	}
}

// Two replicas on one database count together: a guesser alternating
// between them gets the free tries once, not once per replica, and
// spreading over addresses drains one global budget.
func TestLoginThrottleCountsAcrossReplicas(t *testing.T) {
	for _, b := range testkit.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			loc, key := teststore.Location(t, b), make([]byte, store.KeySize)
			_, _ = rand.Read(key)
			one, two := newEnv(t, withDatabase(loc, key)), newEnv(t, withDatabase(loc, key))
			forms := []loginForm{newLoginForm(one), newLoginForm(two)}
			for i := range freeAttempts {
				if code, err := forms[i%2].send("wrong guess", "198.51.100.7"); err != nil || code != http.StatusUnauthorized {
					t.Fatalf("guess %d on replica %d = %d %v, want 401", i+1, i%2+1, code, err)
				}
			}
			for i, f := range forms {
				if code, err := f.send(testPassword, "198.51.100.7"); err != nil || code != http.StatusTooManyRequests {
					t.Errorf("replica %d after %d failures spread over both = %d %v, want 429", i+1, freeAttempts, code, err)
				}
			}

			for i := range globalBurst - freeAttempts {
				if code, err := forms[i%2].send("wrong guess", fmt.Sprintf("192.0.2.%d", i+1)); err != nil || code != http.StatusUnauthorized {
					t.Fatalf("guess %d from a fresh address = %d %v, want 401", i+1, code, err)
				}
			}
			for i, f := range forms {
				if code, err := f.send(testPassword, "203.0.113.200"); err != nil || code != http.StatusTooManyRequests {
					t.Errorf("a new address on replica %d once the shared budget is spent = %d %v, want 429", i+1, code, err)
				}
			}
		})
	}
}

// Behind a load balancer without sticky sessions, the login form one
// replica served is posted to another: its token must pass there too.
func TestLoginFormServedByOneReplicaPostsToAnother(t *testing.T) {
	loc, key := teststore.SQLite(t), make([]byte, store.KeySize)
	_, _ = rand.Read(key)
	one, two := newEnv(t, withDatabase(loc, key)), newEnv(t, withDatabase(loc, key))
	c := one.newBrowser() // cookies go by host, not port: both replicas get them
	token := testkit.CSRFToken(t, c.Get("/admin/login").Text)
	r := c.Post(two.srv.URL+"/admin/login", url.Values{"password": {testPassword}, "csrf_token": {token}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
		t.Fatalf("the form from replica 1 posted to replica 2 = %d %q:\n%.500s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
}
