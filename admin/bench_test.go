package admin_test

import (
	"net/http"
	"testing"
)

// BenchmarkDashboard renders the signed-in dashboard of a connected
// account over loopback: session lookup, store reads, template execution.
func BenchmarkDashboard(b *testing.B) {
	v := newVitrine(b)
	v.client.SignIn(testPassword)
	v.connect()
	for b.Loop() {
		if r := v.client.Get("/admin"); r.StatusCode != http.StatusOK {
			b.Fatalf("GET /admin = %d", r.StatusCode)
		}
	}
}

// BenchmarkStatusJSON is the dashboard's 5-second poll.
func BenchmarkStatusJSON(b *testing.B) {
	v := newVitrine(b)
	v.client.SignIn(testPassword)
	v.connect()
	for b.Loop() {
		if r := v.client.Get("/admin/status.json"); r.StatusCode != http.StatusOK {
			b.Fatalf("GET /admin/status.json = %d", r.StatusCode)
		}
	}
}
