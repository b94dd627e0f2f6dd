package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// parse reads build information as `go version -m` prints it, which is
// the text form debug.BuildInfo round-trips through.
func parse(t *testing.T, text string) *debug.BuildInfo {
	t.Helper()
	bi, err := debug.ParseBuildInfo(strings.ReplaceAll(text, "|", "\t"))
	if err != nil {
		t.Fatalf("ParseBuildInfo: %v", err)
	}
	return bi
}

const goLine = "go|go1.26.8\npath|vitrine\n"

func TestFrom(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		text                  string
		version, commit, date string // -ldflags
		want                  Info
		wantString, wantUA    string
	}{{
		name:       "a tagged checkout (Go 1.24+ stamps the tag)",
		text:       goLine + "mod|vitrine|v1.2.0|\nbuild|vcs=git\nbuild|vcs.revision=7d87642ed16cb5ddbe1b5c6d05a8184e8db7625e\nbuild|vcs.time=2026-12-07T16:14:28Z\nbuild|vcs.modified=false\n",
		want:       Info{Version: "v1.2.0", Commit: "7d87642ed16cb5ddbe1b5c6d05a8184e8db7625e", Date: "2026-12-07T16:14:28Z", GoVersion: "go1.26.8"},
		wantString: "vitrine v1.2.0 (commit 7d87642ed16c, 2026-12-07T16:14:28Z, go1.26.8)",
		wantUA:     "vitrine/v1.2.0",
	}, {
		name:       "go install vitrine@v1.2.0 (no VCS settings)",
		text:       goLine + "mod|vitrine|v1.2.0|h1:abc=\n",
		want:       Info{Version: "v1.2.0", GoVersion: "go1.26.8"},
		wantString: "vitrine v1.2.0 (commit unknown, date unknown, go1.26.8)",
		wantUA:     "vitrine/v1.2.0",
	}, {
		name:       "an untagged commit, with local changes",
		text:       goLine + "mod|vitrine|v0.0.0-20261207161428-7d87642ed16c+dirty|\nbuild|vcs=git\nbuild|vcs.revision=7d87642ed16cb5ddbe1b5c6d05a8184e8db7625e\nbuild|vcs.time=2026-12-07T16:14:28Z\nbuild|vcs.modified=true\n",
		want:       Info{Version: Dev, Commit: "7d87642ed16cb5ddbe1b5c6d05a8184e8db7625e", Modified: true, Date: "2026-12-07T16:14:28Z", GoVersion: "go1.26.8"},
		wantString: "vitrine dev (commit 7d87642ed16c+modified, 2026-12-07T16:14:28Z, go1.26.8)",
		wantUA:     "vitrine/dev-7d87642ed16c",
	}, {
		name:       "a commit after a tag",
		text:       goLine + "mod|vitrine|v1.2.1-0.20261207161428-7d87642ed16c|\nbuild|vcs.revision=7d87642ed16cb5ddbe1b5c6d05a8184e8db7625e\n",
		want:       Info{Version: Dev, Commit: "7d87642ed16cb5ddbe1b5c6d05a8184e8db7625e", GoVersion: "go1.26.8"},
		wantString: "vitrine dev (commit 7d87642ed16c, date unknown, go1.26.8)",
		wantUA:     "vitrine/dev-7d87642ed16c",
	}, {
		name:       "-buildvcs=false",
		text:       goLine + "mod|vitrine|(devel)|\n",
		want:       Info{Version: Dev, GoVersion: "go1.26.8"},
		wantString: "vitrine dev (commit unknown, date unknown, go1.26.8)",
		wantUA:     "vitrine/dev",
	}, {
		name:    "a release build's -ldflags win",
		text:    goLine + "mod|vitrine|(devel)|\nbuild|vcs.revision=1111111111111111111111111111111111111111\nbuild|vcs.time=2026-01-01T00:00:00Z\n",
		version: "v2.0.0", commit: "2222222222222222222222222222222222222222", date: "2026-12-08T10:00:00Z",
		want:       Info{Version: "v2.0.0", Commit: "2222222222222222222222222222222222222222", Date: "2026-12-08T10:00:00Z", GoVersion: "go1.26.8"},
		wantString: "vitrine v2.0.0 (commit 222222222222, 2026-12-08T10:00:00Z, go1.26.8)",
		wantUA:     "vitrine/v2.0.0",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := From(parse(t, tc.text), tc.version, tc.commit, tc.date)
			if got != tc.want {
				t.Errorf("From = %+v, want %+v", got, tc.want)
			}
			if s := got.String(); s != tc.wantString {
				t.Errorf("String = %q, want %q", s, tc.wantString)
			}
			if ua := got.UserAgent(); ua != tc.wantUA {
				t.Errorf("UserAgent = %q, want %q", ua, tc.wantUA)
			}
		})
	}
}

func TestFromWithoutBuildInfo(t *testing.T) {
	got := From(nil, "", "", "")
	if want := (Info{Version: Dev, GoVersion: runtime.Version()}); got != want {
		t.Errorf("From(nil) = %+v, want %+v", got, want)
	}
}

// The test binary has build information of its own: Get reads it.
func TestGetReadsThisBinary(t *testing.T) {
	got := Get()
	if got.GoVersion != runtime.Version() {
		t.Errorf("GoVersion = %q, want %q", got.GoVersion, runtime.Version())
	}
	if got.Version == "" {
		t.Error("Version is empty, want a tag or dev")
	}
}
