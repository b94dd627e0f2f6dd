// Package templates holds every html/template file and static asset of
// Vitrine, embedded in the binary. It contains no logic beyond display:
// packages parse what they need once at start-up (admin parses admin/*.html,
// the widget will add widget/*.html) and serve Static under their own paths.
package templates

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
)

// The widget's loader and CSS are embedded minified only (loader.min.js,
// and loader.extras.min.js with its optional parts; widget.min.css):
// widget/loader.js and widget/widget.css are their sources, for people and
// go generate. extras.css is written one rule a line.
//
//go:embed admin/*.html demo/*.html metaapp/*.html static/* widget/*.html widget/widget.min.css widget/extras.css widget/*.min.js
var files embed.FS

// Admin parses the admin pages with funcs. Each file is one template named
// by its file name ("dashboard.html"); "layout.html" defines the shared
// "head" and "foot" blocks.
func Admin(funcs template.FuncMap) (*template.Template, error) {
	t, err := template.New("admin").Funcs(funcs).ParseFS(files, "admin/*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: admin: %w", err)
	}
	return t, nil
}

// AdminPages lists the admin templates a handler may execute as a page (all
// files but the layout), for tests that execute every one.
func AdminPages() []string {
	entries, _ := fs.ReadDir(files, "admin")
	var pages []string
	for _, e := range entries {
		if e.Name() != "layout.html" {
			pages = append(pages, e.Name())
		}
	}
	return pages
}

// Static is the CSS, JS and images, at the root ("admin.css").
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // "static" is a literal embedded directory
	}
	return sub
}

// Widget is the public gallery's templates, CSS and loader script, at the
// root ("gallery.html", "widget.min.css", "loader.min.js", and
// "extras.html", "extras.css", "loader.extras.min.js" for the optional
// details).
func Widget() fs.FS {
	sub, err := fs.Sub(files, "widget")
	if err != nil {
		panic(err) // "widget" is a literal embedded directory
	}
	return sub
}

// Demo parses the pages of vitrine -demo: "site.html" (the sample website)
// and "outbox.html" (where alerts land).
func Demo() (*template.Template, error) {
	t, err := template.ParseFS(files, "demo/*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: demo: %w", err)
	}
	return t, nil
}

// MetaApp parses the page of Meta's data-deletion status link
// ("deletion.html").
func MetaApp() (*template.Template, error) {
	t, err := template.ParseFS(files, "metaapp/*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: metaapp: %w", err)
	}
	return t, nil
}
