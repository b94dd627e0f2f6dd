package app_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"vitrine/appearance"
	"vitrine/jobs"
	"vitrine/testkit/testvitrine"
)

// Saving the Appearance page's settings keeps only what differs from the
// config file, shows at once in the gallery, says in the activity log what
// changed, and a reset returns to the file's.
func TestSaveAppearanceShowsAtOnceAndResets(t *testing.T) {
	v := newVitrine(t, testvitrine.Posts(5))
	v.connect()
	if err := v.run(jobs.JobSync); err != nil {
		t.Fatal(err)
	}
	look := v.Config.Widget.Settings.Clone()
	look.Count, look.Theme = 2, "dark"
	changed, err := v.App.SaveAppearance(v.ctx, look)
	if err != nil || !slices.Equal(changed, []string{"count", "theme"}) {
		t.Fatalf("save = %v, %v", changed, err)
	}
	if saved, _ := v.Store.GallerySettings(v.ctx); len(saved) != 2 || saved["count"] != "2" || saved["theme"] != "dark" {
		t.Errorf("kept %v, want only count and theme", saved)
	}
	if n := v.galleryPosts(); n != 5 {
		t.Errorf("widget.json lists %d posts; count shapes the gallery, not the JSON", n)
	}
	st, err := v.App.Appearance(v.ctx)
	if err != nil || st.Current.Count != 2 || st.Current.Theme != "dark" || st.File.Count != v.Config.Widget.Count {
		t.Errorf("appearance = %+v, %v", st, err)
	}
	if page := v.page("/widget?fragment=1"); strings.Count(page, `class="vitrine-item"`) != 2 {
		t.Errorf("the gallery after the save:\n%.1500s", page)
	}
	if !hasEvent(v, "appearance", "posts shown 2, theme dark") {
		t.Errorf("no activity entry names what changed")
	}

	// Saving the same again changes nothing and logs nothing.
	if changed, err := v.App.SaveAppearance(v.ctx, look); err != nil || len(changed) != 0 {
		t.Errorf("saving again = %v, %v", changed, err)
	}

	if _, err := v.App.ResetAppearance(v.ctx); err != nil {
		t.Fatal(err)
	}
	if saved, _ := v.Store.GallerySettings(v.ctx); len(saved) != 0 {
		t.Errorf("after a reset %v are kept", saved)
	}
	if !hasEvent(v, "appearance", "reset to the config file's") {
		t.Error("no activity entry for the reset")
	}
}

// Settings that are not allowed save nothing and say which and why.
func TestSaveAppearanceRefusesWholly(t *testing.T) {
	v := newVitrine(t)
	kept := v.Config.Widget.Settings.Clone()
	kept.Layout = "carousel"
	if _, err := v.App.SaveAppearance(v.ctx, kept); err != nil {
		t.Fatal(err)
	}
	bad := kept.Clone()
	bad.Layout, bad.Columns, bad.Count = "masonry", 40, v.Config.Widget.MaxPosts+1
	_, err := v.App.SaveAppearance(v.ctx, bad)
	var problems appearance.Problems
	if !errors.As(err, &problems) {
		t.Fatalf("save = %v, want appearance.Problems", err)
	}
	var keys []string
	for _, p := range problems {
		keys = append(keys, p.Key)
	}
	if !slices.Equal(keys, []string{"columns", "count"}) || !strings.Contains(err.Error(), "max_posts") {
		t.Errorf("problems %v (%v), want columns and count", keys, err)
	}
	if saved, _ := v.Store.GallerySettings(v.ctx); len(saved) != 1 || saved["layout"] != "carousel" {
		t.Errorf("after a refused save the database keeps %v", saved)
	}
}

// page is a gallery route's body as this process serves it.
func (v *vitrine) page(path string) string {
	rec := httptest.NewRecorder()
	v.App.Gallery.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Body.String()
}

func hasEvent(v *vitrine, kind, text string) bool {
	v.T.Helper()
	events, err := v.Store.Events(v.ctx, 0)
	if err != nil {
		v.T.Fatal(err)
	}
	for _, e := range events {
		if e.Kind == kind && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}
