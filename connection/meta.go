package connection

import (
	"context"
	"errors"
	"time"

	"vitrine/store"
)

// ReasonAppRemoved is the needs-reauth reason when Meta reports that the
// owner removed the app on Instagram.
const ReasonAppRemoved = "the app was removed on Instagram"

// ownedBefore returns the stored token when it belongs to userID and was
// connected no later than at. A notice Meta signed before the owner
// connected again is about the old authorization, so a late or replayed
// one must not touch the new connection.
func (c *Connection) ownedBefore(ctx context.Context, userID string, at time.Time) (store.Token, bool, error) {
	tok, err := c.st.Token(ctx)
	switch {
	case errors.Is(err, store.ErrNoToken):
		return store.Token{}, false, nil
	case err != nil && !errors.Is(err, store.ErrUndecryptable): // whose it was is still known
		return store.Token{}, false, err
	}
	if userID == "" || tok.UserID != userID || tok.ConnectedAt.Truncate(time.Second).After(at) {
		return store.Token{}, false, nil
	}
	return tok, true, nil
}

// AppRemoved handles Meta's deauthorize notice, signed at `at`, for the
// Instagram user userID: when that is the connected account, its token
// needs re-authorization at once. It reports whether it was.
func (c *Connection) AppRemoved(ctx context.Context, userID string, at time.Time) (bool, error) {
	tok, ok, err := c.ownedBefore(ctx, userID, at)
	if err != nil || !ok {
		return false, err
	}
	if tok.Status == store.StatusNeedsReauth && tok.StatusReason == ReasonAppRemoved {
		return true, nil // told twice
	}
	if err := c.markNeedsReauth(ctx, ReasonAppRemoved); err != nil && !errors.Is(err, ErrNeedsReauth) {
		return false, err
	}
	return true, nil
}

// accountNameKey keeps the username of the account userID, once connected
// or parked: the activity log names it ("Connected @…"), and Meta may ask
// to delete its data after it was disconnected, when no token says whose
// entries those are. It goes with that deletion.
func accountNameKey(userID string) string { return "connection.account-name." + userID }

// rememberName keeps tok's username under its user id; a failure is only
// logged, as connecting must not fail for it.
func (c *Connection) rememberName(ctx context.Context, tok store.Token) {
	if tok.UserID == "" || tok.Username == "" {
		return
	}
	if err := c.st.SetState(context.WithoutCancel(ctx), accountNameKey(tok.UserID), tok.Username); err != nil {
		c.log.Warn("connection: remember the account's name", "err", err)
	}
}

// Forgotten is what a data-deletion request removed.
type Forgotten struct {
	// Username is the account's; "" when nothing was removed.
	Username string
	// Connected: its connected token was deleted. What the token served
	// goes next, as after Disconnect.
	Connected bool
	// Parked: a connection of the account waiting for the owner's
	// confirmation was discarded; confirmed, it would have connected the
	// account again.
	Parked bool
	// Named: neither, but the account was connected before; Username is
	// its name, which the activity log may still hold.
	Named bool
}

// Any reports whether anything was removed.
func (f Forgotten) Any() bool { return f.Connected || f.Parked || f.Named }

// ForgetAccount handles Meta's data-deletion request, signed at `at`, for
// userID: a connection of that account parked for the owner's
// confirmation is discarded, and when it is the connected account, its
// token is deleted; the caller then removes what the token served, as
// after Disconnect. Either made after Meta signed the request is kept, as
// the owner's newer authorization. Another account's parked connection
// stays. An account neither connected nor parked now, but connected
// before, has only its kept name left: that goes, and the caller's log
// entries about it (Named).
func (c *Connection) ForgetAccount(ctx context.Context, userID string, at time.Time) (Forgotten, error) {
	var f Forgotten
	if userID == "" {
		return f, nil
	}
	_, owned, err := c.ownedBefore(ctx, userID, at)
	if err != nil {
		return f, err
	}
	p, parked, err := c.parked(ctx)
	if err != nil {
		return f, err
	}
	theirs := parked && p.Token.UserID == userID && !p.Token.ConnectedAt.Truncate(time.Second).After(at)
	name, known, err := c.st.State(ctx, accountNameKey(userID))
	if err != nil {
		return f, err
	}
	if !owned && !theirs {
		// Connected or parked now by a newer authorization: its name stays.
		current, err := c.st.Token(ctx)
		if err != nil && !errors.Is(err, store.ErrNoToken) && !errors.Is(err, store.ErrUndecryptable) {
			return f, err
		}
		if !known || name == "" || current.UserID == userID || parked && p.Token.UserID == userID {
			return f, nil
		}
		// Disconnected before: only its name is left, in the log and here.
		c.event(ctx, "deletion", store.LevelWarn, "Meta asked, on the account owner's behalf, to delete the data of an Instagram account connected before.")
		if err := c.st.SetState(ctx, accountNameKey(userID), ""); err != nil {
			return f, err
		}
		return Forgotten{Username: name, Named: true}, nil
	}
	c.event(ctx, "deletion", store.LevelWarn, "Meta asked, on the account owner's behalf, to delete this Instagram account's data.")
	if theirs {
		if err := c.st.DiscardParkedToken(ctx); err != nil {
			return f, err
		}
		f.Username, f.Parked = p.Token.Username, true
		c.log.Info("connection: a parked Instagram connection discarded: Meta asked to delete the account's data")
	}
	if owned {
		username, err := c.deleteToken(ctx)
		if err != nil {
			return f, err
		}
		f.Username, f.Connected = username, true
	}
	if err := c.st.SetState(ctx, accountNameKey(userID), ""); err != nil {
		return f, err
	}
	return f, nil
}
