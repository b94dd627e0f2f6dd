package systemtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"vitrine/connection"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testfake"
	"vitrine/testkit/testvitrine"
)

// Disconnect removes what the connection served: the cached posts, the
// mirrored files and the images held in memory. A /media/ URL that was
// served before (cached by browsers for a year) answers 404 at once, and
// /widget.json has no posts.
func TestDisconnectRemovesWhatItServed(t *testing.T) {
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(3), testvitrine.RealTime())
	testfake.SmallPictures(v.Fake)
	v.ConnectAndSync(firstSyncPatience)
	var doc struct {
		Posts []struct {
			Images []struct{ URL string } `json:"images"`
		} `json:"posts"`
	}
	_, body := v.Get("/widget.json")
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Posts) == 0 || len(doc.Posts[0].Images) == 0 {
		t.Fatalf("widget.json before disconnecting: %v\n%.300s", err, body)
	}
	media := strings.TrimPrefix(doc.Posts[0].Images[0].URL, v.URL)
	if resp, _ := v.Get(media); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s before disconnecting = %d", media, resp.StatusCode)
	}

	admin := v.SignedIn()
	resp, err := admin.PostForm(v.URL+"/admin/disconnect", url.Values{"csrf_token": {admin.CSRF}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disconnect = %d", resp.StatusCode)
	}

	if resp, _ := v.Get(media); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s after disconnecting = %d, want 404", media, resp.StatusCode)
	}
	_, body = v.Get("/widget.json")
	doc.Posts = nil
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Posts) != 0 {
		t.Errorf("widget.json after disconnecting: %v\n%.300s", err, body)
	}
	if n, err := v.Store.PostCount(t.Context()); err != nil || n != 0 {
		t.Errorf("%d posts cached after disconnecting (%v)", n, err)
	}
	if _, err := os.Stat(v.Config.MediaDir()); !os.IsNotExist(err) {
		t.Errorf("mirrored images still on disk (%v)", err)
	}
}

// Before anything is connected, a job with nothing to do waits for a
// connection: the dashboard shows it muted, not as a failure, and after
// connecting the jobs that have not run since say so, not "Failed".
func TestJobsWaitForAConnection(t *testing.T) {
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(2), testvitrine.RealTime())
	testfake.SmallPictures(v.Fake)
	if err := v.Jobs.RunDue(t.Context()); err != nil {
		t.Fatalf("jobs with nothing connected: %v", err)
	}
	admin := v.SignedIn()
	for _, j := range dashboardJobs(t, v, admin) {
		if j.Result != "Waiting for a connection" || j.Tone != "muted" {
			t.Errorf("before connecting, %s: %q (%s)", j.Name, j.Result, j.Tone)
		}
	}
	v.ConnectAndSync(firstSyncPatience)
	waitJobIdle(t, v, jobs.JobSync)
	for _, j := range dashboardJobs(t, v, admin) {
		want := "Not run yet"
		if j.Name == jobs.JobSync {
			want = "OK"
		}
		if j.Result != want || j.Tone == "bad" {
			t.Errorf("after connecting, %s: %q (%s), want %q", j.Name, j.Result, j.Tone, want)
		}
	}
}

type dashboardJob struct {
	Name, Result, Tone string
}

func dashboardJobs(t *testing.T, v *testvitrine.Vitrine, admin *testkit.Browser) []dashboardJob {
	t.Helper()
	resp, err := admin.Client.Get(v.URL + "/admin/status.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ Jobs []dashboardJob }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || len(s.Jobs) != 3 {
		t.Fatalf("status.json: %v, %d jobs", err, len(s.Jobs))
	}
	return s.Jobs
}

