package widget

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"
)

var updateLoader = flag.Bool("update-loader", false, "rewrite templates/widget/loader.min.js and loader.extras.min.js from loader.js")

// The loader's source, and where go generate writes the minified loaders
// the binary embeds and serves: without and with its extras.
const (
	loaderSourcePath         = "../templates/widget/loader.js"
	minifiedLoaderPath       = "../templates/widget/loader.min.js"
	minifiedExtrasLoaderPath = "../templates/widget/loader.extras.min.js"
)

// extrasRE is one stretch of the loader's extras, its markers' lines
// included.
var extrasRE = regexp.MustCompile(`(?ms)^[ \t]*//#extras\n.*?^[ \t]*//#end\n`)

// loaderVariants are the loader's source without its extras and with
// them (their markers, plain comments, go with the minifier).
func loaderVariants(src string) (plain, extras string, err error) {
	if strings.Count(src, "//#extras\n") != len(extrasRE.FindAllString(src, -1)) || strings.Count(src, "//#extras") != strings.Count(src, "//#end") {
		return "", "", fmt.Errorf("an //#extras marker without its //#end")
	}
	return extrasRE.ReplaceAllString(src, ""), src, nil
}

// TestMinifiedLoaderIsCurrent keeps the served loaders in step with the one
// people edit: a change to loader.js without go generate fails here.
func TestMinifiedLoaderIsCurrent(t *testing.T) {
	src, err := os.ReadFile(filepath.FromSlash(loaderSourcePath))
	if err != nil {
		t.Fatal(err)
	}
	plain, extras, err := loaderVariants(string(src))
	if err != nil {
		t.Fatalf("loader.js: %v", err)
	}
	e := newEnv(t)
	for _, v := range []struct {
		src, path, served string
	}{{plain, minifiedLoaderPath, e.w.js}, {extras, minifiedExtrasLoaderPath, e.w.jsExtras}} {
		want, err := minifyLoader(v.src)
		if err != nil {
			t.Fatalf("loader.js for %s: %v", filepath.Base(v.path), err)
		}
		if *updateLoader {
			// The widget embeds the files as they were when this test was
			// compiled, so after a rewrite there is nothing more to check.
			if err := os.WriteFile(filepath.FromSlash(v.path), []byte(want+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(filepath.FromSlash(v.path))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(got)) != want {
			t.Fatalf("templates/widget/%s is not loader.js minified: run go generate ./widget", filepath.Base(v.path))
		}
		if v.served != want {
			t.Fatalf("the widget does not serve the minified %s (%d B, want %d B)", filepath.Base(v.path), len(v.served), len(want))
		}
	}
}

// The extras are left out of the plain loader, and only they.
func TestLoaderVariants(t *testing.T) {
	plain, extras, err := loaderVariants("a();\n  //#extras\n  b();\n  //#end\nc();\n")
	if err != nil || plain != "a();\nc();\n" || !strings.Contains(extras, "b();") {
		t.Errorf("variants: %q, %q, %v", plain, extras, err)
	}
	if _, _, err := loaderVariants("a();\n//#extras\nb();\n"); err == nil {
		t.Error("an unclosed //#extras was accepted")
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
