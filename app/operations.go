package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"vitrine/connection"
	"vitrine/feed"
	"vitrine/jobs"
	"vitrine/mediadir"
	"vitrine/moderation"
	"vitrine/store"
)

// The operations. Each is one plain method that calls the parts in order;
// whoever starts it (a schedule, a command, a click, Meta) gets the same.

// Status is the connection's one status (connection.Status).
func (a *App) Status(ctx context.Context) (connection.Status, error) {
	return a.Connection.Status(ctx)
}

// Connect turns an authorization code into the owner's token
// (connection.Connect), then, in the background: the old token's failures
// stop holding the jobs back, alerts are evaluated (an open re-auth alert
// resolves), and a sync starts at once.
func (a *App) Connect(ctx context.Context, code string) (store.Token, error) {
	tok, err := a.Connection.Connect(ctx, code)
	if err != nil {
		return tok, err
	}
	a.Jobs.Go(a.afterConnect)
	return tok, nil
}

// ConnectElsewhere finishes a connection whose callback came without the
// admin's session (the phone hand-off). Only the OAuth state vouches for
// it, and whoever holds that could bring a code of their own account, so
// it connects only the account already connected (a token renewed, then
// as Connect). Any other account, or any when nothing is connected, is
// parked (connection.Park) for the owner to confirm on the dashboard,
// and ops are alerted; parked reports which happened. The token returned
// has no access token.
func (a *App) ConnectElsewhere(ctx context.Context, code string) (tok store.Token, parked bool, err error) {
	tok, err = a.Connection.Exchange(ctx, code)
	if err != nil {
		return store.Token{}, false, err
	}
	cs, err := a.Connection.Status(ctx)
	if err != nil {
		return store.Token{}, false, err
	}
	if cs.Connected && tok.UserID != "" && cs.Account.UserID == tok.UserID {
		if tok, err = a.Connection.Save(ctx, tok); err != nil {
			return store.Token{}, false, err
		}
		a.Jobs.Go(a.afterConnect)
		return tok, false, nil
	}
	p, err := a.Connection.Park(ctx, tok)
	if err != nil {
		return store.Token{}, false, err
	}
	username := p.Account.Username
	a.Jobs.Go(func(ctx context.Context) { a.Alerts.ConnectionParked(ctx, username) })
	return p.Account, true, nil
}

// Parked is the connection that waits for the owner's confirmation, for
// the dashboard: its account's username and until when it waits. ok is
// false when none does (one that lapsed is removed).
func (a *App) Parked(ctx context.Context) (username string, expires time.Time, ok bool, err error) {
	p, ok, err := a.Connection.Parked(ctx)
	if !ok {
		return "", time.Time{}, false, err
	}
	return p.Account.Username, p.Until, true, nil
}

// ConfirmParked connects the parked token (connection.ConfirmParked),
// then, as Connect does, in the background: afterConnect. It returns
// connection.ErrNothingParked when none waits.
func (a *App) ConfirmParked(ctx context.Context) (store.Token, error) {
	tok, err := a.Connection.ConfirmParked(ctx)
	if err != nil {
		return tok, err
	}
	a.Jobs.Go(a.afterConnect)
	return tok, nil
}

// Thumbnail is the file of the smallest mirrored JPEG of mediaID, for the
// dashboard's Posts section: it shows hidden posts too, whose pictures the
// gallery's /media/ no longer serves. ok is false when none is mirrored.
func (a *App) Thumbnail(ctx context.Context, mediaID string) (path string, ok bool, err error) {
	im, ok, err := a.Store.Image(ctx, mediaID)
	if err != nil || !ok || len(im.Variants) == 0 {
		return "", false, err
	}
	path, ok = mediadir.New(a.Config.MediaDir()).Resolve(im.Variants[0].Path)
	return path, ok, nil
}

// DiscardParked forgets the parked token; connection.ErrNothingParked
// when none waits. Nothing else changes.
func (a *App) DiscardParked(ctx context.Context) error {
	_, err := a.Connection.DiscardParked(ctx)
	return err
}

// afterConnect is what follows a newly saved token.
func (a *App) afterConnect(ctx context.Context) {
	a.Jobs.ForgetFailures(ctx, jobs.JobValidate, jobs.JobRefresh, jobs.JobSync)
	a.Alerts.Evaluate(ctx)
	if err := a.Jobs.RunWaiting(ctx, jobs.JobSync); err != nil {
		a.Log.Warn("app: the sync after connecting failed", "err", err)
	}
}

// Validate checks the token with Instagram; ops hear of a change.
func (a *App) Validate(ctx context.Context) error {
	return a.alertAfter(ctx, a.Connection.Validate(ctx))
}

