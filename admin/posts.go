package admin

import (
	"context"
	"errors"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/jobs"
	"vitrine/moderation"
	"vitrine/store"
)

// postsView is the dashboard's Posts section: the cached posts in the
// gallery's order (pinned first), hidden ones where they would be.
type postsView struct {
	Posts   []postCard
	Pinned  int
	Hidden  int
	MaxPins int
}

type postCard struct {
	ID        string
	Caption   string // one short line
	Alt       string
	Permalink string
	Kind      string // "Photo", "Video", "Album"
	Date      timeView
	Thumb     string // our mirrored copy, "" when there is none
	Hidden    bool
	Pinned    bool
	// Note says what hiding did to the images, for a hidden post.
	Note string
	Link linkCard
}

// postsSection reads what the Posts section shows.
func (a *Admin) postsSection(ctx context.Context) (*postsView, error) {
	posts, err := a.store.Posts(ctx, 0)
	if err != nil {
		return nil, err
	}
	decisions, err := a.store.Moderation(ctx)
	if err != nil {
		return nil, err
	}
	images, err := a.store.Images(ctx)
	if err != nil {
		return nil, err
	}
	thumbs := make(map[string]string, len(images))
	for _, im := range images {
		if u := thumbURL(im); u != "" {
			thumbs[im.MediaID] = u
		}
	}
	byID := make(map[string]store.Moderation, len(decisions))
	for _, d := range decisions {
		byID[d.PostID] = d
	}
	now := a.now()
	v := &postsView{MaxPins: moderation.MaxPinned}
	for _, p := range moderation.Order(posts, decisions) {
		d := byID[p.ID]
		card := postCard{
			ID: p.ID, Caption: shortText(p.Caption, 90), Alt: shortText(orDefault(p.AltText, p.Caption), 120),
			Permalink: p.Permalink, Kind: kindOf(p.MediaType), Date: timeOf(p.Timestamp, now),
			Thumb: thumbs[p.ID], Hidden: d.Hidden(), Pinned: d.Pinned(), Link: newLinkCard(d.Link),
		}
		if card.Hidden {
			if card.Thumb != "" {
				card.Thumb = hiddenThumbURL(p.ID)
			}
			v.Hidden++
			card.Note = hiddenNote(d.HiddenAt, now, card.Thumb != "")
		}
		if card.Pinned {
			v.Pinned++
		}
		v.Posts = append(v.Posts, card)
	}
	return v, nil
}

// thumbURL is the public URL of the image's smallest copy: 320 px, or
// the source's own width when it was narrower.
func thumbURL(im store.Image) string {
	if len(im.Variants) == 0 {
		return ""
	}
	return "/media/" + im.MediaID + "/" + strconv.Itoa(im.Variants[0].Width) + ".jpg"
}

// hiddenThumbURL is where the signed-in owner sees a hidden post's
// thumbnail (thumbnail), the public copy being no longer served.
func hiddenThumbURL(postID string) string { return "/admin/posts/" + postID + "/thumb" }

// thumbnail serves a post's smallest mirrored picture to the signed-in
// owner. One range at most: several get the whole file, as /media/ does.
func (a *Admin) thumbnail(c *gin.Context) {
	path, ok, err := a.ops.Thumbnail(c.Request.Context(), c.Param("id"))
	if err != nil {
		c.Error(err)
		return
	}
	f, err := os.Open(path)
	if !ok || err != nil {
		c.Error(notFound())
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		c.Error(notFound())
		return
	}
	if strings.Contains(c.GetHeader("Range"), ",") {
		c.Request.Header.Del("Range")
	}
	c.Header("Content-Type", "image/jpeg")
	c.Header("Cache-Control", "private, max-age=3600")
	http.ServeContent(c.Writer, c.Request, "", st.ModTime(), f)
}

func kindOf(mediaType string) string {
	switch mediaType {
	case "VIDEO":
		return "Video"
	case "CAROUSEL_ALBUM":
		return "Album"
	}
	return "Photo"
}

// hiddenNote says how long the hidden post's images stay, or that they
// went.
func hiddenNote(hiddenAt, now time.Time, mirrored bool) string {
	note := "Hidden " + ago(now.Sub(hiddenAt))
	switch left := moderation.ImagesGoAt(hiddenAt).Sub(now); {
	case !mirrored:
		return note + " · images deleted"
	case left > 24*time.Hour:
		// Whole days, rounded up: "in 7 days" right after hiding.
		return note + " · images deleted in " + plural(int(math.Ceil(left.Hours()/24)), "day")
	case left > 0:
		return note + " · images deleted in " + span(left)
	default:
		return note + " · images deleted at the next sync"
	}
}

// postAction is one of the Posts section's buttons: its words.
type postAction struct {
	event string // "Hid post", …
	title string // flash title
}

