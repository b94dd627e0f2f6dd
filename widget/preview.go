package widget

import (
	"errors"
	"html/template"

	"vitrine/appearance"
)

// Preview is the /widget page as it would be with the appearance look, of
// the current snapshot's posts, with the Content-Security-Policy to send
// it under (same-origin framing only). It is for the dashboard's
// Appearance page, which shows a change before it is saved: it models and
// executes the templates on every call, which the public routes never do,
// so it must stay behind the admin's sign-in.
func (w *Widget) Preview(look appearance.Settings) (page []byte, contentSecurityPolicy string, err error) {
	s := w.cur.Load()
	if s == nil {
		return nil, "", errors.New("widget: preview: no gallery built yet")
	}
	in := s.in
	in.look = look.Clone()
	v, _, err := w.model(in, s.files, s.videos, s.doc.Stale, newPostFilter(in.look))
	if err != nil {
		return nil, "", err
	}
	script := w.loader(v) + "({})"
	v.Script = template.JS(script) // v.CSS is the gallery's with look's settings
	if page, err = w.exec("page", v); err != nil {
		return nil, "", err
	}
	return page, pageCSP(w.base, script, []string{"'self'"}), nil
}
