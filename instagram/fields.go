package instagram

import (
	"errors"
	"regexp"
	"strings"
	"sync"
)

// The fields the feed asks for. The required ones the gallery can't do
// without. The optional ones Instagram may refuse for some accounts or
// API versions with "(#100) Tried accessing nonexisting field (alt_text)":
// alt_text, for one, came with publishing and reading it back is not
// guaranteed. A refusal costs one retry without the field, which is then
// left out for the life of the process, never the sync.
var (
	requiredMediaFields = []string{"id", "caption", "media_type", "media_url", "thumbnail_url", "permalink", "timestamp", "username"}
	requiredChildFields = []string{"id", "media_type", "media_url", "thumbnail_url", "timestamp"}
	optionalFields      = []string{"alt_text"}
)

var nonexistingFieldRE = regexp.MustCompile(`nonexisting field \(([A-Za-z0-9_]+)\)`)

// fieldChoice remembers which optional fields Instagram refused.
type fieldChoice struct {
	mu      sync.Mutex
	refused map[string]bool
}

func (fc *fieldChoice) with(required []string) []string {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fields := append([]string(nil), required...)
	for _, f := range optionalFields {
		if !fc.refused[f] {
			fields = append(fields, f)
		}
	}
	return fields
}

// media is the fields parameter of /me/media, children included.
func (fc *fieldChoice) media() string {
	return strings.Join(fc.with(requiredMediaFields), ",") + ",children{" + fc.children() + "}"
}

// children is the fields parameter of /{id}/children.
func (fc *fieldChoice) children() string { return strings.Join(fc.with(requiredChildFields), ",") }

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
	optional := false
	for _, f := range optionalFields {
		optional = optional || f == field
	}
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
