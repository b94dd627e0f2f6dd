package metaapp

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"vitrine/connection"
	"vitrine/store"
)

const replays = 50

// One data-deletion request sent 50 times is handled once: one deletion,
// one confirmation, one log line, one activity-log entry, and every copy
// gets the first answer.
func TestReplayedDeletionIsHandledOnce(t *testing.T) {
	h := newHarness(t)
	h.connect(testNow.Add(-48 * time.Hour))
	h.seedPosts()
	sr := h.fake.SignedRequest(h.fake.Account().UserID, testNow)
	status, first := h.post(DataDeletionPath, sr)
	if status != http.StatusOK {
		t.Fatalf("first: %d %s", status, first)
	}
	logged := h.logs.count("data deletion requested")
	events := h.events()
	for range replays - 1 {
		if status, body := h.post(DataDeletionPath, sr); status != http.StatusOK || body != first {
			t.Fatalf("replay answered %d %s, want 200 %s", status, body, first)
		}
	}
	if h.forgot.Load() != 1 || h.confirmations.Load() != 1 || logged != 1 || h.logs.count("data deletion requested") != 1 {
		t.Errorf("after %d copies: forgotten %d times, %d confirmations, %d log lines (%d after the first)",
			replays, h.forgot.Load(), h.confirmations.Load(), h.logs.count("data deletion requested"), logged)
	}
	if after := h.events(); len(after) != len(events) {
		t.Errorf("replays added %d activity-log entries", len(after)-len(events))
	}
	if h.refused.Load() != 0 {
		t.Errorf("replays were counted as refusals: %d", h.refused.Load())
	}
}

