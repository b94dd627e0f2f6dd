package app_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"vitrine/jobs"
	"vitrine/moderation"
	"vitrine/store"
	"vitrine/testkit/testvitrine"
)

// galleryLinks is each post's link in /widget.json as this process
// serves it: "url|label".
func (v *vitrine) galleryLinks() map[string]string {
	v.T.Helper()
	rec := httptest.NewRecorder()
	v.App.Gallery.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/widget.json", nil))
	var doc struct {
		Posts []struct {
			ID   string `json:"id"`
			Link *struct {
				URL   string `json:"url"`
				Label string `json:"label"`
			} `json:"link"`
		} `json:"posts"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		v.T.Fatalf("/widget.json %d: %v", rec.Code, err)
	}
	out := map[string]string{}
	for _, p := range doc.Posts {
		if p.Link != nil {
			out[p.ID] = p.Link.URL + "|" + p.Link.Label
		}
	}
	return out
}

// A post's link is checked, saved, in the activity log and in the gallery
// before SetPostLink returns; refused, nothing changes; removed, it goes.
// It stays through syncs, as hiding and pinning do.
func TestSetPostLink(t *testing.T) {
	v := newVitrine(t, testvitrine.Posts(3))
	v.connect()
	if err := v.run(jobs.JobSync); err != nil {
		t.Fatal(err)
	}
	posts, err := v.Store.Posts(v.ctx, 0)
	if err != nil || len(posts) != 3 {
		t.Fatalf("posts %d, %v", len(posts), err)
	}
	id := posts[1].ID

	changed, err := v.App.SetPostLink(v.ctx, id, " https://shop.example/mug ", "Buy the mug")
	if !changed || err != nil {
		t.Fatalf("SetPostLink = %v, %v", changed, err)
	}
	if got := v.galleryLinks(); len(got) != 1 || got[id] != "https://shop.example/mug|Buy the mug" {
		t.Errorf("the gallery's links right after: %v", got)
	}
	if changed, err := v.App.SetPostLink(v.ctx, id, "https://shop.example/mug", "Buy the mug"); changed || err != nil {
		t.Errorf("the same link again = %v, %v; want no change", changed, err)
	}

	for _, bad := range [][2]string{
		{"javascript:alert(document.cookie)", ""},
		{"data:text/html,hi", ""},
		{"https://shop.example/", strings.Repeat("x", moderation.MaxLinkLabel+1)},
	} {
		changed, err := v.App.SetPostLink(v.ctx, id, bad[0], bad[1])
		var le *moderation.LinkError
		if changed || !errors.As(err, &le) {
			t.Errorf("SetPostLink(%q, %q) = %v, %v; want a LinkError", bad[0], bad[1], changed, err)
		}
	}
	if _, err := v.App.SetPostLink(v.ctx, "17999999999999999", "https://shop.example/", ""); !errors.Is(err, store.ErrUnknownPost) {
		t.Errorf("a post that is not cached: %v", err)
	}
	if got := v.galleryLinks(); got[id] != "https://shop.example/mug|Buy the mug" {
		t.Errorf("after refused links: %v", got)
	}

	// A sync keeps it, as it keeps hiding and pinning.
	if err := v.run(jobs.JobSync); err != nil {
		t.Fatal(err)
	}
	if got := v.galleryLinks(); got[id] != "https://shop.example/mug|Buy the mug" {
		t.Errorf("after a sync: %v", got)
	}

	// The default label, then removed.
	if changed, err := v.App.SetPostLink(v.ctx, id, "https://shop.example/mug", ""); !changed || err != nil {
		t.Fatalf("the default label = %v, %v", changed, err)
	}
	if got := v.galleryLinks(); got[id] != "https://shop.example/mug|"+moderation.DefaultLinkLabel {
		t.Errorf("with the default label: %v", got)
	}
	if changed, err := v.App.SetPostLink(v.ctx, id, "", "ignored"); !changed || err != nil {
		t.Fatalf("removing = %v, %v", changed, err)
	}
	if got := v.galleryLinks(); len(got) != 0 {
		t.Errorf("after removing: %v", got)
	}

	events, err := v.Store.Events(v.ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	for _, ev := range events {
		if ev.Kind == "moderation" {
			said = append(said, ev.Message)
		}
	}
	want := []string{
		"Removed the link of post " + id,
		"Linked post " + id,
		"Linked post " + id,
	}
	if len(said) != len(want) {
		t.Fatalf("activity log: %q, want three entries", said)
	}
	for i, w := range want {
		if !strings.HasPrefix(said[i], w) {
			t.Errorf("activity log entry %d: %q, want it to start %q", i, said[i], w)
		}
	}
	if !strings.Contains(said[2], "https://shop.example/mug (“Buy the mug”)") || !strings.Contains(said[1], "(“Shop this”)") {
		t.Errorf("the log does not say where and with which words: %q", said)
	}
}
