package fake

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
)

// Quirks of the real Instagram that a client must survive, switched on
// per test like the faults.

// RefuseFields makes Instagram answer "(#100) Tried accessing nonexisting
// field (name)" for these fields of media or of the user, as it may for
// alt_text, the counts or biography on some accounts and versions. No
// names: every known field is accepted again.
func (f *Fake) RefuseFields(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.refusedFields = set(names...)
}

// SetEmptyPages makes /me/media answer n pages with no items, but with a
// next link, before each page of posts, as Instagram sometimes does. 0
// turns it off.
func (f *Fake) SetEmptyPages(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.emptyPages = max(n, 0)
}

// mediaFieldsLocked is the media fields Instagram accepts now.
func (f *Fake) mediaFieldsLocked() map[string]bool { return f.acceptedLocked(mediaFields) }

// userFieldsLocked is the user fields Instagram accepts now.
func (f *Fake) userFieldsLocked() map[string]bool { return f.acceptedLocked(userFields) }

// acceptedLocked is known without the fields RefuseFields named.
func (f *Fake) acceptedLocked(known map[string]bool) map[string]bool {
	if len(f.faults.refusedFields) == 0 {
		return known
	}
	allowed := map[string]bool{}
	for name := range known {
		if !f.faults.refusedFields[name] {
			allowed[name] = true
		}
	}
	return allowed
}

// An empty-page cursor says how many empty pages were served before the
// position real (a post cursor, or "" for the start).
func encodeEmptyCursor(served int, real string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("AQE:" + strconv.Itoa(served) + ":" + real))
}

func decodeEmptyCursor(s string) (served int, real string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return 0, "", false
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 || parts[0] != "AQE" {
		return 0, "", false
	}
	served, err = strconv.Atoi(parts[1])
	return served, parts[2], err == nil && served >= 0
}

// emptyPageLocked decides whether this /me/media request gets an empty
// page: if so it returns the page; otherwise the cursor of the real page
// to serve instead of q's.
func (f *Fake) emptyPageLocked(rc renderCtx, fields []field, q url.Values, limit int) (page map[string]any, after string) {
	after = q.Get("after")
	n := f.faults.emptyPages
	if n == 0 || q.Get("before") != "" {
		return nil, after
	}
	served, real, ok := decodeEmptyCursor(after)
	if !ok {
		served, real = 0, after
	}
	if served >= n {
		return nil, real
	}
	cursor := encodeEmptyCursor(served+1, real)
	return map[string]any{
		"data": []any{},
		"paging": map[string]any{
			"cursors": map[string]any{"before": cursor, "after": cursor},
			"next":    f.mediaLink(rc, fields, limit, "after", cursor),
		},
	}, ""
}
