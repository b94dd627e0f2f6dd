package metrics

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"vitrine/buildinfo"
)

// A scrape shows vitrine_build_info at 1 with the build's labels, the same
// values `vitrine version` prints.
func TestBuildInfoMetric(t *testing.T) {
	m, err := New(Sources{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	b := buildinfo.Get()
	want := fmt.Sprintf(`vitrine_build_info{commit=%q,date=%q,goversion=%q,modified="%t",version=%q} 1`,
		b.Commit, b.Date, b.GoVersion, b.Modified, b.Version)
	if !strings.Contains(string(body), want+"\n") {
		t.Errorf("scrape lacks %s:\n%s", want, grep(string(body), "vitrine_build_info"))
	}
}

func grep(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
