package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// AdminSession is one signed-in admin browser. The store never sees the
// session id itself, only IDHash (a hash the caller computes), so a copy of
// the database cannot be replayed as a cookie. Deleting the row is what
// logging out means: a cookie whose row is gone is worth nothing.
type AdminSession struct {
	IDHash    string
	CSRFToken string // per-session token for the forms' hidden csrf_token
	CreatedAt time.Time
	ExpiresAt time.Time

	// StateHash is the hash of the pending OAuth state ("" when none);
	// StateExpiresAt bounds its life.
	StateHash      string
	StateExpiresAt time.Time

	// Flash is a one-shot message for the next page (opaque to the store).
	Flash string

	// Credential names the password the session was signed in with (a
	// fingerprint of its hash, opaque to the store): a session is worth
	// nothing once the password changes.
	Credential string
}

type adminSessionRow struct {
	IDHash         string    `gorm:"primaryKey"`
	CSRFToken      string    `gorm:"not null"`
	CreatedAt      time.Time `gorm:"not null"`
	ExpiresAt      time.Time `gorm:"not null;index"`
	StateHash      string    `gorm:"not null"`
	StateExpiresAt *time.Time
	Flash          string `gorm:"not null"`
	Credential     string `gorm:"not null;default:''"`
}

func (adminSessionRow) TableName() string { return "admin_sessions" }

// CreateAdminSession stores a new session.
func (s *Store) CreateAdminSession(ctx context.Context, a AdminSession) error {
	if a.IDHash == "" || a.CSRFToken == "" {
		return errors.New("store: create admin session: empty id hash or csrf token")
	}
	row := adminSessionRow{
		IDHash: a.IDHash, CSRFToken: a.CSRFToken,
		CreatedAt: orNow(a.CreatedAt, s.now()), ExpiresAt: a.ExpiresAt.UTC(),
		StateHash: a.StateHash, StateExpiresAt: nullTime(a.StateExpiresAt), Flash: a.Flash,
		Credential: a.Credential,
	}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("store: create admin session: %w", err)
	}
	return nil
}

// AdminSession returns the session with this id hash; ok is false when there
// is none. Expiry is the caller's business: it compares ExpiresAt with its
// own clock.
func (s *Store) AdminSession(ctx context.Context, idHash string) (a AdminSession, ok bool, err error) {
	var row adminSessionRow
	err = s.db.WithContext(ctx).Where("id_hash = ?", idHash).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return AdminSession{}, false, nil
	}
	if err != nil {
		return AdminSession{}, false, fmt.Errorf("store: admin session: %w", err)
	}
	return row.session(), true, nil
}

func (row adminSessionRow) session() AdminSession {
	return AdminSession{
		IDHash: row.IDHash, CSRFToken: row.CSRFToken, CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt,
		StateHash: row.StateHash, StateExpiresAt: timeOrZero(row.StateExpiresAt), Flash: row.Flash,
		Credential: row.Credential,
	}
}

// DeleteAdminSession forgets a session (logout, rotation). Deleting one that
// does not exist is not an error.
func (s *Store) DeleteAdminSession(ctx context.Context, idHash string) error {
	if err := s.db.WithContext(ctx).Where("id_hash = ?", idHash).Delete(&adminSessionRow{}).Error; err != nil {
		return fmt.Errorf("store: delete admin session: %w", err)
	}
	return nil
}

// DeleteExpiredAdminSessions removes sessions that expired before now and
// returns how many.
func (s *Store) DeleteExpiredAdminSessions(ctx context.Context, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ?", now.UTC()).Delete(&adminSessionRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: delete expired admin sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// SetAdminSessionState records the pending OAuth state's hash, replacing any
// earlier one (only the latest Generate can complete).
func (s *Store) SetAdminSessionState(ctx context.Context, idHash, stateHash string, expires time.Time) error {
	if stateHash == "" {
		return errors.New("store: set admin session state: empty state hash")
	}
	exp := expires.UTC()
	err := s.updateAdminSession(ctx, idHash, map[string]any{"state_hash": stateHash, "state_expires_at": &exp})
	if err != nil {
		return fmt.Errorf("store: set admin session state: %w", err)
	}
	return nil
}

// ClearAdminSessionState deletes the pending state if it is still stateHash.
// cleared is false when it was not (already used, replaced or never set):
// of two concurrent callbacks with the same state, exactly one clears it.
func (s *Store) ClearAdminSessionState(ctx context.Context, idHash, stateHash string) (cleared bool, err error) {
	if stateHash == "" {
		return false, nil
	}
	res := s.db.WithContext(ctx).Model(&adminSessionRow{}).
		Where("id_hash = ? AND state_hash = ?", idHash, stateHash).
		Updates(map[string]any{"state_hash": "", "state_expires_at": nil})
	if res.Error != nil {
		return false, fmt.Errorf("store: clear admin session state: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// TakeAdminSessionState finds the session whose pending OAuth state is
// stateHash and clears that state, in one transaction: of two callbacks
// carrying it, only one gets the session. ok is false when no session has
// it (never set, already used, or replaced by a later Generate). The
// session returned still shows the state's hash and expiry.
func (s *Store) TakeAdminSessionState(ctx context.Context, stateHash string) (a AdminSession, ok bool, err error) {
	if stateHash == "" {
		return AdminSession{}, false, nil
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row adminSessionRow
		err := tx.Where("state_hash = ?", stateHash).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		res := tx.Model(&adminSessionRow{}).Where("id_hash = ? AND state_hash = ?", row.IDHash, stateHash).
			Updates(map[string]any{"state_hash": "", "state_expires_at": nil})
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		a, ok = row.session(), true
		return nil
	})
	if err != nil {
		return AdminSession{}, false, fmt.Errorf("store: take admin session state: %w", err)
	}
	return a, ok, nil
}

// SetAdminSessionFlash stores a one-shot message for the session's next page.
func (s *Store) SetAdminSessionFlash(ctx context.Context, idHash, flash string) error {
	if err := s.updateAdminSession(ctx, idHash, map[string]any{"flash": flash}); err != nil {
		return fmt.Errorf("store: set admin session flash: %w", err)
	}
	return nil
}

// TakeAdminSessionFlash returns the session's flash and clears it in one
// transaction; "" when there is none.
func (s *Store) TakeAdminSessionFlash(ctx context.Context, idHash string) (string, error) {
	var flash string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row adminSessionRow
		err := tx.Select("flash").Where("id_hash = ?", idHash).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil || row.Flash == "" {
			return err
		}
		flash = row.Flash
		return tx.Model(&adminSessionRow{}).Where("id_hash = ?", idHash).Update("flash", "").Error
	})
	if err != nil {
		return "", fmt.Errorf("store: take admin session flash: %w", err)
	}
	return flash, nil
}

// errNoSession is returned by updateAdminSession when the row is gone.
var errNoSession = errors.New("no such session")

func (s *Store) updateAdminSession(ctx context.Context, idHash string, fields map[string]any) error {
	res := s.db.WithContext(ctx).Model(&adminSessionRow{}).Where("id_hash = ?", idHash).Updates(fields)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errNoSession
	}
	return nil
}
