package systemtest

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"vitrine/jobs"
	"vitrine/server"
	"vitrine/testkit"
	"vitrine/testkit/testfake"
	"vitrine/testkit/testvitrine"
)

// galleryPost is one post of /widget.json, as far as moderation shows.
type galleryPost struct {
	ID     string `json:"id"`
	Pinned bool   `json:"pinned"`
}

func galleryOf(t *testing.T, body []byte) []galleryPost {
	t.Helper()
	var doc struct {
		Posts []galleryPost `json:"posts"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("widget.json: %v\n%.300s", err, body)
	}
	return doc.Posts
}

// moderatePost sends the Posts section's form as a browser without
// scripts does, and expects the redirect back to the dashboard.
func moderatePost(v *testvitrine.Vitrine, admin *testkit.Browser, id, action string) {
	v.T.Helper()
	resp, err := admin.PostForm(v.URL+"/admin/posts/"+id, url.Values{"csrf_token": {admin.CSRF}, "action": {action}})
	if err != nil {
		v.T.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin#posts" {
		v.T.Fatalf("%s %s = %d %q, want 303 to /admin#posts", action, id, resp.StatusCode, resp.Header.Get("Location"))
	}
}

// The owner hides one post and pins another through the dashboard's
// forms. The answer comes after the gallery was rebuilt, so the very next
// request of a visitor, well within the promised 2 s, already sees it on
// every public path; a sync and a restart keep it so.
func TestModerationReachesTheGallery(t *testing.T) {
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(6), testvitrine.RealTime())
	testfake.SmallPictures(v.Fake)
	v.ConnectAndSync(firstSyncPatience)
	before := galleryOf(t, getBody(t, v, "/widget.json"))
	if len(before) != 6 {
		t.Fatalf("%d posts in the gallery before moderating, want 6", len(before))
	}
	hidden, pinned, newest := before[0].ID, before[4].ID, before[1].ID
	jsETag := func() string {
		resp, _ := v.Get("/widget.js")
		return resp.Header.Get("Etag")
	}
	etagBefore := jsETag()

	admin := v.SignedIn()
	moderatePost(v, admin, hidden, "hide")
	moderatePost(v, admin, pinned, "pin")

	check := func(when string, get func(path string) []byte) {
		t.Helper()
		var got []string
		for _, p := range galleryOf(t, get("/widget.json")) {
			got = append(got, p.ID)
			if p.Pinned != (p.ID == pinned) {
				t.Errorf("%s: post %s has \"pinned\": %v", when, p.ID, p.Pinned)
			}
		}
		want := []string{pinned}
		for _, p := range before {
			if p.ID != hidden && p.ID != pinned {
				want = append(want, p.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: /widget.json lists %v, want %v (pinned first, the hidden one left out)", when, got, want)
		}
		for _, path := range []string{"/widget", "/widget.js"} {
			body := string(get(path))
			if strings.Contains(body, "/media/"+hidden+"/") {
				t.Errorf("%s: %s shows the hidden post", when, path)
			}
			first, second := strings.Index(body, "/media/"+pinned+"/"), strings.Index(body, "/media/"+newest+"/")
			if first < 0 || second < 0 || first > second {
				t.Errorf("%s: %s does not show the pinned post first (at %d, the newest shown at %d)", when, path, first, second)
			}
		}
	}
	fromApp := func(path string) []byte { return getBody(t, v, path) }
	check("right after the forms", fromApp)
	if jsETag() == etagBefore {
		t.Error("/widget.js kept its ETag: visitors' caches would keep the old gallery")
	}

	// The audit log names both.
	events, err := v.Store.Events(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	for _, e := range events {
		said = append(said, e.Message)
	}
	for _, want := range []string{"Hid post " + hidden, "Pinned post " + pinned} {
		if !slices.ContainsFunc(said, func(m string) bool { return strings.HasPrefix(m, want) }) {
			t.Errorf("no event %q in %q", want, said)
		}
	}

	// A sync rewrites every post; the decisions are not in those rows.
	if err := v.Jobs.RunNow(t.Context(), jobs.JobSync); err != nil {
		t.Fatal(err)
	}
	check("after a sync", fromApp)

	// A restart builds its gallery from the database alone.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	again, err := server.New(v.Config, log, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Close() })
	restarted := httptest.NewServer(again.Handler)
	t.Cleanup(restarted.Close)
	check("after a restart", func(path string) []byte {
		resp, err := http.Get(restarted.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s after the restart = %d %v", path, resp.StatusCode, err)
		}
		return b
	})

	// Undone, the gallery is Instagram's order again.
	moderatePost(v, admin, hidden, "show")
	moderatePost(v, admin, pinned, "unpin")
	after := galleryOf(t, getBody(t, v, "/widget.json"))
	if !slices.Equal(after, before) {
		t.Errorf("after undoing: %v, want %v", after, before)
	}
}

func getBody(t *testing.T, v *testvitrine.Vitrine, path string) []byte {
	t.Helper()
	resp, body := v.Get(path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", path, resp.StatusCode)
	}
	return body
}

// TestE2EAdminModeratesPosts: in -demo, the dashboard's Posts section shows
// the mirrored thumbnails; the owner pins and hides without leaving the
// page, a fourth pin is refused in words, and the gallery follows.
func TestE2EAdminModeratesPosts(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(e2ePosts), testvitrine.RealTime())
	v.ConnectAndSync(firstSyncPatience)
	b := newBrowserStory(t, v.URL)
	b.signIn(v.Logs)
	ids := galleryOf(t, getBody(t, v, "/widget.json"))
	if len(ids) < 8 {
		t.Fatalf("%d posts in the gallery", len(ids))
	}
	b.waitJS("the Posts section", fmt.Sprintf(`document.querySelectorAll('[data-posts] .post').length === %d`, len(v.Fake.MediaIDs())))
	card := func(id string) string { return `document.querySelector('[data-post="` + id + `"]')` }
	click := func(id, action string) {
		t.Helper()
		sel := `[data-post="` + id + `"] button[value="` + action + `"]`
		b.do(b.ctx, action+" "+id, v.Logs, chromedp.Click(chromedp.CSS(sel)))
	}
	said := func() string { return evalJS[string](b, `document.querySelector('[data-posts-say]').textContent`) }

	click(ids[5].ID, "pin")
	b.waitJS("the pin", `document.querySelector('[data-posts] .post').getAttribute('data-post') === '`+ids[5].ID+`' && `+card(ids[5].ID)+`.classList.contains('is-pinned')`)
	if s := said(); !strings.Contains(s, "comes first") {
		t.Errorf("after pinning the Posts section says %q", s)
	}
	if got := evalJS[string](b, `document.activeElement.textContent.trim()`); got != "Unpin" {
		t.Errorf("focus after pinning is on %q, want the post's Unpin", got)
	}
	click(ids[2].ID, "pin")
	b.waitJS("the second pin", card(ids[2].ID)+`.classList.contains('is-pinned')`)
	click(ids[1].ID, "hide")
	b.waitJS("the hide", card(ids[1].ID)+`.classList.contains('is-hidden')`)
	click(ids[7].ID, "pin")
	b.waitJS("the third pin", card(ids[7].ID)+`.classList.contains('is-pinned')`)
	click(ids[3].ID, "pin")
	b.waitJS("the refusal", `document.querySelector('[data-posts-say]').textContent.includes('Only 3 posts can be pinned')`)
	if evalJS[bool](b, card(ids[3].ID)+`.classList.contains('is-pinned')`) {
		t.Error("a fourth post shows pinned")
	}
	order := evalJS[[]string](b, `[...document.querySelectorAll('[data-posts] .post')].slice(0, 3).map(p => p.getAttribute('data-post'))`)
	if want := []string{ids[7].ID, ids[2].ID, ids[5].ID}; !slices.Equal(order, want) {
		t.Errorf("the Posts section starts with %v, want %v (the last pinned first)", order, want)
	}
	var got []string
	for _, p := range galleryOf(t, getBody(t, v, "/widget.json"))[:4] {
		got = append(got, p.ID)
	}
	if want := []string{ids[7].ID, ids[2].ID, ids[5].ID, ids[0].ID}; !slices.Equal(got, want) {
		t.Errorf("/widget.json starts with %v, want %v", got, want)
	}

	b.do(b.ctx, "scroll to the Posts section", v.Logs, chromedp.Evaluate[chromedp.Void](`document.getElementById('posts').scrollIntoView()`))
	b.waitJS("the thumbnails", `[...document.querySelectorAll('[data-posts] .post-thumb img')].slice(0, 8).every(i => i.complete && i.naturalWidth > 0)`)
	b.do(b.ctx, "scroll to the Posts section", v.Logs, chromedp.Evaluate[chromedp.Void](`document.getElementById('posts').scrollIntoView()`))
	b.shot(b.ctx, "e2e-admin-posts", false)
	b.do(b.ctx, "phone width", v.Logs, chromedp.EmulateViewport(390, 844),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('posts').scrollIntoView()`))
	b.waitJS("the thumbnails at phone width", `[...document.querySelectorAll('[data-posts] .post-thumb img')].slice(0, 4).every(i => i.complete && i.naturalWidth > 0)`)
	b.do(b.ctx, "scroll to the Posts section", v.Logs, chromedp.Evaluate[chromedp.Void](`document.getElementById('posts').scrollIntoView()`))
	b.shot(b.ctx, "e2e-admin-posts-phone", false)

	// Without scripts the buttons are plain form posts: the browser comes
	// back to the Posts section, which says what happened.
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	b.do(b.ctx, "reload without scripts", v.Logs, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-posts]`)))
	click(ids[2].ID, "unpin")
	b.do(b.ctx, "the notice in the Posts section", v.Logs, chromedp.WaitVisible(chromedp.CSS(`[data-posts] .posts-say.alert-ok`)))
	if s := said(); !strings.Contains(s, "Post unpinned") {
		t.Errorf("after unpinning without scripts the Posts section says %q", s)
	}
	if u := evalJS[string](b, `location.pathname + location.hash`); u != "/admin#posts" {
		t.Errorf("without scripts the form lands on %s", u)
	}
	if evalJS[bool](b, card(ids[2].ID)+`.classList.contains('is-pinned')`) {
		t.Error("still pinned after unpinning without scripts")
	}
	// Scripts back on for shot's settling; the page already loaded without.
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatal(err)
	}
	b.shot(b.ctx, "e2e-admin-posts-nojs", false)
}
