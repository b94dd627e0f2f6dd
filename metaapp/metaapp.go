// Package metaapp answers what Meta's app dashboard calls by itself, server
// to server: the deauthorize callback (the owner removed the app on
// Instagram) and the data-deletion request. Meta signs both with the app
// secret; a request that does not verify changes nothing. Apps must
// register both URLs to go Live.
package metaapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/store"
	"vitrine/templates"
)

// Paths Meta's app dashboard is given (the README's "Going Live").
const (
	DeauthorizePath  = "/instagram/deauthorize"
	DataDeletionPath = "/instagram/data-deletion"
	DeletionPath     = "/instagram/deletion"
)

// RefusedSignedRequest is the refusal reason of a callback whose
// signed_request does not verify.
const RefusedSignedRequest = "meta_signed_request"

// maxForm bounds a callback's body: one signed_request of a few hundred
// bytes.
const maxForm = 16 << 10

// Connection is what the callbacks do to the connection (*app.App, whose
// operations also tell ops and remove what a deleted token served).
type Connection interface {
	AppRemoved(ctx context.Context, userID string, at time.Time) (bool, error)
	// ForgetAccount returns the username of the account whose token (or
	// parked connection) it deleted, and whether it deleted anything.
	ForgetAccount(ctx context.Context, userID string, at time.Time) (username string, deleted bool, err error)
	// ForgetServed removes what a deleted token of username served (the
	// cached posts, the mirrored files), as after Disconnect: for Meta's
	// retry of a deletion that failed after deleting the token.
	ForgetServed(ctx context.Context, username string) error
}

// Store keeps the deletion confirmations, and tells whose data a deletion
// covers so the activity log can forget it too (*store.Store).
type Store interface {
	SetState(ctx context.Context, key, value string) error
	State(ctx context.Context, key string) (string, bool, error)
	Token(ctx context.Context) (store.Token, error)
	Posts(ctx context.Context, limit int) ([]store.Post, error)
	AnonymiseEvents(ctx context.Context, m store.AccountMentions, replacement string) (int, error)
	// The callbacks already answered, shared by every replica.
	ClaimCallback(ctx context.Context, id string, issuedAt, now, staleBefore time.Time) (store.Callback, bool, error)
	FinishCallback(ctx context.Context, id, claim string, status int, code string) error
	ReleaseCallback(ctx context.Context, id, claim string) error
	PruneCallbacks(ctx context.Context, cutoff time.Time) (int64, error)
}

// Options configure New.
type Options struct {
	// AppSecret is instagram.client_secret: Meta signs with it.
	AppSecret string
	// PublicURL is server.public_url, for the status URL Meta shows.
	PublicURL  string
	Connection Connection
	Store      Store
	// Refused, if set, counts each request that did not verify.
	Refused func(reason string)
	Logger  *slog.Logger
	Now     func() time.Time
}

// App serves the callbacks.
type App struct {
	o          Options
	base       string
	page       *template.Template
	warnedOnce atomic.Bool
}

// New checks o.
func New(o Options) (*App, error) {
	if o.Connection == nil || o.Store == nil {
		return nil, errors.New("metaapp: Connection and Store are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	page, err := templates.MetaApp()
	if err != nil {
		return nil, err
	}
	return &App{o: o, base: strings.TrimRight(o.PublicURL, "/"), page: page}, nil
}

// Register mounts the three routes. They are public and take no cookie:
// Meta's servers call the first two, and anyone may follow the link the
// third is.
func (a *App) Register(r gin.IRouter) {
	r.POST(DeauthorizePath, a.deauthorize)
	r.POST(DataDeletionPath, a.dataDeletion)
	r.GET(DeletionPath, a.deletionStatus)
}

// verified reads and checks the signed_request, answering 400 itself when
// it does not verify.
func (a *App) verified(c *gin.Context) (notice, bool) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxForm)
	n, err := parseSignedRequest(c.PostForm("signed_request"), a.o.AppSecret, a.o.Now())
	if err != nil {
		if a.o.Refused != nil {
			a.o.Refused(RefusedSignedRequest)
		}
		// Anyone can post here; say it once, the metric counts the rest.
		if a.warnedOnce.CompareAndSwap(false, true) {
			a.o.Logger.Warn("metaapp: refused a callback whose signed_request does not verify (logged once)",
				"path", c.Request.URL.Path, "ip", c.ClientIP())
		}
		c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
		return notice{}, false
	}
	return n, true
}

