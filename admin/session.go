package admin

// What the admin's pages read from and keep in the session, which auth
// holds: whether the owner is signed in, the forms' CSRF token, and the
// flash that carries an outcome to the next page.

import (
	"encoding/json"

	"github.com/gin-gonic/gin"

	"vitrine/auth"
)

// page is what every admin template gets.
type page struct {
	Title    string
	Nonce    string
	CSRF     string
	SignedIn bool
	// Refresh, when set, reloads the page after that many seconds.
	Refresh int
}

func (a *Admin) page(c *gin.Context, title string) page {
	return page{Title: title, Nonce: c.GetString(nonceKey), CSRF: auth.CSRFToken(c), SignedIn: auth.SignedIn(c)}
}

// flash is a one-shot message kept in the session for the next page.
type flash struct {
	Kind    string `json:"kind"` // "notice" (dashboard), "connected", "declined", "failed" (popup result)
	Tone    string `json:"tone"` // ok, info, warn, bad
	Title   string `json:"title"`
	Message string `json:"message,omitempty"`
	Step    string `json:"step,omitempty"`
	Status  int    `json:"status,omitempty"`
	// Section, when "posts", shows a dashboard notice in the Posts section,
	// where the form that caused it sent the browser back to.
	Section string `json:"section,omitempty"`
	// Draft is a post's link that was refused, for its form.
	Draft *linkDraft `json:"draft,omitempty"`
}

func (a *Admin) setFlash(c *gin.Context, f flash) error {
	b, _ := json.Marshal(f)
	return a.auth.SetFlash(c, string(b))
}

func (a *Admin) takeFlash(c *gin.Context) (*flash, error) {
	raw, err := a.auth.TakeFlash(c)
	if err != nil || raw == "" {
		return nil, err
	}
	var f flash
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return nil, nil // a flash from an older version: drop it
	}
	return &f, nil
}
