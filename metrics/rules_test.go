package metrics

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"vitrine/connection"
	"vitrine/store"
)

// docs/alerts.yml is what ops load into Prometheus: promtool must accept
// it and its unit tests (testdata/alerts_test.yml) must pass, and every
// vitrine_ series it names must be one this registry serves. Without
// promtool (Debian's prometheus package; .ci/run installs it) the test is
// skipped, or fails in CI.
func TestAlertRulesPassPromtoolAndNameServedMetrics(t *testing.T) {
	rules, err := os.ReadFile("../docs/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Sources{
		Status: func(context.Context) (connection.Status, error) {
			return connection.Status{Connected: true, Account: store.Token{ExpiresAt: time.Unix(1e9, 0)}}, nil
		},
		PostCount:  func(context.Context) (int64, error) { return 1, nil },
		DatabaseUp: func(context.Context) bool { return true },
		Disks:      func() []Disk { return []Disk{{Dir: "data", Free: 1, Total: 2}} },
	})
	if err != nil {
		t.Fatal(err)
	}
	m.JobSucceeded("sync", time.Unix(0, 0)) // labelled series appear once used
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, f := range families {
		served[f.GetName()] = true
	}
	for _, name := range regexp.MustCompile(`\bvitrine_[a-z_]+`).FindAllString(string(rules), -1) {
		if !served[name] {
			t.Errorf("docs/alerts.yml names %s, which /metrics does not serve", name)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not on PATH: CI must check docs/alerts.yml (apt-get install prometheus)")
		}
		t.Skip("promtool is not on PATH (apt-get install prometheus)")
	}
	for _, args := range [][]string{{"check", "rules", "../docs/alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		if args[0] == "test" {
			cmd.Dir = "testdata"
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