func (a *App) deauthorize(c *gin.Context) {
	if n, ok := a.verified(c); ok {
		a.once(c, DeauthorizePath, n, a.appRemoved)
	}
}

func (a *App) appRemoved(ctx context.Context, n notice) (string, error) {
	flagged, err := a.o.Connection.AppRemoved(ctx, n.UserID, n.IssuedAt)
	if err != nil {
		a.o.Logger.Error("metaapp: deauthorize", "err", err)
		return "", errors.New("could not record the deauthorization; Meta will retry")
	}
	a.o.Logger.Warn("metaapp: Meta reports the app was removed on Instagram", "connected_account", flagged)
	return "", nil
}

// deletionKey is where a confirmation is kept: the code maps to when the
// request was handled and what it did, and to nothing about whose it was.
func deletionKey(code string) string { return "metaapp.deletion." + code }

// pendingKey keeps a deletion of userID's data that has begun and is not
// confirmed yet (pendingDeletion).
func pendingKey(userID string) string { return "metaapp.deletion-pending." + userID }

// pendingDeletion is what a deletion needs to finish once the token is
// gone: whose the account was, and what of it the activity log may quote.
// It is written before the token is deleted and removed once Meta's
// confirmation is saved, so that a failure in between (removing the posts,
// anonymising the log, saving the confirmation) is finished by Meta's
// retry, which would otherwise find no token and "nothing to delete". It
// holds only what it must (ids, links, each caption's first words) for as
// long as it must.
type pendingDeletion struct {
	Username string `json:"username"`
	// Token: the connected token is deleted, and what it served goes;
	// otherwise only what was kept of an account not connected (a parked
	// connection, its name).
	Token bool          `json:"token,omitempty"`
	Posts []pendingPost `json:"posts,omitempty"`
}

type pendingPost struct {
	ID        string   `json:"id"`
	Permalink string   `json:"permalink,omitempty"`
	Quote     string   `json:"quote,omitempty"` // the caption's beginning, as the log quotes it
	Children  []string `json:"children,omitempty"`
}

// quoteRunes is how much of a caption a pending deletion keeps: more than
// the log's quotes are matched on.
const quoteRunes = 40

func newPendingDeletion(username string, posts []store.Post) pendingDeletion {
	pd := pendingDeletion{Username: username, Token: true}
	for _, p := range posts {
		pp := pendingPost{ID: p.ID, Permalink: p.Permalink, Quote: string([]rune(p.Caption)[:min(len([]rune(p.Caption)), quoteRunes)])}
		for _, c := range p.Children {
			pp.Children = append(pp.Children, c.ID)
		}
		pd.Posts = append(pd.Posts, pp)
	}
	return pd
}

// posts are the posts as AccountMentions matches them.
func (pd pendingDeletion) posts() []store.Post {
	out := make([]store.Post, len(pd.Posts))
	for i, pp := range pd.Posts {
		out[i] = store.Post{ID: pp.ID, Permalink: pp.Permalink, Caption: pp.Quote}
		for _, c := range pp.Children {
			out[i].Children = append(out[i].Children, store.Child{ID: c})
		}
	}
	return out
}

// pending reads userID's pending deletion; ok is false when there is none.
func (a *App) pending(ctx context.Context, userID string) (pd pendingDeletion, ok bool, err error) {
	raw, found, err := a.o.Store.State(ctx, pendingKey(userID))
	if err != nil || !found || raw == "" {
		return pendingDeletion{}, false, err
	}
	if err := json.Unmarshal([]byte(raw), &pd); err != nil {
		return pendingDeletion{}, false, fmt.Errorf("metaapp: pending deletion: %w", err)
	}
	return pd, true, nil
}

func (a *App) setPending(ctx context.Context, userID string, pd pendingDeletion) error {
	b, err := json.Marshal(pd)
	if err != nil {
		return err
	}
	return a.o.Store.SetState(context.WithoutCancel(ctx), pendingKey(userID), string(b))
}

var codeRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// confirmation is what a confirmation code stands for. Outcome says what
// the request actually did, in words the status page shows as they are.
type confirmation struct {
	At      time.Time `json:"at"`
	Deleted bool      `json:"deleted"`
	Outcome string    `json:"outcome"`
}

// Outcomes of a data-deletion request that changed nothing.
const (
	outcomeNoAccount    = "nothing to delete: no account connected"
	outcomeOtherAccount = "nothing to delete: not the connected account"
	outcomeOlderNotice  = "nothing to delete: notice older than the current connection"
)

// outcomeNotConnected is a deletion of an account not connected now: a
// connection of it waiting for confirmation, or its name, kept since it
// was connected before, and the activity log's mentions of it.
const outcomeNotConnected = "deleted: what was kept of an account not connected now (a connection waiting for confirmation, or its name and the activity log's mentions of it); no posts were cached"

func deletedOutcome(posts int) string {
	switch posts {
	case 0:
		return "deleted: token removed; no posts were cached"
	case 1:
		return "deleted: token, 1 post and its images removed"
	}
	return "deleted: token, " + strconv.Itoa(posts) + " posts and their images removed"
}

func (cf confirmation) encode() string {
	b, _ := json.Marshal(cf) // plain fields: can't fail
	return string(b)
}

// decodeConfirmation reads a stored confirmation. Earlier versions stored
// only the time, when every request was assumed to have deleted something:
// such a record comes back with no outcome rather than that assumption.
func decodeConfirmation(v string) confirmation {
	var cf confirmation
	if err := json.Unmarshal([]byte(v), &cf); err == nil {
		return cf
	}
	t, _ := time.Parse(time.RFC3339, v)
	return confirmation{At: t}
}

// anonymisedEntry replaces the activity log's entries about an account
// whose data Meta asked to delete.
const anonymisedEntry = "Details removed: this entry was about an Instagram account whose data Meta asked to delete."

// postEventKinds are the activity log's kinds whose entries quote a post
// without saying whose (the admin's hide and pin decisions): all of them go,
// as one may quote a post no longer cached.
var postEventKinds = []string{"moderation"}

func (a *App) dataDeletion(c *gin.Context) {
	if n, ok := a.verified(c); ok {
		a.once(c, DataDeletionPath, n, a.deleteData)
	}
}

// deleteData does what the request asks and returns the confirmation code
// of what that was.
func (a *App) deleteData(ctx context.Context, n notice) (string, error) {
	cf, err := a.forget(ctx, n)
	if err != nil {
		a.o.Logger.Error("metaapp: data deletion", "err", err)
		return "", errors.New("could not delete the data; Meta will retry")
	}
	code := newCode()
	if err := a.o.Store.SetState(context.WithoutCancel(ctx), deletionKey(code), cf.encode()); err != nil {
		a.o.Logger.Error("metaapp: record deletion", "err", err)
		return "", errors.New("could not record the deletion; Meta will retry")
	}
	// Confirmed: nothing left to finish. Left behind, the record would
	// only make a later request finish this one again, which removes
	// nothing more.
	if err := a.o.Store.SetState(context.WithoutCancel(ctx), pendingKey(n.UserID), ""); err != nil {
		a.o.Logger.Warn("metaapp: clear the pending deletion", "err", err)
	}
	a.o.Logger.Warn("metaapp: data deletion requested by Meta", "outcome", cf.Outcome, "confirmation_code", code)
	return code, nil
}

