package widget

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"

	"vitrine/appearance"
)

var updateMinified = flag.Bool("update-minified", false, "rewrite templates/widget/loader.min.js, loader.extras.min.js and widget.min.css from their sources")

// The loader's and the CSS's sources, and where go generate writes the
// minified copies the binary embeds and serves: the loader without and
// with its extras.
const (
	loaderSourcePath         = "../templates/widget/loader.js"
	minifiedLoaderPath       = "../templates/widget/loader.min.js"
	minifiedExtrasLoaderPath = "../templates/widget/loader.extras.min.js"
	cssSourcePath            = "../templates/widget/widget.css"
	minifiedCSSPath          = "../templates/widget/widget.min.css"
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
// people edit, and its options block with the options table: a change to
// either without go generate fails here.
func TestMinifiedLoaderIsCurrent(t *testing.T) {
	read, err := os.ReadFile(filepath.FromSlash(loaderSourcePath))
	if err != nil {
		t.Fatal(err)
	}
	src, err := withOptionsBlock(string(read))
	if err != nil {
		t.Fatalf("loader.js: %v", err)
	}
	if src != string(read) {
		if !*updateMinified {
			t.Fatalf("templates/widget/loader.js's options block is not the options table's: run go generate ./widget")
		}
		if err := os.WriteFile(filepath.FromSlash(loaderSourcePath), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plain, extras, err := loaderVariants(src)
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
		if *updateMinified {
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
	if problems := append(r.Errors, r.Warnings...); len(problems) > 0 {
		m, line := problems[0], 0
		if m.Location != nil {
			line = m.Location.Line
		}
		return "", fmt.Errorf("line %d: %s", line, m.Text)
	}
	return strings.TrimSpace(string(r.Code)), nil
}

// The loader's options block, between these lines, is written from the
// options table: what go generate writes and the test above compares.
const (
	optionsBegin = "  // BEGIN options"
	optionsEnd   = "  // END options"
)

// withOptionsBlock is the loader src with its options block written from
// appearance.Options: the data- attributes of the options the server
// applies (an embed with one loads the script built with it), and the
// values allowed of each option the loader reads with allowed(…).
func withOptionsBlock(src string) (string, error) {
	begin, end := strings.Index(src, optionsBegin), strings.Index(src, optionsEnd)
	if begin < 0 || end < begin {
		return "", fmt.Errorf("no %q … %q block", strings.TrimSpace(optionsBegin), strings.TrimSpace(optionsEnd))
	}
	head := src[begin:]
	head = head[:strings.Index(head, "\n  const ")+1] // the comment, kept as written
	// Only what the loader checks with allowed(…) is written: every byte
	// is sent to every visitor.
	_, checked := loaderAttributes(src)
	key := func(attr string) string {
		if strings.Contains(attr, "-") {
			return jsValue(attr)
		}
		return attr
	}
	var server, choices, ranges []string
	for _, o := range appearance.Options {
		switch {
		case o.Attr == "":
		case o.AppliedBy == appearance.Server:
			server = append(server, jsValue(o.Attr))
		case !slices.Contains(checked, o.Attr):
		case o.Kind == appearance.Choice:
			choices = append(choices, key(o.Attr)+":"+jsValue(o.Values))
		case o.Kind == appearance.Number:
			ranges = append(ranges, key(o.Attr)+":"+jsValue([]int{o.Min, o.Max}))
		}
	}
	var b strings.Builder
	b.WriteString(head)
	fmt.Fprintf(&b, "  const serverOptions = [%s],\n    choices = {%s},\n    ranges = {%s};\n", strings.Join(server, ","), strings.Join(choices, ","), strings.Join(ranges, ","))
	return src[:begin] + b.String() + src[end:], nil
}

func jsValue(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestLoaderSpellsOptionsAsTheTable: every data- attribute the loader reads
// is an option's in the options table, of the kind the loader takes it for
// (allowed(…) reads a choice or a number of the generated block), and the
// /widget page's query parameter it reads instead (the attribute with "_"
// for "-") is that option's too.
func TestLoaderSpellsOptionsAsTheTable(t *testing.T) {
	read, err := os.ReadFile(filepath.FromSlash(loaderSourcePath))
	if err != nil {
		t.Fatal(err)
	}
	attrs, checked := loaderAttributes(string(read))
	if len(attrs) < 15 || len(checked) < 8 {
		t.Fatalf("found only %v (%v checked) in the loader", attrs, checked)
	}
	for _, a := range attrs {
		i := slices.IndexFunc(appearance.Options, func(o appearance.Option) bool { return o.Attr == a })
		if i < 0 {
			t.Errorf("the loader reads data-%s, which no option of the table has", a)
			continue
		}
		o := appearance.Options[i]
		if o.Query != strings.ReplaceAll(a, "-", "_") {
			t.Errorf("the loader reads data-%s as ?%s on the /widget page, the table names it ?%s", a, strings.ReplaceAll(a, "-", "_"), o.Query)
		}
		if slices.Contains(checked, a) && (o.AppliedBy != appearance.Browser || o.Kind != appearance.Choice && o.Kind != appearance.Number) {
			t.Errorf("the loader checks data-%s against the table's choices and ranges, but it is no choice or number the browser applies", a)
		}
	}
}

// loaderAttributes are the data- attributes the loader src reads, and
// those of them it checks with allowed(…): literal option('…') and
// allowed('…'), and the lists it walks, ['columns', …].forEach(…
// allowed(name) …), [['captions', 'nocap'], …] (each pair's first) and the
// colours, read as option(name + '-color').
func loaderAttributes(src string) (attrs, checked []string) {
	for _, m := range regexp.MustCompile(`(option|allowed)\('([a-z-]+)'\)`).FindAllStringSubmatch(src, -1) {
		attrs = append(attrs, m[2])
		if m[1] == "allowed" {
			checked = append(checked, m[2])
		}
	}
	for _, m := range regexp.MustCompile(`(?s)\[((?:\[?'[a-z-]+'(?:, '[a-z-]+')?\]?(?:, )?)+)\]\.forEach\((.*?)\}\);`).FindAllStringSubmatch(src, -1) {
		suffix := ""
		if strings.Contains(m[2], "name + '-color'") {
			suffix = "-color"
		}
		for _, n := range regexp.MustCompile(`\['([a-z-]+)', '[a-z]+'\]|'([a-z-]+)'`).FindAllStringSubmatch(m[1], -1) {
			attrs = append(attrs, n[1]+n[2]+suffix)
			if strings.Contains(m[2], "allowed(name)") {
				checked = append(checked, n[1]+n[2])
			}
		}
	}
	return attrs, checked
}
