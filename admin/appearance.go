package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/appearance"
	"vitrine/moderation"
)

// The Appearance page: every option of the gallery's table with a control
// that fits it, and beside them the gallery itself, as it would look,
// updated as a control changes (admin.js reloads the preview frame; without
// script it shows the saved settings, and Save then shows the change).
// Save keeps the settings in the database, so every replica serves them
// within widget.cache_max_age.

// appearanceView is the page's model.
type appearanceView struct {
	page
	Flash  *flash
	Groups []fieldGroup
	// PreviewURL shows the settings on the form (the saved ones, or the
	// refused ones being corrected).
	PreviewURL string
	// Customised is true when any saved setting differs from the config
	// file's.
	Customised bool
	Skipped    []appearance.Problem
	CacheAge   string
}

type fieldGroup struct {
	Name   string
	ID     string
	Fields []field
}

// field is one option's control.
type field struct {
	Key, ID, Label, Help string
	Kind                 string // choice, number, switch, colour, words, subset
	Value                string
	Checked              bool // a switch that is on
	Choices              []fieldChoice
	Min, Max             int
	Error                string
	// FileValue is the config file's value, shown when the saved one
	// differs.
	FileValue string
}

type fieldChoice struct {
	Value, Label string
	Selected     bool
}

var kindNames = map[appearance.Kind]string{
	appearance.Choice: "choice", appearance.Number: "number", appearance.Switch: "switch",
	appearance.Colour: "colour", appearance.Words: "words", appearance.Subset: "subset",
}

func (a *Admin) appearancePage(c *gin.Context) {
	st, err := a.ops.Appearance(c.Request.Context())
	if err != nil {
		c.Error(internal("read the gallery's settings", err))
		return
	}
	f, err := a.takeFlash(c)
	if err != nil {
		c.Error(internal("read your session", err))
		return
	}
	if f != nil && f.Section != "appearance" {
		f = nil // meant for the dashboard
	}
	texts := map[string]string{}
	for _, o := range appearance.Options {
		texts[o.Key] = o.Text(st.Current)
	}
	a.renderAppearance(c, http.StatusOK, st, texts, nil, f)
}

// renderAppearance shows the form holding texts (option key → text), with
// problems beside the fields they name.
func (a *Admin) renderAppearance(c *gin.Context, status int, st appearance.State, texts map[string]string, problems appearance.Problems, f *flash) {
	errs := map[string]string{}
	for _, p := range problems {
		errs[p.Key] = p.Msg
	}
	v := appearanceView{
		page:       a.page(c, "Appearance"),
		Flash:      f,
		PreviewURL: "/admin/appearance/preview?" + previewQuery(texts, errs),
		Customised: len(st.Saved) > 0,
		Skipped:    st.Skipped,
		CacheAge:   a.cacheAge,
	}
	for _, g := range appearance.Groups {
		fg := fieldGroup{Name: g, ID: "group-" + strings.ReplaceAll(strings.ToLower(g), " ", "-")}
		for _, o := range appearance.Options {
			if o.Group != g {
				continue
			}
			fd := field{Key: o.Key, ID: "opt-" + o.Key, Label: o.Label, Help: o.Help, Kind: kindNames[o.Kind],
				Value: texts[o.Key], Min: o.Min, Max: o.Max, Error: errs[o.Key]}
			if o.Key == "count" {
				fd.Max = min(fd.Max, st.MaxCount)
			}
			if file := o.Text(st.File); file != texts[o.Key] {
				fd.FileValue = displayValue(o, file)
			}
			fd.Checked = fd.Value == "true"
			picked := strings.Split(fd.Value, ",")
			for i, val := range o.Values {
				selected := val == fd.Value
				if o.Kind == appearance.Subset {
					selected = slices.Contains(picked, val)
				}
				fd.Choices = append(fd.Choices, fieldChoice{Value: val, Label: o.ValueLabels[i], Selected: selected})
			}
			fg.Fields = append(fg.Fields, fd)
		}
		v.Groups = append(v.Groups, fg)
	}
	a.render(c, status, "appearance.html", v)
}

// displayValue is an option's text as the page words it.
func displayValue(o appearance.Option, text string) string {
	switch o.Kind {
	case appearance.Switch:
		if text == "true" {
			return "on"
		}
		return "off"
	case appearance.Choice:
		for i, v := range o.Values {
			if v == text {
				return o.ValueLabels[i]
			}
		}
	case appearance.Subset:
		var labels []string
		for i, v := range o.Values {
			if slices.Contains(strings.Split(text, ","), v) {
				labels = append(labels, o.ValueLabels[i])
			}
		}
		return strings.Join(labels, ", ")
	}
	if text == "" {
		return "none"
	}
	return text
}

// previewQuery carries the form's settings to the preview, leaving out the
// refused ones (the preview shows those as saved).
func previewQuery(texts, refused map[string]string) string {
	q := url.Values{}
	for _, o := range appearance.Options {
		if _, bad := refused[o.Key]; !bad {
			q.Set(o.Key, texts[o.Key])
		}
	}
	return q.Encode()
}

// formSettings reads the options from a submitted form (or the preview's
// query) over base: texts are what was sent, per option, and problems name
// the ones refused. A switch is on when its checkbox was sent; a set is its
// checked boxes.
func formSettings(form url.Values, base appearance.Settings) (s appearance.Settings, texts map[string]string, problems appearance.Problems) {
	s, texts = base.Clone(), map[string]string{}
	for _, o := range appearance.Options {
		text := formText(o, form)
		texts[o.Key] = text
		if err := o.Set(&s, text); err != nil {
			problems = append(problems, appearance.Problem{Key: o.Key, Msg: err.Error()})
		}
	}
	return s, texts, problems
}