// forget does what a data-deletion request asks, and says what that was.
func (a *App) forget(ctx context.Context, n notice) (confirmation, error) {
	tok, err := a.o.Store.Token(ctx)
	switch {
	case errors.Is(err, store.ErrNoToken):
	case err != nil && !errors.Is(err, store.ErrUndecryptable): // whose it is is still known
		return confirmation{}, err
	}
	tok.AccessToken = ""
	pending, resuming, err := a.pending(ctx, n.UserID)
	if err != nil {
		return confirmation{}, err
	}
	// What identifies the account in the activity log must be read, and
	// kept, before the deletion takes it away.
	var posts []store.Post
	marked := false
	if tok.UserID != "" && tok.UserID == n.UserID {
		if posts, err = a.o.Store.Posts(ctx, 0); err != nil {
			return confirmation{}, err
		}
		if err := a.setPending(ctx, n.UserID, newPendingDeletion(tok.Username, posts)); err != nil {
			return confirmation{}, err
		}
		marked = true
	}
	username, deleted, err := a.o.Connection.ForgetAccount(ctx, n.UserID, n.IssuedAt)
	if err != nil {
		return confirmation{}, err
	}
	tokenDeleted := marked
	switch {
	case deleted && !marked:
		// Not the connected account: a parked connection of it, or its
		// name kept since it was disconnected. Its name is known now.
		if err := a.setPending(ctx, n.UserID, pendingDeletion{Username: username}); err != nil {
			return confirmation{}, err
		}
	case !deleted && resuming:
		// An earlier attempt deleted the token (or the rest) and failed
		// after: finish it. What the token served goes, unless another
		// account is connected now, whose sync has replaced it.
		if pending.Token && tok.UserID == "" {
			if err := a.o.Connection.ForgetServed(ctx, pending.Username); err != nil {
				return confirmation{}, err
			}
		}
		username, deleted, posts, tokenDeleted = pending.Username, true, pending.posts(), pending.Token
	case !deleted && marked:
		// A notice older than the connection: nothing to finish.
		if err := a.o.Store.SetState(context.WithoutCancel(ctx), pendingKey(n.UserID), ""); err != nil {
			return confirmation{}, err
		}
	}
	cf := confirmation{At: a.o.Now().UTC().Truncate(time.Second), Deleted: deleted}
	switch {
	case deleted:
		// After ForgetAccount, so its own entry naming the account goes
		// too; and whatever Meta does with the answer, once the data is
		// gone the log follows.
		// The username is the deleted token's: the connected one's, or a
		// parked connection's while another account is connected.
		m := store.AccountMentions{UserID: n.UserID, Username: username, Posts: posts}
		if tokenDeleted || tok.UserID == "" {
			// Every post-quoting entry is this account's, or a former
			// one's; with another account connected, they may be its.
			m.Kinds = postEventKinds
		}
		if _, err := a.o.Store.AnonymiseEvents(context.WithoutCancel(ctx), m, anonymisedEntry); err != nil {
			return confirmation{}, err
		}
		cf.Outcome = deletedOutcome(len(posts))
		if !tokenDeleted {
			cf.Outcome = outcomeNotConnected
		}
	case tok.UserID == "":
		cf.Outcome = outcomeNoAccount
	case tok.UserID != n.UserID:
		cf.Outcome = outcomeOtherAccount
	default: // the connection's own rule: it started after Meta signed this
		cf.Outcome = outcomeOlderNotice
	}
	return cf, nil
}

type deletionView struct {
	Code    string
	Found   bool
	Deleted bool
	Outcome string // "" for a record older than outcomes
	DoneAt  string
}

func (a *App) deletionStatus(c *gin.Context) {
	code := c.Query("code")
	v := deletionView{}
	status := http.StatusNotFound
	if codeRE.MatchString(code) {
		stored, ok, err := a.o.Store.State(c.Request.Context(), deletionKey(code))
		if err != nil {
			a.o.Logger.Error("metaapp: read deletion", "err", err)
			c.String(http.StatusInternalServerError, "Could not read the deletion status; try again later.\n")
			return
		}
		if ok {
			cf := decodeConfirmation(stored)
			v = deletionView{Code: code, Found: true, Deleted: cf.Deleted, Outcome: cf.Outcome, DoneAt: doneWords(cf.At)}
			status = http.StatusOK
		}
	}
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	if err := a.page.ExecuteTemplate(c.Writer, "deletion.html", v); err != nil {
		a.o.Logger.Error("metaapp: render deletion page", "err", err)
	}
}

func doneWords(t time.Time) string {
	if t.IsZero() {
		return "an unrecorded date"
	}
	return t.UTC().Format("2 January 2006, 15:04 UTC")
}

func newCode() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return hex.EncodeToString(b)
}
