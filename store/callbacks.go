package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// A callback is one signed request Meta's servers sent (a deauthorize
// notice, a data-deletion request), remembered while its signature would
// still be accepted, so that a replay, to whichever replica, is answered as
// the first one was and changes nothing. The caller names it by a digest
// that identifies no one. The times are the caller's; the store only
// keeps them.
type callbackRow struct {
	ID       string    `gorm:"primaryKey"`
	IssuedAt time.Time `gorm:"not null;index"`
	// Claim names whoever is handling it (a random token), since
	// ClaimedAt; Status is 0 until they finish.
	Claim     string    `gorm:"not null"`
	ClaimedAt time.Time `gorm:"not null"`
	Status    int       `gorm:"not null"`
	Code      string    `gorm:"not null"`
}

func (callbackRow) TableName() string { return "meta_callbacks" }

// Callback is a remembered callback.
type Callback struct {
	ID        string
	IssuedAt  time.Time
	Claim     string // the claim to finish or release it with
	ClaimedAt time.Time
	// Status is the HTTP status the first handling answered, 0 while it
	// is still under way; Code is what it answered with (e.g. a
	// confirmation code), if anything.
	Status int
	Code   string
}

// Done reports whether the callback was handled to the end.
func (c Callback) Done() bool { return c.Status != 0 }

func (r callbackRow) callback() Callback {
	return Callback{ID: r.ID, IssuedAt: r.IssuedAt, Claim: r.Claim, ClaimedAt: r.ClaimedAt, Status: r.Status, Code: r.Code}
}

// ClaimCallback records, in one statement, that callback id (issued at
// issuedAt) is being handled from now on. claimed is true when the caller
// must handle it and then FinishCallback, or ReleaseCallback when that
// failed; the returned Callback carries the claim. Otherwise it was known:
// the Callback is the record, finished or still being handled. A claim
// made before staleBefore and never finished (its process died) is taken
// over, so the callback is not stuck until it is pruned.
func (s *Store) ClaimCallback(ctx context.Context, id string, issuedAt, now, staleBefore time.Time) (cb Callback, claimed bool, err error) {
	if id == "" {
		return Callback{}, false, errors.New("store: claim callback: empty id")
	}
	claim := newClaim()
	now = now.UTC().Truncate(time.Microsecond)
	row := callbackRow{ID: id, IssuedAt: issuedAt.UTC().Truncate(time.Microsecond), Claim: claim, ClaimedAt: now}
	db := s.db.WithContext(ctx)
	// A record pruned or released between the insert and the read makes
	// the callback new again: try once more, then let the caller retry.
	for range 2 {
		res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return Callback{}, false, fmt.Errorf("store: claim callback: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return row.callback(), true, nil
		}
		res = db.Model(&callbackRow{}).Where("id = ? AND status = 0 AND claimed_at < ?", id, staleBefore.UTC()).
			Updates(map[string]any{"claim": claim, "claimed_at": now})
		if res.Error != nil {
			return Callback{}, false, fmt.Errorf("store: claim callback: take over: %w", res.Error)
		}
		var known callbackRow
		err := db.Where("id = ?", id).Take(&known).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			continue
		}
		if err != nil {
			return Callback{}, false, fmt.Errorf("store: claim callback: %w", err)
		}
		return known.callback(), res.RowsAffected == 1 && known.Claim == claim, nil
	}
	return Callback{ID: id}, false, nil
}

// FinishCallback records what the handling under claim answered. A claim
// taken over meanwhile (see ClaimCallback) is left to its new holder.
func (s *Store) FinishCallback(ctx context.Context, id, claim string, status int, code string) error {
	if status == 0 {
		return errors.New("store: finish callback: status 0")
	}
	err := s.db.WithContext(ctx).Model(&callbackRow{}).Where("id = ? AND claim = ? AND status = 0", id, claim).
		Updates(map[string]any{"status": status, "code": code}).Error
	if err != nil {
		return fmt.Errorf("store: finish callback: %w", err)
	}
	return nil
}

// ReleaseCallback forgets a claim whose handling failed, so that Meta's
// retry is handled afresh rather than answered as a replay.
func (s *Store) ReleaseCallback(ctx context.Context, id, claim string) error {
	err := s.db.WithContext(ctx).Where("id = ? AND claim = ? AND status = 0", id, claim).Delete(&callbackRow{}).Error
	if err != nil {
		return fmt.Errorf("store: release callback: %w", err)
	}
	return nil
}

// PruneCallbacks forgets the callbacks issued before cutoff: the caller
// refuses those anyway. It returns how many went.
func (s *Store) PruneCallbacks(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("issued_at < ?", cutoff.UTC()).Delete(&callbackRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: prune callbacks: %w", res.Error)
	}
	return res.RowsAffected, nil
}

func newClaim() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails; see crypto/rand.Read
	return hex.EncodeToString(b)
}