// Meta's app callbacks, end to end: the owner removes the app on
// Instagram and Vitrine flags the connection at once; the owner asks for
// their data to be deleted and it is, with a confirmation page. Forged
// callbacks change nothing.
func TestMetaCallbacks(t *testing.T) {
	t.Parallel()
	// One clock for Vitrine and the fake, whose signed requests carry its
	// time: a standing fake clock would sign them before the connection.
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(3), testvitrine.StartAt(time.Now()))
	testfake.SmallPictures(v.Fake)
	v.ConnectAndSync(firstSyncPatience)
	var doc struct {
		Posts []struct {
			Images []struct{ URL string } `json:"images"`
		} `json:"posts"`
	}
	_, body := v.Get("/widget.json")
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Posts) != 3 || len(doc.Posts[0].Images) == 0 {
		t.Fatalf("widget.json after connecting: %v\n%.300s", err, body)
	}
	media := strings.TrimPrefix(doc.Posts[0].Images[0].URL, v.URL)
	status := func() connection.Status {
		s, err := v.Connection.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	for _, path := range []string{"/instagram/deauthorize", "/instagram/data-deletion"} {
		forged := v.Fake.SignedRequest(v.Fake.Account().UserID, v.Clock.Now())
		forged = forged[:len(forged)-2] + "AA"
		resp, err := http.PostForm(v.URL+path, url.Values{"signed_request": {forged}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("forged POST %s = %d, want 400", path, resp.StatusCode)
		}
	}
	if s := status(); s.State != store.StatusValid {
		t.Fatalf("forged callbacks changed the connection: %s", s.State)
	}

	v.Clock.Advance(time.Minute) // the owner removes the app a minute after connecting
	code, err := v.Fake.RemoveApp(t.Context(), v.URL+"/instagram/deauthorize")
	if err != nil || code != http.StatusOK {
		t.Fatalf("deauthorize callback = %d %v", code, err)
	}
	if s := status(); s.State != store.StatusNeedsReauth || s.Reason != connection.ReasonAppRemoved {
		t.Errorf("after the app was removed: %s %q", s.State, s.Reason)
	}
	if resp, _ := v.Get(media); resp.StatusCode != http.StatusOK {
		t.Errorf("the gallery stopped serving its images after a deauthorize: %d", resp.StatusCode)
	}

	statusURL, confirmation, err := v.Fake.RequestDataDeletion(t.Context(), v.URL+"/instagram/data-deletion")
	if err != nil {
		t.Fatal(err)
	}
	if s := status(); s.Connected {
		t.Error("still connected after the data deletion")
	}
	if resp, _ := v.Get(media); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s after the data deletion = %d, want 404", media, resp.StatusCode)
	}
	_, body = v.Get("/widget.json")
	doc.Posts = nil
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Posts) != 0 {
		t.Errorf("widget.json after the data deletion: %v\n%.300s", err, body)
	}
	resp, page := v.Get(strings.TrimPrefix(statusURL, v.URL))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), confirmation) {
		t.Errorf("the status URL %s = %d:\n%.500s", statusURL, resp.StatusCode, page)
	}
}

// Generate asks Instagram which account to connect (force_reauth=true, on
// by default) instead of silently reusing the browser's.
func TestGenerateAsksWhichAccount(t *testing.T) {
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(1), testvitrine.RealTime())
	admin := v.SignedIn()
	resp, err := admin.Client.Get(v.URL + "/admin/generate")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("force_reauth") != "true" {
		t.Errorf("generate = %d Location %q, want force_reauth=true", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// On a phone the callback may open in a browser without the admin's
// session. The pending state alone would let whoever holds it connect any
// account, so with nothing connected (or another account) it only parks
// the token: that browser hears it waits, and the owner's Connect on the
// dashboard connects it.
func TestCallbackWithoutTheSessionWaitsForTheOwner(t *testing.T) {
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(2), testvitrine.RealTime())
	testfake.SmallPictures(v.Fake)
	admin := v.SignedIn()
	resp, err := admin.Client.Get(v.URL + "/admin/generate")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	auth, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || auth.Query().Get("state") == "" {
		t.Fatalf("generate = %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	code, err := v.Fake.Authorize(v.Config.RedirectURI(), strings.Join(v.Config.Instagram.Scopes, ","))
	if err != nil {
		t.Fatal(err)
	}
	callback := "/admin/callback?" + url.Values{"code": {code}, "state": {auth.Query().Get("state")}}.Encode()
	resp, page := v.Get(callback) // no cookies
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Waiting for your confirmation") {
		t.Fatalf("callback without the session = %d:\n%.800s", resp.StatusCode, page)
	}
	if s, err := v.Connection.Status(t.Context()); err != nil || s.Connected {
		t.Errorf("connected without the owner's confirmation: %+v %v", s, err)
	}
	if resp, _ := v.Get(callback); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the same callback again = %d, want 400", resp.StatusCode)
	}

	resp, err = admin.PostForm(v.URL+"/admin/parked/confirm", url.Values{"csrf_token": {admin.CSRF}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm = %d", resp.StatusCode)
	}
	if s, err := v.Connection.Status(t.Context()); err != nil || !s.Connected || s.State != store.StatusValid {
		t.Errorf("not connected after the owner confirmed: %+v %v", s, err)
	}
}
