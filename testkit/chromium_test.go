package testkit

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestMain(m *testing.M) { Main(m) }

// Tests share one browser but nothing a page can see: what one test's
// page stored (a cookie, localStorage) is not there for the next.
func TestChromiumTabsShareTheBrowserNotTheProfile(t *testing.T) {
	SkipIfShort(t, "drives Chromium")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "seen", Value: "1", Expires: time.Now().Add(time.Hour)})
		}
		w.Write([]byte("<!doctype html><title>t</title>"))
	}))
	defer srv.Close()
	read := `document.cookie + "|" + (localStorage.getItem("seen") || "")`
	var browsers []any
	for i, tc := range []struct{ path, before, after string }{
		{"/set", "seen=1|", "seen=1|1"}, // the first test stores
		{"/", "|", "|1"},                // the next finds nothing of it
	} {
		t.Run("test", func(t *testing.T) {
			ctx := Chromium(t)
			browsers = append(browsers, chromedp.FromContext(ctx).Browser)
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+tc.path)); err != nil {
				t.Fatal(err)
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[string](read))
			if err != nil || got != tc.before {
				t.Errorf("test %d reads %q %v, want %q", i+1, got, err, tc.before)
			}
			got, err = chromedp.Run(ctx, chromedp.Evaluate[string](`localStorage.setItem("seen", "1"), `+read))
			if err != nil || got != tc.after {
				t.Errorf("test %d after storing reads %q %v, want %q", i+1, got, err, tc.after)
			}
		})
	}
	if len(browsers) == 2 && browsers[0] != browsers[1] {
		t.Error("the two tests had a browser each")
	}
}
