package widget

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"
)

var updateMinified = flag.Bool("update-minified", false, "rewrite templates/widget/loader.min.js and widget.min.css from their sources")

// The loader's and the CSS's sources, and where go generate writes the
// minified copies the binary embeds and serves.
const (
	loaderSourcePath   = "../templates/widget/loader.js"
	minifiedLoaderPath = "../templates/widget/loader.min.js"
	cssSourcePath      = "../templates/widget/widget.css"
	minifiedCSSPath    = "../templates/widget/widget.min.css"
)

// TestMinifiedLoaderIsCurrent keeps the served loader in step with the one
// people edit: a change to loader.js without go generate fails here.
func TestMinifiedLoaderIsCurrent(t *testing.T) {
	src, err := os.ReadFile(filepath.FromSlash(loaderSourcePath))
	if err != nil {
		t.Fatal(err)
	}
	want, err := minifyLoader(string(src))
	if err != nil {
		t.Fatalf("loader.js: %v", err)
	}
	if *updateMinified {
		// The widget below embeds the file as it was when this test was
		// compiled, so after a rewrite there is nothing more to check.
		if err := os.WriteFile(filepath.FromSlash(minifiedLoaderPath), []byte(want+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(filepath.FromSlash(minifiedLoaderPath))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != want {
		t.Fatalf("templates/widget/loader.min.js is not loader.js minified: run go generate ./widget")
	}
	if e := newEnv(t); e.w.js != want {
		t.Fatalf("the widget does not serve the minified loader (%d B, want %d B)", len(e.w.js), len(want))
	}
}

// minifyLoader minifies the loader, which is sent to every visitor inside
// the few KB of the embed. Syntax rewriting stays off: the loader is a bare
// function expression the server calls by appending "(data)", which that
// pass would drop as unused.
func minifyLoader(src string) (string, error) {
	r := api.Transform(src, api.TransformOptions{
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		Target:            api.ES2020,
		Charset:           api.CharsetUTF8,
	})
	if len(r.Errors) > 0 {
		m := r.Errors[0]
		line := 0
		if m.Location != nil {
			line = m.Location.Line
		}
		return "", fmt.Errorf("line %d: %s", line, m.Text)
	}
	code := strings.TrimSuffix(strings.TrimSpace(string(r.Code)), ";")
	if !strings.HasPrefix(code, "(function(") || !strings.HasSuffix(code, "})") {
		return "", fmt.Errorf("minified loader is not a function expression: %.40q…", code)
	}
	return code, nil
}

// TestMinifiedCSSIsCurrent keeps the served CSS in step with the readable
// source: a change to widget.css without go generate fails here.
func TestMinifiedCSSIsCurrent(t *testing.T) {
	src, err := os.ReadFile(filepath.FromSlash(cssSourcePath))
	if err != nil {
		t.Fatal(err)
	}
	want, err := minifyCSS(string(src))
	if err != nil {
		t.Fatalf("widget.css: %v", err)
	}
	if *updateMinified {
		if err := os.WriteFile(filepath.FromSlash(minifiedCSSPath), []byte(want+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(filepath.FromSlash(minifiedCSSPath))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != want {
		t.Fatalf("templates/widget/widget.min.css is not widget.css minified: run go generate ./widget")
	}
	if e := newEnv(t); e.w.css != want {
		t.Fatalf("the widget does not serve the minified CSS (%d B, want %d B)", len(e.w.css), len(want))
	}
}

// minifyCSS minifies the gallery's CSS, sent inside every embed. Warnings
// are errors: esbuild warns of what a browser would drop.
func minifyCSS(src string) (string, error) {
	r := api.Transform(src, api.TransformOptions{
		Loader:           api.LoaderCSS,
		MinifyWhitespace: true,
		MinifySyntax:     true,
		Charset:          api.CharsetUTF8,
	})
	for _, m := range append(r.Errors, r.Warnings...) {
		line := 0
		if m.Location != nil {
			line = m.Location.Line
		}
		return "", fmt.Errorf("line %d: %s", line, m.Text)
	}
	return strings.TrimSpace(string(r.Code)), nil
}