var moderations = map[moderation.Action]postAction{
	moderation.Hide:  {event: "Hid post", title: "Post hidden"},
	moderation.Show:  {event: "Showed post", title: "Post shown"},
	moderation.Pin:   {event: "Pinned post", title: "Post pinned"},
	moderation.Unpin: {event: "Unpinned post", title: "Post unpinned"},
}

func noSuchPost() *httpError {
	return &httpError{Status: http.StatusNotFound, Title: "No such post",
		Message: "This post is not among the cached posts; a sync may have removed it. The dashboard lists the ones there are."}
}

// moderatePost is POST /admin/posts/{id} with action=hide|show|pin|unpin:
// it records the decision, rebuilds the gallery so visitors see it at
// once, and answers like the other forms (303 to the dashboard with a
// flash, or JSON when asked). Doing what is done already changes nothing
// and says so.
func (a *Admin) moderatePost(c *gin.Context) {
	id, action := c.Param("id"), moderation.Action(c.PostForm("action"))
	m, ok := moderations[action]
	if !ok {
		c.Error(&httpError{Status: http.StatusBadRequest, Title: "Unknown action",
			Message: "A post can be hidden, shown, pinned or unpinned."})
		return
	}
	ctx := c.Request.Context()
	if len(id) > 100 {
		c.Error(noSuchPost())
		return
	}
	post, found, err := a.store.Post(ctx, id)
	if err != nil {
		c.Error(internal("read the post", err))
		return
	}
	if !found {
		c.Error(noSuchPost())
		return
	}
	changed, err := a.ops.Moderate(ctx, id, action)
	notShown := errors.Is(err, moderation.ErrNotShownYet)
	switch {
	case notShown:
	case errors.Is(err, store.ErrUnknownPost): // removed by a sync meanwhile
		c.Error(noSuchPost())
		return
	case errors.Is(err, store.ErrTooManyPins):
		c.Error(&httpError{Status: http.StatusConflict, Title: "Only " + strconv.Itoa(moderation.MaxPinned) + " posts can be pinned",
			Message: "Unpin one of the pinned posts first, then pin this one."})
		return
	case err != nil:
		c.Error(internal("save the change", err))
		return
	}

	msg, tone := a.moderationMessage(ctx, action, post, changed), "ok"
	if changed {
		a.event(c, "moderation", store.LevelInfo, m.event+" "+describePost(post)+".")
		a.log.Info("admin: post moderated", "action", action, "post", id)
	}
	if notShown {
		a.log.Error("admin: rebuild the gallery after moderating", "err", err)
		msg, tone = "Saved, but the gallery could not be updated yet; it will be after the next sync.", "warn"
	}
	if wantsJSON(c) {
		d := a.decisionOf(ctx, id)
		c.JSON(http.StatusOK, gin.H{"ok": true, "changed": changed, "message": msg,
			"post": gin.H{"id": id, "hidden": d.Hidden(), "pinned": d.Pinned()}})
		return
	}
	a.notice(c, flash{Kind: "notice", Tone: tone, Title: m.title, Message: msg, Section: "posts"})
	c.Redirect(http.StatusSeeOther, "/admin#posts")
}

func (a *Admin) decisionOf(ctx context.Context, id string) store.Moderation {
	decisions, err := a.store.Moderation(ctx)
	if err != nil {
		a.log.Warn("admin: read moderation", "err", err)
	}
	for _, d := range decisions {
		if d.PostID == id {
			return d
		}
	}
	return store.Moderation{PostID: id}
}

// moderationMessage is what the admin is told after action.
func (a *Admin) moderationMessage(ctx context.Context, action moderation.Action, post store.Post, changed bool) string {
	switch action {
	case moderation.Hide:
		if !changed {
			return "It was hidden already."
		}
		return "It no longer shows in your gallery. Its images stay on this server for " + span(moderation.HiddenImagesKept) +
			", so showing it again within that time costs nothing."
	case moderation.Show:
		if !changed {
			return "It was not hidden."
		}
		if _, ok, err := a.store.Image(ctx, post.ID); err == nil && !ok {
			// Hidden long enough for its images to go: fetch them again.
			if a.jobs != nil {
				if _, err := a.jobs.RunInBackground(jobs.JobSync); err != nil {
					a.log.Warn("admin: start a sync for a post shown again", "err", err)
				}
			}
			return "Its images were deleted while it was hidden; it is back in your gallery once a sync has fetched them again."
		}
		return "It is back in your gallery."
	case moderation.Pin:
		if !changed {
			return "It was pinned already."
		}
		return "It now comes first in your gallery."
	default:
		if !changed {
			return "It was not pinned."
		}
		return "It takes its place by date again."
	}
}

// describePost names a post for the audit log: its id and the start of
// its caption, which the owner recognises.
func describePost(p store.Post) string {
	if c := shortText(p.Caption, 40); c != "" {
		return p.ID + " (“" + c + "”)"
	}
	return p.ID
}
