package connection

import (
	"context"
	"errors"

	"vitrine/store"
)

// Status is where the connection stands now. Account carries everything
// known about the connected account but never the access token.
type Status struct {
	Connected bool
	// State is store.StatusNone when nothing is connected, otherwise
	// valid, refresh_due or needs_reauth. A token past its expiry, or one
	// the secret key can't decrypt, is needs_reauth whatever the jobs
	// last recorded: it can't be used either way.
	State   store.TokenStatus
	Reason  string // words for people; "" when there is nothing to say
	Account store.Token
}

// NeedsAttention is the one rule for "a person must act": nothing is
// connected, or the token can't be used until someone reconnects. The
// dashboard's banner, `vitrine status`'s exit code and the token metric all
// follow it.
func (s Status) NeedsAttention() bool {
	return !s.Connected || s.State == store.StatusNeedsReauth
}

// Reasons the status gives for what the stored state does not say.
const (
	reasonUndecryptable = "the stored token can't be decrypted (the secret key changed)"
	reasonExpired       = "expired"
)

// Status reads the connection's state.
func (c *Connection) Status(ctx context.Context) (Status, error) {
	tok, err := c.st.Token(ctx)
	switch {
	case errors.Is(err, store.ErrNoToken):
		return Status{State: store.StatusNone}, nil
	case errors.Is(err, store.ErrUndecryptable):
		// Whose token it was is still known; it must be reconnected.
		return Status{Connected: true, State: store.StatusNeedsReauth, Reason: reasonUndecryptable, Account: tok}, nil
	case err != nil:
		return Status{}, err
	}
	tok.AccessToken = ""
	s := Status{Connected: true, State: tok.Status, Reason: tok.StatusReason, Account: tok}
	if s.State != store.StatusNeedsReauth && expired(tok, c.now()) {
		s.State, s.Reason = store.StatusNeedsReauth, reasonExpired
	}
	return s, nil
}

// UsableToken returns the stored token, access token included, for a call
// to Instagram on the owner's behalf (validate, refresh, the sync). It
// returns ErrNotConnected or ErrNeedsReauth (with the recorded reason) when
// there is none to use.
func (c *Connection) UsableToken(ctx context.Context) (store.Token, error) {
	tok, err := c.st.Token(ctx)
	if errors.Is(err, store.ErrNoToken) {
		return tok, ErrNotConnected
	}
	if err != nil {
		return tok, err
	}
	if tok.Status == store.StatusNeedsReauth {
		return tok, needsReauth(tok.StatusReason)
	}
	return tok, nil
}
