package templates

import (
	"html/template"
	"io/fs"
	"testing"
)

func TestAdminParsesAndStaticIsEmbedded(t *testing.T) {
	tmpl, err := Admin(template.FuncMap{"asset": func(name string) (string, error) { return "/" + name, nil }, "version": func() any { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	pages := AdminPages()
	if len(pages) == 0 {
		t.Fatal("no admin pages")
	}
	for _, p := range append(pages, "layout.html") {
		if tmpl.Lookup(p) == nil {
			t.Errorf("template %s missing", p)
		}
	}
	for _, name := range []string{"admin.css", "admin.js", "favicon.svg"} {
		if b, err := fs.ReadFile(Static(), name); err != nil || len(b) == 0 {
			t.Errorf("static %s: %v", name, err)
		}
	}
}
