package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"vitrine/appearance"
)

// appearanceForm is the form as the page sends it with settings s: a
// switch only when on, a set as one value per checked box.
func appearanceForm(csrf string, s appearance.Settings) url.Values {
	form := url.Values{"csrf_token": {csrf}}
	for _, o := range appearance.Options {
		text := o.Text(s)
		switch o.Kind {
		case appearance.Switch:
			if text == "true" {
				form.Set(o.Key, "true")
			}
		case appearance.Subset:
			form[o.Key] = strings.Split(text, ",")
		default:
			form.Set(o.Key, text)
		}
	}
	return form
}

func (v *vitrine) savedSettings() map[string]string {
	v.T.Helper()
	saved, err := v.Store.GallerySettings(context.Background())
	if err != nil {
		v.T.Fatal(err)
	}
	return saved
}

func TestAppearanceNeedsSignIn(t *testing.T) {
	v := newVitrine(t)
	for _, path := range []string{"/admin/appearance", "/admin/appearance/preview?layout=carousel"} {
		if r := v.client.Get(path); r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
			t.Errorf("GET %s signed out = %d → %q", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if r := v.client.Post("/admin/appearance", url.Values{"layout": {"carousel"}}); r.StatusCode == http.StatusSeeOther && r.Header.Get("Location") == "/admin/appearance" {
		t.Error("a signed-out POST was accepted")
	}
	if len(v.savedSettings()) != 0 {
		t.Error("a signed-out POST saved settings")
	}
}

// The page has a labelled control for every option of the table, set to
// the gallery's current value, and a preview of it.
func TestAppearancePageOffersEveryOption(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)
	page := v.client.Get("/admin/appearance")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/appearance = %d", page.StatusCode)
	}
	for _, o := range appearance.Options {
		if !strings.Contains(page.Text, `name="`+o.Key+`"`) {
			t.Errorf("no control named %s", o.Key)
		}
		if o.Kind != appearance.Subset && !strings.Contains(page.Text, `for="opt-`+o.Key+`">`+o.Label+`</label>`) {
			t.Errorf("no label for %s", o.Key)
		}
	}
	mustHave := []string{`<option value="grid" selected>Grid</option>`, `name="header" value="true" checked`,
		`<iframe name="appearance-preview"`, `src="/admin/appearance/preview?`, `name="media_types" value="VIDEO" checked`}
	for _, s := range mustHave {
		if !strings.Contains(page.Text, s) {
			t.Errorf("the page lacks %s", s)
		}
	}
	if strings.Contains(page.Text, "Reset to the config file") {
		t.Error("Reset offered with nothing saved")
	}
}

