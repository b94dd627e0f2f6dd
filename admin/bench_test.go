package admin

import (
	"net/http"
	"testing"
)

// BenchmarkDashboard renders the signed-in dashboard of a connected
// account over loopback: session lookup, store reads, template execution.
func BenchmarkDashboard(b *testing.B) {
	e := newEnv(b)
	e.login()
	e.connect()
	for b.Loop() {
		if r := e.get("/admin"); r.StatusCode != http.StatusOK {
			b.Fatalf("GET /admin = %d", r.StatusCode)
		}
	}
}

// BenchmarkStatusJSON is the dashboard's 5-second poll.
func BenchmarkStatusJSON(b *testing.B) {
	e := newEnv(b)
	e.login()
	e.connect()
	for b.Loop() {
		if r := e.get("/admin/status.json"); r.StatusCode != http.StatusOK {
			b.Fatalf("GET /admin/status.json = %d", r.StatusCode)
		}
	}
}