// Refresh renews the token when it is due; ops hear of a change.
func (a *App) Refresh(ctx context.Context) error {
	return a.alertAfter(ctx, a.Connection.Refresh(ctx))
}

// alertAfter evaluates the alerts after a look at the token (anything but
// "nothing is connected"), so ops hear of a change within the run that
// found it.
func (a *App) alertAfter(ctx context.Context, err error) error {
	if !jobs.Idle(err) {
		a.Alerts.Evaluate(ctx)
	}
	return err
}

// Sync reads the owner's posts and mirrors their files (feed.Sync), then
// shows them: the gallery is rebuilt at once. A failed sync leaves the
// last good gallery; whether it is stale is the sync job's recorded run,
// which the store shares with every process. progress, if set, hears how
// far the mirror is.
func (a *App) Sync(ctx context.Context, progress func(done, total int)) (feed.Report, error) {
	rep, err := a.Feed.Sync(ctx, progress)
	a.afterSync(ctx, err)
	if errors.Is(err, feed.ErrNoSpace) {
		// The posts are synced; those whose images are mirrored show now.
		if rerr := a.Gallery.Rebuild(context.WithoutCancel(ctx)); rerr != nil {
			a.Log.Error("app: widget rebuild after sync", "err", rerr)
		}
		return rep, err
	}
	if err != nil {
		return rep, a.alertAfter(ctx, err)
	}
	if err := a.Gallery.Rebuild(context.WithoutCancel(ctx)); err != nil {
		a.Log.Error("app: widget rebuild after sync", "err", err)
	}
	a.addWebP(ctx)
	releaseMemory()
	return rep, nil
}

// webpBudget is how long a sync goes on making WebP files once its JPEGs
// are shown: some 300 images' worth on one core of a small host. A first
// sync of many posts leaves the rest to the next few syncs.
const webpBudget = 5 * time.Minute

// addWebP makes the WebP files the mirrored images lack (feed.AddWebP),
// when widget.webp asks for them, and shows them: the gallery is rebuilt
// when any were made. A failure leaves the JPEGs serving, as before.
func (a *App) addWebP(ctx context.Context) {
	if !a.Config.Widget.WebP {
		return
	}
	rep, err := a.Feed.AddWebP(ctx, webpBudget)
	if err != nil {
		a.Log.Warn("app: making WebP files failed; the images are served as JPEG", "err", err)
		return
	}
	if rep.Added == 0 {
		return
	}
	if err := a.Gallery.Rebuild(context.WithoutCancel(ctx)); err != nil {
		a.Log.Error("app: widget rebuild after making WebP files", "err", err)
	}
}

// SyncNow runs Sync as the sync job, recorded as its run and under its
// lease (never alongside a scheduled one on any replica), and waits: the
// command line's `vitrine sync`.
func (a *App) SyncNow(ctx context.Context, progress func(done, total int)) (rep feed.Report, err error) {
	err = a.Jobs.RunAs(ctx, jobs.JobSync, func(ctx context.Context) (err error) {
		rep, err = a.Sync(ctx, progress)
		return err
	})
	return rep, err
}

// Disconnect deletes the token, then everything it served: the cached
// posts, the mirrored files (feed.Forget) and what the gallery holds in
// memory. It returns the username that was connected ("" when none was).
func (a *App) Disconnect(ctx context.Context) (string, error) {
	username, err := a.Connection.Disconnect(ctx)
	if err != nil {
		return "", err
	}
	return username, a.forget(ctx, username)
}

// forget removes what a deleted token served, and says so in the log the
// dashboard shows.
func (a *App) forget(ctx context.Context, username string) error {
	ctx = context.WithoutCancel(ctx)
	who := ""
	if username != "" {
		who = " @" + username
	}
	err := a.Feed.Forget(ctx)
	if err == nil {
		err = a.Gallery.Rebuild(ctx)
	}
	if err != nil {
		a.event(ctx, "disconnected", store.LevelError, "Disconnected"+who+"; the token was deleted, but removing the cached posts and images failed: "+err.Error())
		return err
	}
	a.event(ctx, "disconnected", store.LevelWarn, "Disconnected"+who+"; the token, the cached posts and the mirrored images were deleted")
	return nil
}

// moderationRebuildTimeout bounds the gallery's rebuild after a decision:
// not the request's limit, so a tab closed mid-request still gets the
// change to visitors now.
const moderationRebuildTimeout = 30 * time.Second