// saveAppearance keeps the form's settings. A refused field shows the form
// again, with what was typed and why, and saves nothing.
func (a *Admin) saveAppearance(c *gin.Context) {
	ctx := c.Request.Context()
	st, err := a.ops.Appearance(ctx)
	if err != nil {
		c.Error(internal("read the gallery's settings", err))
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		c.Error(&httpError{Status: http.StatusBadRequest, Title: "The form could not be read", Message: "Please reload the page and try again.", cause: err})
		return
	}
	s, texts, problems := formSettings(c.Request.PostForm, st.Current)
	if len(problems) == 0 {
		before := a.embeds()
		var changed []string
		changed, err = a.ops.SaveAppearance(ctx, s)
		var refused appearance.Problems
		switch {
		case errors.As(err, &refused):
			problems = refused
		case errors.Is(err, moderation.ErrNotShownYet):
			a.log.Warn("admin: gallery settings saved; the gallery shows them at its next rebuild", "err", err)
			a.appearanceNotice(c, "warn", "Saved", "Your settings are saved; the gallery could not be rebuilt just now and shows them within a minute.")
			return
		case err != nil:
			c.Error(internal("save the gallery's settings", err))
			return
		case len(changed) == 0:
			a.appearanceNotice(c, "info", "Nothing changed", "The gallery already looks like this.")
			return
		default:
			a.appearanceNotice(c, "ok", "Saved", "The gallery here shows it now; every embed on your site follows within "+a.cacheAge+", with nothing to re-copy."+heightsChanged(before, a.embeds()))
			return
		}
	}
	msg := "The setting marked below needs a change. Nothing was saved."
	if len(problems) > 1 {
		msg = "The " + strconv.Itoa(len(problems)) + " settings marked below need a change. Nothing was saved."
	}
	f := &flash{Kind: "notice", Tone: "bad", Title: "Not saved", Message: msg}
	a.renderAppearance(c, http.StatusUnprocessableEntity, st, texts, problems, f)
}

// resetAppearance forgets the saved settings: the config file's apply.
func (a *Admin) resetAppearance(c *gin.Context) {
	before := a.embeds()
	_, err := a.ops.ResetAppearance(c.Request.Context())
	switch {
	case errors.Is(err, moderation.ErrNotShownYet):
		a.appearanceNotice(c, "warn", "Reset", "The config file's settings apply again; the gallery shows them within a minute.")
	case err != nil:
		c.Error(internal("reset the gallery's settings", err))
	default:
		a.appearanceNotice(c, "ok", "Reset", "The gallery uses the config file's settings again."+heightsChanged(before, a.embeds()))
	}
}

// heightsChanged says, after a save, what became of the space the embeds
// keep: the JS embed's follows by itself (its widget.css), but the height
// written into the iframe snippet, which holds where a site strips its
// script, only by copying the snippet again. "" when neither moved.
func heightsChanged(before, after Embeds) string {
	var msg string
	if before.ReservedDesktop != after.ReservedDesktop || before.ReservedPhone != after.ReservedPhone {
		msg += fmt.Sprintf(" The JavaScript embed now keeps %d px in a 1000 px column (was %d) and %d px on a phone (was %d) while it loads: its stylesheet follows by itself.",
			after.ReservedDesktop, before.ReservedDesktop, after.ReservedPhone, before.ReservedPhone)
	}
	if before.FrameHeight != after.FrameHeight {
		msg += fmt.Sprintf(" The iframe snippet's height, which holds where a site strips its script, is now %d px (was %d): copy the iframe snippet again for such a site.", after.FrameHeight, before.FrameHeight)
	}
	return msg
}

func (a *Admin) appearanceNotice(c *gin.Context, tone, title, msg string) {
	a.notice(c, flash{Kind: "notice", Tone: tone, Title: title, Message: msg, Section: "appearance"})
	c.Redirect(http.StatusSeeOther, "/admin/appearance")
}

// appearancePreview is the gallery page with the query's settings over the
// saved ones, for the page's preview frame. A refused value keeps the
// saved one: the form beside it says what is wrong.
func (a *Admin) appearancePreview(c *gin.Context) {
	st, err := a.ops.Appearance(c.Request.Context())
	if err != nil {
		c.Error(internal("read the gallery's settings", err))
		return
	}
	look := st.Current
	q := c.Request.URL.Query()
	for _, o := range appearance.Options {
		// The form sends a switch only when it is on: in a query from
		// the form (any query at all), an absent switch is off.
		if _, sent := q[o.Key]; sent || o.Kind == appearance.Switch && len(q) > 0 {
			_ = o.Set(&look, formText(o, q))
		}
	}
	if look.Count > st.MaxCount {
		look.Count = st.MaxCount
	}
	page, csp, err := a.ops.PreviewGallery(look)
	if err != nil {
		c.Error(internal("show the gallery's preview", err))
		return
	}
	h := c.Writer.Header()
	// This one page is framed by the Appearance page, and runs the
	// gallery's own script under the gallery's policy.
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	c.Data(http.StatusOK, "text/html; charset=utf-8", page)
}

// formText is an option's text as a form or query sends it.
func formText(o appearance.Option, form url.Values) string {
	switch o.Kind {
	case appearance.Switch:
		v := form.Get(o.Key)
		return strconv.FormatBool(v != "" && v != "false")
	case appearance.Subset:
		return strings.Join(form[o.Key], ",")
	}
	return form.Get(o.Key)
}

// cacheAgeText words widget.cache_max_age for the page: "60 seconds".
func cacheAgeText(d time.Duration) string {
	switch {
	case d <= 0:
		return "a minute"
	case d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return plural(int(d/time.Second), "second")
}