// The same, with the copies arriving together: whichever handles it, it
// is handled once; the others get its answer or are told to retry.
func TestConcurrentCopiesOfADeletionAreHandledOnce(t *testing.T) {
	h := newHarness(t)
	h.connect(testNow.Add(-48 * time.Hour))
	h.seedPosts()
	sr := h.fake.SignedRequest(h.fake.Account().UserID, testNow)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		bodies = map[string]int{}
		other  []int
	)
	start := make(chan struct{})
	for range replays {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body := h.post(DataDeletionPath, sr)
			mu.Lock()
			defer mu.Unlock()
			switch status {
			case http.StatusOK:
				bodies[body]++
			case http.StatusServiceUnavailable:
			default:
				other = append(other, status)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(bodies) != 1 || len(other) != 0 {
		t.Errorf("answers: %d different 200 bodies, other statuses %v", len(bodies), other)
	}
	if h.forgot.Load() != 1 || h.confirmations.Load() != 1 || h.logs.count("data deletion requested") != 1 {
		t.Errorf("forgotten %d times, %d confirmations, %d log lines", h.forgot.Load(), h.confirmations.Load(), h.logs.count("data deletion requested"))
	}
	// Once the first is done, every copy has its answer.
	status, body := h.post(DataDeletionPath, sr)
	if _, seen := bodies[body]; status != http.StatusOK || (len(bodies) == 1 && !seen) {
		t.Errorf("copy after the others: %d %s", status, body)
	}
}

// A replayed deauthorize notice flags and alerts once, logs once.
func TestReplayedDeauthorizeIsHandledOnce(t *testing.T) {
	h := newHarness(t)
	h.connect(testNow.Add(-48 * time.Hour))
	sr := h.fake.SignedRequest(h.fake.Account().UserID, testNow)
	for i := range replays {
		if status, body := h.post(DeauthorizePath, sr); status != http.StatusOK || body != `{"ok":true}` {
			t.Fatalf("copy %d: %d %s", i+1, status, body)
		}
	}
	if s := h.status(); s.State != store.StatusNeedsReauth || s.Reason != connection.ReasonAppRemoved {
		t.Errorf("state %s %q", s.State, s.Reason)
	}
	if h.alerts.Load() != 1 || h.logs.count("Meta reports the app was removed") != 1 {
		t.Errorf("%d alerts, %d log lines; want 1 each", h.alerts.Load(), h.logs.count("Meta reports the app was removed"))
	}
	// The same notice at the other callback is another request.
	if h.deletion(sr); h.forgot.Load() != 1 {
		t.Errorf("the deletion with the deauthorize notice's fields was not handled")
	}
}

// A notice that changed nothing is remembered as well: its copies get the
// same confirmation, not one each.
func TestReplayOfADeletionThatChangedNothing(t *testing.T) {
	h := newHarness(t)
	h.connect(testNow.Add(-48 * time.Hour))
	sr := h.fake.SignedRequest("17841400000000001", testNow)
	code := h.deletion(sr)
	for range 3 {
		if again := h.deletion(sr); again != code {
			t.Fatalf("replay got confirmation %s, the first %s", again, code)
		}
	}
	if h.confirmations.Load() != 1 {
		t.Errorf("%d confirmations written, want 1", h.confirmations.Load())
	}
}

// A first handling that failed is not remembered: Meta's retry of the
// same request is handled.
func TestFailedDeletionIsHandledAgain(t *testing.T) {
	h := newHarness(t)
	h.connect(testNow.Add(-48 * time.Hour))
	h.seedPosts()
	sr := h.fake.SignedRequest(h.fake.Account().UserID, testNow)
	h.failPosts.Store(true)
	if status, body := h.post(DataDeletionPath, sr); status != http.StatusInternalServerError {
		t.Fatalf("with the store failing: %d %s", status, body)
	}
	if s := h.status(); !s.Connected || h.confirmations.Load() != 0 {
		t.Fatal("the failed attempt deleted or confirmed something")
	}
	h.failPosts.Store(false)
	code := h.deletion(sr)
	if _, page, _ := h.statusPage("code=" + code); !strings.Contains(page, "deleted: token, 2 posts") {
		t.Errorf("retry's page:\n%s", page)
	}
}

// A copy arriving while the first is handled changes nothing and is asked
// to retry; if the first never finishes (its process died), a copy after
// the claim went stale handles it.
func TestCopyDuringHandlingAndAfterACrash(t *testing.T) {
	h := newHarness(t)
	h.connect(testNow.Add(-48 * time.Hour))
	user := h.fake.Account().UserID
	sr := h.fake.SignedRequest(user, testNow)
	id := h.app.callbackID(DataDeletionPath, notice{UserID: user, IssuedAt: testNow})
	ctx := context.Background()
	if _, claimed, err := h.st.ClaimCallback(ctx, id, testNow, testNow, testNow.Add(-staleClaim)); err != nil || !claimed {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	status, _ := h.post(DataDeletionPath, sr)
	if status != http.StatusServiceUnavailable || h.forgot.Load() != 0 || h.confirmations.Load() != 0 {
		t.Fatalf("copy during handling: %d, forgotten %d, %d confirmations", status, h.forgot.Load(), h.confirmations.Load())
	}
	h.advance(staleClaim + time.Second)
	h.deletion(sr)
	if h.forgot.Load() != 1 || h.confirmations.Load() != 1 {
		t.Errorf("after the stale claim: forgotten %d, %d confirmations", h.forgot.Load(), h.confirmations.Load())
	}
}

// Callbacks are remembered while they would be accepted, then pruned: a
// copy after that is refused as too old, as before.
func TestRememberedCallbacksArePruned(t *testing.T) {
	h := newHarness(t)
	h.connect(testNow.Add(-48 * time.Hour))
	sr := h.fake.SignedRequest("17841400000000001", testNow)
	h.deletion(sr)
	id := h.app.callbackID(DataDeletionPath, notice{UserID: "17841400000000001", IssuedAt: testNow})

	h.advance(maxNoticeAge + time.Second)
	if status, _ := h.post(DataDeletionPath, sr); status != http.StatusBadRequest {
		t.Errorf("a copy after a day: %d, want 400", status)
	}
	h.deletion(h.fake.SignedRequest("17841400000000002", h.Now())) // any callback prunes
	now := h.Now()
	if _, claimed, err := h.st.ClaimCallback(context.Background(), id, testNow, now, now); err != nil || !claimed {
		t.Errorf("the day-old callback is still remembered (%v)", err)
	}
}