// Moderate records the owner's decision about a post (the pin limit is
// moderation.MaxPinned) and, when it changed anything, rebuilds the
// gallery before returning, so visitors see it by the time the dashboard
// does. A decision saved whose rebuild failed returns true and an error
// that is moderation.ErrNotShownYet.
func (a *App) Moderate(ctx context.Context, postID string, action moderation.Action) (changed bool, err error) {
	switch action {
	case moderation.Hide:
		changed, err = a.Store.HidePost(ctx, postID)
	case moderation.Show:
		changed, err = a.Store.ShowPost(ctx, postID)
	case moderation.Pin:
		changed, err = a.Store.PinPost(ctx, postID, moderation.MaxPinned)
	case moderation.Unpin:
		changed, err = a.Store.UnpinPost(ctx, postID)
	default:
		return false, fmt.Errorf("app: moderate: unknown action %q", action)
	}
	if err != nil || !changed {
		return changed, err
	}
	return true, a.rebuildAfterDecision(ctx)
}

// SetPostLink attaches the owner's link to a post, checked by
// moderation.CheckLink (a *moderation.LinkError when refused, and nothing
// is saved), or removes it when rawURL is "". A change is recorded in the
// activity log and the gallery is rebuilt before returning, as Moderate
// does; a change saved whose rebuild failed returns true and an error
// that is moderation.ErrNotShownYet.
func (a *App) SetPostLink(ctx context.Context, postID, rawURL, label string) (changed bool, err error) {
	var link store.Link
	if strings.TrimSpace(rawURL) != "" {
		if link, err = moderation.CheckLink(rawURL, label); err != nil {
			return false, err
		}
	}
	post, cached, err := a.Store.Post(ctx, postID)
	if err != nil {
		return false, err
	}
	if !cached {
		return false, store.ErrUnknownPost
	}
	if changed, err = a.Store.SetPostLink(ctx, postID, link); err != nil || !changed {
		return changed, err
	}
	if link.URL == "" {
		a.event(ctx, "moderation", store.LevelInfo, "Removed the link of post "+describePost(post)+".")
	} else {
		a.event(ctx, "moderation", store.LevelInfo, "Linked post "+describePost(post)+" to "+link.URL+
			" (“"+cmp.Or(link.Label, moderation.DefaultLinkLabel)+"”).")
	}
	return true, a.rebuildAfterDecision(ctx)
}

// rebuildAfterDecision rebuilds the gallery after one of the owner's
// decisions, within its own time limit.
func (a *App) rebuildAfterDecision(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), moderationRebuildTimeout)
	defer cancel()
	if err := a.Gallery.Rebuild(rctx); err != nil {
		return fmt.Errorf("%w: %w", moderation.ErrNotShownYet, err)
	}
	return nil
}

// describePost names a post for the activity log: its id and the start of
// its caption, which the owner recognises.
func describePost(p store.Post) string {
	c := strings.Join(strings.Fields(p.Caption), " ")
	if r := []rune(c); len(r) > 40 {
		c = strings.TrimSpace(string(r[:40])) + "…"
	}
	if c == "" {
		return p.ID
	}
	return p.ID + " (“" + c + "”)"
}

// AppRemoved handles Meta's deauthorize notice for userID, signed at `at`
// (connection.AppRemoved), and has ops told in the background: Meta waits
// for the answer. It reports whether the notice was about the connected
// account.
func (a *App) AppRemoved(ctx context.Context, userID string, at time.Time) (bool, error) {
	flagged, err := a.Connection.AppRemoved(ctx, userID, at)
	if flagged {
		a.Jobs.Go(a.Alerts.Evaluate)
	}
	return flagged, err
}

// ForgetAccount handles Meta's data-deletion request for userID, signed at
// `at` (connection.ForgetAccount): the account's parked connection is
// discarded, and when it is the connected account, its token is deleted
// and then everything it served, as Disconnect does. It returns the
// account's username and whether there was anything to delete.
func (a *App) ForgetAccount(ctx context.Context, userID string, at time.Time) (username string, deleted bool, err error) {
	f, err := a.Connection.ForgetAccount(ctx, userID, at)
	if err != nil || !f.Any() {
		return "", false, err
	}
	if f.Connected {
		return f.Username, true, a.forget(ctx, f.Username)
	}
	return f.Username, true, nil
}

// ForgetServed removes what a deleted token of username served, as
// Disconnect does after deleting it: for Meta's retry of a data deletion
// that failed after deleting the token.
func (a *App) ForgetServed(ctx context.Context, username string) error {
	return a.forget(ctx, username)
}

func (a *App) event(ctx context.Context, kind, level, msg string) {
	if err := a.Store.AddEvent(ctx, kind, level, msg); err != nil && !errors.Is(err, context.Canceled) {
		a.Log.Warn("app: add event", "kind", kind, "err", err)
	}
}
