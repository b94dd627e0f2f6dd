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

// ForgetAccount handles Meta's data-deletion request, signed at `at`, for
// userID: when that is the connected account, its token is deleted, and it
// returns its username and true; the caller then removes what the token
// served, as after Disconnect.
func (c *Connection) ForgetAccount(ctx context.Context, userID string, at time.Time) (username string, deleted bool, err error) {
	_, ok, err := c.ownedBefore(ctx, userID, at)
	if err != nil || !ok {
		return "", false, err
	}
	c.event(ctx, "deletion", store.LevelWarn, "Meta asked, on the account owner's behalf, to delete this Instagram account's data.")
	if username, err = c.Disconnect(ctx); err != nil {
		return "", false, err
	}
	return username, true, nil
}
