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
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

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
	ForgetAccount(ctx context.Context, userID string, at time.Time) (bool, error)
}

// Store keeps the deletion confirmations (*store.Store).
type Store interface {
	SetState(ctx context.Context, key, value string) error
	State(ctx context.Context, key string) (string, bool, error)
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
	n, ok := a.verified(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	flagged, err := a.o.Connection.AppRemoved(ctx, n.UserID, n.IssuedAt)
	if err != nil {
		a.o.Logger.Error("metaapp: deauthorize", "err", err)
		c.JSON(http.StatusInternalServerError, gin.H{"error": "could not record the deauthorization; Meta will retry"})
		return
	}
	a.o.Logger.Warn("metaapp: Meta reports the app was removed on Instagram", "connected_account", flagged)
	c.JSON(http.StatusOK, gin.H{"ok": true})
}

// deletionKey is where a confirmation is kept: the code maps to when the
// deletion was done, and to nothing about whose it was.
func deletionKey(code string) string { return "metaapp.deletion." + code }

var codeRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func (a *App) dataDeletion(c *gin.Context) {
	n, ok := a.verified(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	deleted, err := a.o.Connection.ForgetAccount(ctx, n.UserID, n.IssuedAt)
	if err != nil {
		a.o.Logger.Error("metaapp: data deletion", "err", err)
		c.JSON(http.StatusInternalServerError, gin.H{"error": "could not delete the data; Meta will retry"})
		return
	}
	code := newCode()
	if err := a.o.Store.SetState(ctx, deletionKey(code), a.o.Now().UTC().Format(time.RFC3339)); err != nil {
		a.o.Logger.Error("metaapp: record deletion", "err", err)
		c.JSON(http.StatusInternalServerError, gin.H{"error": "could not record the deletion; Meta will retry"})
		return
	}
	a.o.Logger.Warn("metaapp: data deletion requested by Meta", "connected_account_deleted", deleted, "confirmation_code", code)
	c.JSON(http.StatusOK, gin.H{"url": a.base + DeletionPath + "?code=" + code, "confirmation_code": code})
}

type deletionView struct {
	Code   string
	Found  bool
	DoneAt string
}

func (a *App) deletionStatus(c *gin.Context) {
	code := c.Query("code")
	v := deletionView{}
	status := http.StatusNotFound
	if codeRE.MatchString(code) {
		at, ok, err := a.o.Store.State(c.Request.Context(), deletionKey(code))
		if err != nil {
			a.o.Logger.Error("metaapp: read deletion", "err", err)
			c.String(http.StatusInternalServerError, "Could not read the deletion status; try again later.\n")
			return
		}
		if ok {
			v = deletionView{Code: code, Found: true, DoneAt: doneWords(at)}
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

func doneWords(stored string) string {
	t, err := time.Parse(time.RFC3339, stored)
	if err != nil {
		return stored
	}
	return t.Format("2 January 2006, 15:04 UTC")
}

func newCode() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return hex.EncodeToString(b)
}
