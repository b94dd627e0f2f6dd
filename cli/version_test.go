package cli

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"vitrine/buildinfo"
	"vitrine/testkit"
)

// `vitrine version` and `vitrine -version` print the same line, the
// build's; a stray argument is a usage error.
func TestVersionCommandAndFlag(t *testing.T) {
	want := buildinfo.Get().String() + "\n"
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), args, nil, &out, &errOut); code != ExitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
		if out.String() != want {
			t.Errorf("%v printed %q, want %q", args, out.String(), want)
		}
	}
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"version", "extra"}, nil, &out, &errOut); code != ExitUsage || out.Len() != 0 {
		t.Errorf("version extra: exit %d, stdout %q; want %d and nothing", code, out.String(), ExitUsage)
	}
}

// A release build sets the version with -ldflags (the variable's path is
// part of the release instructions); the binary prints it with the Go
// version it was built with.
func TestReleaseBuildPrintsItsVersion(t *testing.T) {
	testkit.SkipIfShort(t, "builds the binary")
	bin := filepath.Join(t.TempDir(), "vitrine")
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X vitrine/buildinfo.Version=v9.8.7 -X vitrine/buildinfo.Commit=0123456789abcdef0123 -X vitrine/buildinfo.Date=2026-12-08T10:00:00Z",
		"vitrine")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	want := "vitrine v9.8.7 (commit 0123456789ab, 2026-12-08T10:00:00Z, " + runtime.Version() + ")\n"
	for _, arg := range []string{"version", "-version"} {
		out, err := exec.Command(bin, arg).CombinedOutput()
		if err != nil || string(out) != want {
			t.Errorf("vitrine %s = %q, %v; want %q", arg, out, err, want)
		}
	}
	if out, _ := exec.Command(bin, "help").CombinedOutput(); !strings.Contains(string(out), "version") {
		t.Errorf("help does not list version:\n%s", out)
	}
}
