package systemtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// Disconnect removes what the connection served: the cached posts, the
// mirrored files and the images held in memory. A /media/ URL that was
// served before (cached by browsers for a year) answers 404 at once, and
// /widget.json has no posts.
func TestDisconnectRemovesWhatItServed(t *testing.T) {
	ta := newTestApp(t, testAppOptions{posts: 3})
	ta.connect()
	var doc struct {
		Posts []struct {
			Images []struct{ URL string } `json:"images"`
		} `json:"posts"`
	}
	_, body := ta.get("/widget.json")
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Posts) == 0 || len(doc.Posts[0].Images) == 0 {
		t.Fatalf("widget.json before disconnecting: %v\n%.300s", err, body)
	}
	media := strings.TrimPrefix(doc.Posts[0].Images[0].URL, ta.URL)
	if resp, _ := ta.get(media); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s before disconnecting = %d", media, resp.StatusCode)
	}

	admin := ta.login()
	resp, err := admin.PostForm(ta.URL+"/admin/disconnect", url.Values{"csrf_token": {admin.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disconnect = %d", resp.StatusCode)
	}

	if resp, _ := ta.get(media); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s after disconnecting = %d, want 404", media, resp.StatusCode)
	}
	_, body = ta.get("/widget.json")
	doc.Posts = nil
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Posts) != 0 {
		t.Errorf("widget.json after disconnecting: %v\n%.300s", err, body)
	}
	if n, err := ta.Store.PostCount(t.Context()); err != nil || n != 0 {
		t.Errorf("%d posts cached after disconnecting (%v)", n, err)
	}
	if _, err := os.Stat(ta.cfg.MediaDir()); !os.IsNotExist(err) {
		t.Errorf("mirrored images still on disk (%v)", err)
	}
}
