package admin

import (
	"cmp"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"vitrine/moderation"
	"vitrine/store"
)

// linkDraft is a link the owner typed that was refused: the flash carries
// it back to the form, so nothing typed is lost.
type linkDraft struct {
	Post  string `json:"post"`
	URL   string `json:"url"`
	Label string `json:"label"`
	Error string `json:"error"`
}

// Bounds on what a draft carries back through the session: a refused link
// may be anything, the session is no place for a megabyte of it.
const (
	maxDraftURL   = moderation.MaxLinkURL + 100
	maxDraftLabel = 4 * moderation.MaxLinkLabel
)

// setPostLink is POST /admin/posts/{id}/link with url and label, and
// action=save (an empty url removes the link) or action=remove. The app
// checks the link, saves it, logs it and rebuilds the gallery. A refused
// link changes nothing and says why, in the Posts section with what was
// typed still in the form (or as JSON, for the dashboard's script).
func (a *Admin) setPostLink(c *gin.Context) {
	id, action := c.Param("id"), c.PostForm("action")
	rawURL, label := c.PostForm("url"), c.PostForm("label")
	switch action {
	case "save":
	case "remove":
		rawURL, label = "", ""
	default:
		c.Error(&httpError{Status: http.StatusBadRequest, Title: "Unknown action",
			Message: "A post's link can be saved or removed."})
		return
	}
	ctx := c.Request.Context()
	if len(id) > 100 {
		c.Error(noSuchPost())
		return
	}
	if _, found, err := a.store.Post(ctx, id); err != nil {
		c.Error(internal("read the post", err))
		return
	} else if !found {
		c.Error(noSuchPost())
		return
	}
	changed, err := a.ops.SetPostLink(ctx, id, rawURL, label)
	var refused *moderation.LinkError
	notShown := errors.Is(err, moderation.ErrNotShownYet)
	switch {
	case notShown:
	case errors.As(err, &refused):
		a.refuseLink(c, id, rawURL, label, refused)
		return
	case errors.Is(err, store.ErrUnknownPost): // removed by a sync meanwhile
		c.Error(noSuchPost())
		return
	case err != nil:
		c.Error(internal("save the link", err))
		return
	}

	title, msg, tone := "Link saved", "Visitors see its button on the post in your gallery.", "ok"
	switch {
	case rawURL == "" && changed:
		title, msg = "Link removed", "The post no longer has a button in your gallery."
	case rawURL == "":
		title, msg = "No link", "The post had no link."
	case !changed:
		msg = "The post had this link already."
	}
	if changed {
		a.log.Info("admin: post link changed", "post", id, "removed", rawURL == "")
	}
	if notShown {
		a.log.Error("admin: rebuild the gallery after a link", "err", err)
		msg, tone = "Saved, but the gallery could not be updated yet; it will be after the next sync.", "warn"
	}
	if wantsJSON(c) {
		c.JSON(http.StatusOK, gin.H{"ok": true, "changed": changed, "message": msg})
		return
	}
	a.notice(c, flash{Kind: "notice", Tone: tone, Title: title, Message: msg, Section: "posts"})
	c.Redirect(http.StatusSeeOther, "/admin#post-"+id)
}

// refuseLink answers a refused link: 400 with the reason as JSON, or back
// to the dashboard with the reason and the draft.
func (a *Admin) refuseLink(c *gin.Context, id, rawURL, label string, refused *moderation.LinkError) {
	if wantsJSON(c) {
		c.JSON(http.StatusBadRequest, gin.H{"error": "Link not saved", "message": refused.Message, "field": refused.Field})
		return
	}
	a.notice(c, flash{Kind: "notice", Tone: "bad", Title: "Link not saved", Message: refused.Message, Section: "posts",
		Draft: &linkDraft{Post: id, URL: shortText(rawURL, maxDraftURL), Label: shortText(label, maxDraftLabel), Error: refused.Field}})
	c.Redirect(http.StatusSeeOther, "/admin#post-"+id)
}

// linkCard is a post's link as its card in the Posts section shows it:
// the one saved, or a refused draft with what was wrong.
type linkCard struct {
	Saved store.Link
	// URL and Label fill the form: the saved link, or a refused draft.
	URL, Label string
	// Default is the button's words when Label is "".
	Default string
	// Open shows the form rather than the summary; BadField names the
	// field a refused draft got wrong ("url" or "label"), Problem says why.
	Open              bool
	BadField, Problem string
}

func newLinkCard(l store.Link) linkCard {
	return linkCard{Saved: l, URL: l.URL, Label: l.Label, Default: moderation.DefaultLinkLabel}
}

// Shown is the saved button's words as the gallery writes them in English.
func (l linkCard) Shown() string { return cmp.Or(l.Saved.Label, l.Default) }

// keepDraft puts a refused link back into its post's form.
func (v *postsView) keepDraft(f *flash) {
	if v == nil || f == nil || f.Draft == nil {
		return
	}
	for i := range v.Posts {
		if v.Posts[i].ID == f.Draft.Post {
			l := &v.Posts[i].Link
			l.URL, l.Label, l.Open, l.BadField, l.Problem = f.Draft.URL, f.Draft.Label, true, f.Draft.Error, f.Message
		}
	}
}
