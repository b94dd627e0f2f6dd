package connection

import (
	"context"
	"errors"
	"time"

	"vitrine/store"
)

// A connection finished without the admin's session (the phone hand-off)
// is proven only by its OAuth state, which anyone holding it could use.
// When it is not the connected account, the token is parked: kept aside,
// sealed in the store, until the owner confirms it on the dashboard,
// discards it, or ParkedFor passes.

// ParkedFor is how long a parked connection waits for the owner.
const ParkedFor = time.Hour

// ErrNothingParked means no connection waits for confirmation: none was
// parked, it lapsed, or it was confirmed or discarded already.
var ErrNothingParked = errors.New("no Instagram connection waits for confirmation")

// Parked is a connection that waits for the owner's confirmation until
// Until. Account carries no access token.
type Parked struct {
	Account store.Token
	Until   time.Time
}

// Park keeps tok, as Exchange returned it, aside instead of connecting it,
// replacing any connection parked before, and records that it waits. The
// connected token and the gallery stay as they are.
func (c *Connection) Park(ctx context.Context, tok store.Token) (Parked, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), connectTimeout)
	defer cancel()
	until := c.now().Add(ParkedFor)
	if err := c.st.ParkToken(ctx, tok, until); err != nil {
		err = &StepError{StepSave, err}
		c.logFailure(err)
		return Parked{}, err
	}
	c.log.Warn("connection: an Instagram connection finished without the admin's session waits for confirmation", "token", tok)
	c.rememberName(ctx, tok)
	c.event(ctx, "parked", store.LevelWarn, "Connecting @"+tok.Username+" ("+AccountTypeWords(tok.AccountType)+
		") was finished in a browser that isn't signed in to Vitrine, so it waits for your confirmation here until "+
		until.UTC().Format("15:04 UTC")+". Nothing changed until then.")
	tok.AccessToken = ""
	return Parked{Account: tok, Until: until}, nil
}

// Parked returns the connection that waits for confirmation; ok is false
// when there is none. One that lapsed, or that this secret key can't
// open, is removed and counts as none.
func (c *Connection) Parked(ctx context.Context) (p Parked, ok bool, err error) {
	pt, ok, err := c.parked(ctx)
	if !ok {
		return Parked{}, false, err
	}
	pt.Token.AccessToken = ""
	return Parked{Account: pt.Token, Until: pt.Until}, true, nil
}

func (c *Connection) parked(ctx context.Context) (store.ParkedToken, bool, error) {
	p, err := c.st.ParkedToken(ctx)
	switch {
	case errors.Is(err, store.ErrNoParkedToken):
		return store.ParkedToken{}, false, nil
	case errors.Is(err, store.ErrUndecryptable):
		c.log.Warn("connection: a parked Instagram connection can't be decrypted; discarding it", "err", err)
		return store.ParkedToken{}, false, c.st.DiscardParkedToken(ctx)
	case err != nil:
		return store.ParkedToken{}, false, err
	case !c.now().Before(p.Until):
		if err := c.st.DiscardParkedToken(ctx); err != nil {
			return store.ParkedToken{}, false, err
		}
		c.log.Info("connection: a parked Instagram connection lapsed", "token", p.Token)
		c.event(ctx, "parked", store.LevelInfo, "The connection of @"+p.Token.Username+
			" that waited for your confirmation lapsed; nothing changed.")
		return store.ParkedToken{}, false, nil
	}
	return p, true, nil
}

// ConfirmParked connects the parked token, replacing any earlier one, as
// Save does; ErrNothingParked when none waits. The token returned has no
// access token.
func (c *Connection) ConfirmParked(ctx context.Context) (store.Token, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), connectTimeout)
	defer cancel()
	p, ok, err := c.parked(ctx)
	if err != nil {
		return store.Token{}, err
	}
	if !ok {
		return store.Token{}, ErrNothingParked
	}
	now := c.now()
	p.Token.ConnectedAt, p.Token.StatusChangedAt = now, now
	switch err := c.st.SaveParkedToken(ctx, p); {
	case errors.Is(err, store.ErrNoParkedToken): // confirmed, discarded or replaced meanwhile
		return store.Token{}, ErrNothingParked
	case err != nil:
		err = &StepError{StepSave, err}
		c.logFailure(err)
		return store.Token{}, err
	}
	c.connected(ctx, p.Token, ", confirmed on the dashboard")
	p.Token.AccessToken = ""
	return p.Token, nil
}

// DiscardParked forgets the parked token and returns its account's
// username; ErrNothingParked when none waits.
func (c *Connection) DiscardParked(ctx context.Context) (username string, err error) {
	p, ok, err := c.parked(ctx)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrNothingParked
	}
	if err := c.st.DiscardParkedToken(ctx); err != nil {
		return "", err
	}
	c.log.Info("connection: a parked Instagram connection was discarded", "token", p.Token)
	c.event(ctx, "parked", store.LevelInfo, "Discarded the connection of @"+p.Token.Username+
		" that waited for your confirmation; nothing changed.")
	return p.Token.Username, nil
}