// Save keeps what the form says away from the config file's values,
// rebuilds the gallery, and says so; the page then shows the saved values.
func TestAppearanceSaveKeepsTheFormsSettings(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	s := v.Config.Widget.Settings.Clone()
	s.Layout, s.Theme, s.Captions, s.AccentColor, s.MediaTypes = "carousel", "dark", true, "#AA3300", []string{"VIDEO"}
	r := v.client.Post("/admin/appearance", appearanceForm(csrf, s))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/appearance" {
		t.Fatalf("save = %d → %q:\n%.2000s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	want := map[string]string{"layout": "carousel", "theme": "dark", "captions": "true", "accent_color": "#aa3300", "media_types": "VIDEO"}
	saved := v.savedSettings()
	if len(saved) != len(want) {
		t.Errorf("saved %v, want %v", saved, want)
	}
	for k, v := range want {
		if saved[k] != v {
			t.Errorf("saved %s = %q, want %q", k, saved[k], v)
		}
	}
	page := v.client.Get("/admin/appearance").Text
	for _, s := range []string{"Saved.", `<option value="carousel" selected>`, `value="#aa3300"`, `name="captions" value="true" checked`,
		"Config file: Grid.", "Reset to the config file", `name="media_types" value="VIDEO" checked`} {
		if !strings.Contains(page, s) {
			t.Errorf("after saving, the page lacks %s", s)
		}
	}
	if strings.Contains(page, `name="media_types" value="IMAGE" checked`) {
		t.Error("an unchecked kind of post is still checked")
	}

	// Unchecking a switch turns it off.
	s.Captions = false
	v.client.Post("/admin/appearance", appearanceForm(csrf, s))
	if _, kept := v.savedSettings()["captions"]; kept {
		t.Error("captions still saved on after unchecking them")
	}

	if r := v.client.Post("/admin/appearance/reset", url.Values{"csrf_token": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset = %d", r.StatusCode)
	}
	if saved := v.savedSettings(); len(saved) != 0 {
		t.Errorf("after a reset %v are kept", saved)
	}
}

// A refused value shows the form again, with what was typed and why beside
// each field, and saves nothing at all.
func TestAppearanceRefusedFieldSavesNothing(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	form := appearanceForm(csrf, v.Config.Widget.Settings)
	form.Set("layout", "carousel") // fine, but goes with the others
	form.Set("columns", "40")
	form.Set("accent_color", "tomato<script>")
	r := v.client.Post("/admin/appearance", form)
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("save = %d, want 422", r.StatusCode)
	}
	for _, s := range []string{"Not saved.", "The 2 settings marked below need a change",
		`id="opt-columns" name="columns" value="40"`, "must be a whole number from 1 to 12",
		`value="tomato&lt;script&gt;"`, "must be a colour written #rrggbb", `aria-invalid="true"`} {
		if !strings.Contains(r.Text, s) {
			t.Errorf("the refused form lacks %s", s)
		}
	}
	if strings.Contains(r.Text, "<script>") && strings.Contains(r.Text, "tomato<script>") {
		t.Error("the typed value is echoed unescaped")
	}
	if saved := v.savedSettings(); len(saved) != 0 {
		t.Errorf("a refused save kept %v", saved)
	}
	// More posts than the cache keeps is refused by the operation.
	form = appearanceForm(csrf, v.Config.Widget.Settings)
	form.Set("count", "101")
	if r := v.client.Post("/admin/appearance", form); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Text, "must not exceed 100") {
		t.Errorf("count over max_posts = %d:\n%.1500s", r.StatusCode, r.Text)
	}
}

func TestAppearanceSaveNeedsCSRF(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)
	s := v.Config.Widget.Settings.Clone()
	s.Layout = "masonry"
	for _, token := range []string{"", "forged"} {
		r := v.client.Post("/admin/appearance", appearanceForm(token, s))
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("save with csrf %q = %d, want 403", token, r.StatusCode)
		}
	}
	if r := v.client.Post("/admin/appearance/reset", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("reset without csrf = %d", r.StatusCode)
	}
	if saved := v.savedSettings(); len(saved) != 0 {
		t.Errorf("a forged save kept %v", saved)
	}
}

// The preview is the gallery page with the query's settings over the saved
// ones, framable by the Appearance page only; a refused value keeps the
// saved one; nothing is saved.
func TestAppearancePreview(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)
	r := v.client.Get("/admin/appearance/preview?layout=masonry&language=de&count=7")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("preview = %d:\n%.1000s", r.StatusCode, r.Text)
	}
	if !strings.Contains(r.Text, `data-layout="masonry"`) || !strings.Contains(r.Text, `lang="de"`) {
		t.Errorf("the preview is not in masonry and German:\n%.2000s", r.Text)
	}
	// A refused value keeps the saved one.
	if r := v.client.Get("/admin/appearance/preview?layout=mosaic&language=xx"); !strings.Contains(r.Text, `data-layout="grid"`) || !strings.Contains(r.Text, `lang="en"`) {
		t.Errorf("refused values reached the preview:\n%.2000s", r.Text)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self'") {
		t.Errorf("preview CSP %q", csp)
	}
	if xfo := r.Header.Get("X-Frame-Options"); xfo != "SAMEORIGIN" {
		t.Errorf("preview X-Frame-Options %q", xfo)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("preview Cache-Control %q", cc)
	}
	if saved := v.savedSettings(); len(saved) != 0 {
		t.Errorf("previewing saved %v", saved)
	}
}
