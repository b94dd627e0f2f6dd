// Package buildinfo is which Vitrine this binary is: its version, the
// commit it was built from, that commit's date and the Go version, read
// from what the Go toolchain records in every binary. `vitrine version`,
// the dashboard's footer, the vitrine_build_info metric and the Instagram
// client's User-Agent all say the same.
package buildinfo

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// Set by release builds, which may lack the repository the toolchain reads
// the commit from (a source archive, a container's build context):
//
//	go build -ldflags "-X vitrine/buildinfo.Version=v1.2.0 -X vitrine/buildinfo.Commit=$(git rev-parse HEAD) -X vitrine/buildinfo.Date=$(date -u +%FT%TZ)"
//
// Each one left empty comes from the build's own information.
var (
	Version string
	Commit  string
	Date    string // RFC 3339
)

// Dev is the version of a build that is not a release: not from a tag,
// and not given one with -ldflags.
const Dev = "dev"

// Info is one build's identity. Commit and Date are empty when unknown
// (a build outside a repository, or with -buildvcs=false).
type Info struct {
	Version   string // a tag such as v1.2.0, or Dev
	Commit    string // the full revision
	Modified  bool   // built from a tree with uncommitted changes
	Date      string // RFC 3339: the release build's date, else the commit's
	GoVersion string
}

var (
	once    sync.Once
	current Info
)

// Get returns this binary's Info; it is read once.
func Get() Info {
	once.Do(func() {
		bi, ok := debug.ReadBuildInfo()
		if !ok {
			bi = nil
		}
		current = From(bi, Version, Commit, Date)
	})
	return current
}

// pseudoVersion matches the toolchain's versions of untagged commits
// (v0.0.0-20261207161428-7d87642ed16c, v1.2.1-0.20261207…): not a tag.
var pseudoVersion = regexp.MustCompile(`[-.]\d{14}-[0-9a-f]{12}(\+dirty)?$`)

// From computes an Info from a binary's build information (nil when it has
// none) and the values -ldflags set, which win over it.
func From(bi *debug.BuildInfo, version, commit, date string) Info {
	i := Info{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
	if bi == nil {
		if i.Version == "" {
			i.Version = Dev
		}
		return i
	}
	if bi.GoVersion != "" {
		i.GoVersion = bi.GoVersion
	}
	var vcsTime string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if i.Commit == "" {
				i.Commit = s.Value
			}
		case "vcs.time":
			vcsTime = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	if i.Date == "" {
		i.Date = vcsTime
	}
	if i.Version == "" {
		// `go install vitrine@v1.2.0`, or a build of a tagged checkout
		// (Go 1.24+), records the tag; a build of any other commit records
		// a pseudo-version, and a build without version control "(devel)".
		v := bi.Main.Version
		switch {
		case v == "" || v == "(devel)" || pseudoVersion.MatchString(v):
			i.Version = Dev
		default:
			if strings.HasSuffix(v, "+dirty") {
				i.Modified = true
			}
			i.Version = strings.TrimSuffix(v, "+dirty")
		}
	}
	return i
}

// ShortCommit is the commit's first 12 characters, "unknown" when there is
// none, and "+modified" when the tree had uncommitted changes.
func (i Info) ShortCommit() string {
	c := i.Commit
	if c == "" {
		c = "unknown"
	} else if len(c) > 12 {
		c = c[:12]
	}
	if i.Modified {
		c += "+modified"
	}
	return c
}

// String is one line: "vitrine v1.2.0 (commit 7d87642ed16c, 2026-12-07T16:14:28Z, go1.26.8)".
func (i Info) String() string {
	date := i.Date
	if date == "" {
		date = "date unknown"
	}
	return fmt.Sprintf("vitrine %s (commit %s, %s, %s)", i.Version, i.ShortCommit(), date, i.GoVersion)
}

// UserAgent is what Vitrine's outgoing requests say they are, so the other
// side's logs tell versions apart: "vitrine/v1.2.0" or "vitrine/dev-7d87642ed16c".
func (i Info) UserAgent() string {
	if i.Version != Dev || i.Commit == "" {
		return "vitrine/" + i.Version
	}
	c := i.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	return "vitrine/" + i.Version + "-" + c
}
