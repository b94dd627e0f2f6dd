package instagram

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// The fields the feed and the profile ask for. The required ones the
// gallery can't do without. The optional ones Instagram may refuse for
// some accounts or API versions with "(#100) Tried accessing nonexisting
// field (alt_text)": alt_text, for one, came with publishing and reading
// it back is not guaranteed, and the counts and the biography are extras
// the gallery shows only when it has them. A refusal costs one retry
// without the field, which is then left out for the life of the process,
// never the sync or the validation.
var (
	requiredMediaFields   = []string{"id", "caption", "media_type", "media_url", "thumbnail_url", "permalink", "timestamp", "username"}
	optionalMediaFields   = []string{"alt_text", "like_count", "comments_count"}
	requiredChildFields   = []string{"id", "media_type", "media_url", "thumbnail_url", "timestamp"}
	optionalChildFields   = []string{"alt_text"} // children have no counts
	requiredProfileFields = []string{"user_id", "username", "name", "account_type", "profile_picture_url", "followers_count", "follows_count", "media_count"}
	optionalProfileFields = []string{"biography"}
)

var nonexistingFieldRE = regexp.MustCompile(`nonexisting field \(([A-Za-z0-9_]+)\)`)

// fieldChoice remembers which optional fields Instagram refused.
type fieldChoice struct {
	mu      sync.Mutex
	refused map[string]bool
}

// with is required and the optional fields not refused, as a fields
// parameter.
func (fc *fieldChoice) with(required, optional []string) string {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fields := append([]string(nil), required...)
	for _, f := range optional {
		if !fc.refused[f] {
			fields = append(fields, f)
		}
	}
	return strings.Join(fields, ",")
}

// media is the fields parameter of /me/media, children included.
func (fc *fieldChoice) media() string {
	return fc.with(requiredMediaFields, optionalMediaFields) + ",children{" + fc.children() + "}"
}

// children is the fields parameter of /{id}/children.
func (fc *fieldChoice) children() string { return fc.with(requiredChildFields, optionalChildFields) }

// profile is the fields parameter of /me.
func (fc *fieldChoice) profile() string { return fc.with(requiredProfileFields, optionalProfileFields) }

// refuse reads err for Instagram refusing an optional field still being
// asked for, and stops asking for it. ok is true only then, once per field.
func (fc *fieldChoice) refuse(err error) (field string, ok bool) {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != 100 {
		return "", false
	}
	m := nonexistingFieldRE.FindStringSubmatch(ae.Message)
	if m == nil {
		return "", false
	}
	field = m[1]
	optional := slices.Contains(optionalMediaFields, field) || slices.Contains(optionalProfileFields, field)
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if !optional || fc.refused[field] {
		return field, false
	}
	if fc.refused == nil {
		fc.refused = map[string]bool{}
	}
	fc.refused[field] = true
	return field, true
}
