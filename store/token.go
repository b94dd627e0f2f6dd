package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// TokenStatus is where the token stands in its life cycle.
type TokenStatus string

const (
	StatusValid       TokenStatus = "valid"
	StatusRefreshDue  TokenStatus = "refresh_due"
	StatusNeedsReauth TokenStatus = "needs_reauth"
	// StatusNone is never stored; it names the state "no token row" for
	// displays. Token returns ErrNoToken then.
	StatusNone TokenStatus = "none"
)

func (s TokenStatus) storable() bool {
	return s == StatusValid || s == StatusRefreshDue || s == StatusNeedsReauth
}

// ErrNoToken means no Instagram account is connected.
var ErrNoToken = errors.New("store: no token")

// Token is the owner's long-lived Instagram token with what we know about
// the account. AccessToken is plaintext: String, GoString, Format and
// LogValue leave it out, and JSON skips it, so logging or rendering a Token
// can't leak it.
type Token struct {
	AccessToken string `json:"-"`

	UserID, Username, Name, AccountType, ProfilePictureURL string
	MediaCount, FollowersCount                             int
	Biography                                              string
	Scopes                                                 string

	// IssuedAt is when this token was obtained or last refreshed; Instagram
	// refuses to refresh a token younger than 24 hours.
	IssuedAt  time.Time
	ExpiresAt time.Time

	Status          TokenStatus
	StatusReason    string // words for people, e.g. "password changed"
	StatusChangedAt time.Time

	LastCheckedAt   time.Time // zero when never checked
	LastRefreshedAt time.Time // zero when never refreshed
	LastError       string    // last transient failure, words only

	ConnectedAt time.Time
	UpdatedAt   time.Time
}

// String describes the token without its secret.
func (t Token) String() string {
	return fmt.Sprintf("token{user=@%s id=%s status=%s expires=%s}",
		t.Username, t.UserID, t.Status, formatTime(t.ExpiresAt))
}

// GoString is what %#v prints: the identifying fields, never the secret.
func (t Token) GoString() string {
	return fmt.Sprintf("store.Token{UserID:%q, Username:%q, Status:%q, ExpiresAt:%q, AccessToken:\"[redacted]\"}",
		t.UserID, t.Username, t.Status, formatTime(t.ExpiresAt))
}

// Format makes every fmt verb (%d and %x included, which would otherwise
// print the fields) go through String or GoString.
func (t Token) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = f.Write([]byte(t.GoString()))
	case verb == 'q':
		_, _ = f.Write([]byte(strconv.Quote(t.String())))
	default:
		_, _ = f.Write([]byte(t.String()))
	}
}

// LogValue makes slog log the token's identity and state, never its secret.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("user", "@"+t.Username),
		slog.String("user_id", t.UserID),
		slog.String("status", string(t.Status)),
		slog.String("expires", formatTime(t.ExpiresAt)),
	)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// tokenRow is the single row of the tokens table. The CHECK keeps it single.
type tokenRow struct {
	ID int `gorm:"primaryKey;autoIncrement:false;check:token_single_row,id = 1"`

	CipherVersion uint8  `gorm:"not null"`
	Nonce         []byte `gorm:"not null"`
	Ciphertext    []byte `gorm:"not null"`

	UserID            string `gorm:"not null"`
	Username          string `gorm:"not null"`
	Name              string `gorm:"not null"`
	AccountType       string `gorm:"not null"`
	ProfilePictureURL string `gorm:"not null"`
	MediaCount        int    `gorm:"not null"`
	FollowersCount    int    `gorm:"not null"`
	Biography         string `gorm:"not null;default:''"`
	Scopes            string `gorm:"not null"`

	IssuedAt  time.Time `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null"`

	Status          string    `gorm:"not null"`
	StatusReason    string    `gorm:"not null"`
	StatusChangedAt time.Time `gorm:"not null"`

	LastCheckedAt   *time.Time
	LastRefreshedAt *time.Time
	LastError       string `gorm:"not null"`

	ConnectedAt time.Time `gorm:"not null"`
	UpdatedAt   time.Time `gorm:"not null"`
}

func (tokenRow) TableName() string { return "tokens" }

const tokenRowID = 1

// SaveToken stores t as the one token, replacing any previous one in a
// single transaction: after a crash the table holds either the old token or
// the new one, whole. Empty fields get defaults: Status valid, and now for
// IssuedAt, StatusChangedAt and ConnectedAt. UpdatedAt is always now.
func (s *Store) SaveToken(ctx context.Context, t Token) error {
	row, err := s.newTokenRow(t)
	if err != nil {
		return fmt.Errorf("store: save token: %w", err)
	}
	if err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return saveTokenRow(tx, &row) }); err != nil {
		return fmt.Errorf("store: save token: %w", err)
	}
	return nil
}

// newTokenRow is t as SaveToken stores it, its access token sealed.
func (s *Store) newTokenRow(t Token) (tokenRow, error) {
	if t.AccessToken == "" {
		return tokenRow{}, errors.New("empty access token")
	}
	if t.Status == "" {
		t.Status = StatusValid
	}
	if !t.Status.storable() {
		return tokenRow{}, fmt.Errorf("unknown status %q", t.Status)
	}
	now := s.now()
	version, nonce, ciphertext := s.aead.seal(t.AccessToken)
	return tokenRow{
		ID:                tokenRowID,
		CipherVersion:     version,
		Nonce:             nonce,
		Ciphertext:        ciphertext,
		UserID:            t.UserID,
		Username:          t.Username,
		Name:              t.Name,
		AccountType:       t.AccountType,
		ProfilePictureURL: t.ProfilePictureURL,
		MediaCount:        t.MediaCount,
		FollowersCount:    t.FollowersCount,
		Biography:         t.Biography,
		Scopes:            t.Scopes,
		IssuedAt:          orNow(t.IssuedAt, now),
		ExpiresAt:         t.ExpiresAt.UTC(),
		Status:            string(t.Status),
		StatusReason:      t.StatusReason,
		StatusChangedAt:   orNow(t.StatusChangedAt, now),
		LastCheckedAt:     nullTime(t.LastCheckedAt),
		LastRefreshedAt:   nullTime(t.LastRefreshedAt),
		LastError:         t.LastError,
		ConnectedAt:       orNow(t.ConnectedAt, now),
		UpdatedAt:         now,
	}, nil
}

// saveTokenRow replaces the token row within tx.
func saveTokenRow(tx *gorm.DB, row *tokenRow) error {
	if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(row).Error; err != nil {
		return err
	}
	// Connecting (maybe another account) changes whose gallery it is.
	return bumpGeneration(tx)
}

// Token returns the stored token with AccessToken decrypted, or ErrNoToken.
// When the key can't decrypt it the error wraps ErrUndecryptable and the
// returned Token still carries everything but AccessToken, so a status page
// can say whose token it was.
func (s *Store) Token(ctx context.Context) (Token, error) {
	var row tokenRow
	err := s.db.WithContext(ctx).Where("id = ?", tokenRowID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Token{}, ErrNoToken
	}
	if err != nil {
		return Token{}, fmt.Errorf("store: token: %w", err)
	}
	t := Token{
		UserID:            row.UserID,
		Username:          row.Username,
		Name:              row.Name,
		AccountType:       row.AccountType,
		ProfilePictureURL: row.ProfilePictureURL,
		MediaCount:        row.MediaCount,
		FollowersCount:    row.FollowersCount,
		Biography:         row.Biography,
		Scopes:            row.Scopes,
		IssuedAt:          row.IssuedAt,
		ExpiresAt:         row.ExpiresAt,
		Status:            TokenStatus(row.Status),
		StatusReason:      row.StatusReason,
		StatusChangedAt:   row.StatusChangedAt,
		LastCheckedAt:     timeOrZero(row.LastCheckedAt),
		LastRefreshedAt:   timeOrZero(row.LastRefreshedAt),
		LastError:         row.LastError,
		ConnectedAt:       row.ConnectedAt,
		UpdatedAt:         row.UpdatedAt,
	}
	plain, err := s.aead.open(row.CipherVersion, row.Nonce, row.Ciphertext)
	if err != nil {
		return t, err
	}
	t.AccessToken = plain
	return t, nil
}

// DeleteToken forgets the token (disconnect). Deleting when there is none
// is not an error.
func (s *Store) DeleteToken(ctx context.Context) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("id = ?", tokenRowID).Delete(&tokenRow{})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return bumpGeneration(tx)
	})
	if err != nil {
		return fmt.Errorf("store: delete token: %w", err)
	}
	return nil
}

// UpdateTokenStatus moves the token to status with a reason for people.
// changed is false, and nothing is written, when the token already has that
// status: callers alert only when changed is true, once per transition.
func (s *Store) UpdateTokenStatus(ctx context.Context, status TokenStatus, reason string) (changed bool, err error) {
	if !status.storable() {
		return false, fmt.Errorf("store: update token status: unknown status %q", status)
	}
	now := s.now()
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&tokenRow{}).
			Where("id = ? AND status <> ?", tokenRowID, string(status)).
			Updates(map[string]any{
				"status":            string(status),
				"status_reason":     reason,
				"status_changed_at": now,
				"updated_at":        now,
			})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected > 0 {
			changed = true
			return nil
		}
		return tokenExists(tx)
	})
	if errors.Is(err, ErrNoToken) {
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("store: update token status: %w", err)
	}
	return changed, nil
}

// MarkTokenChecked records a validation at at (now when zero) and the last
// transient failure ("" after a success). It leaves Status alone.
func (s *Store) MarkTokenChecked(ctx context.Context, at time.Time, lastErr string) error {
	err := s.updateToken(ctx, map[string]any{
		"last_checked_at": orNow(at, s.now()),
		"last_error":      lastErr,
	})
	if err != nil && !errors.Is(err, ErrNoToken) {
		return fmt.Errorf("store: mark token checked: %w", err)
	}
	return err
}

// Account is what Instagram says about the token's account today. The
// profile picture's URL is signed and expires within days, so validate
// stores a fresh one for the mirror to fetch.
type Account struct {
	Username, Name, AccountType, ProfilePictureURL string
	MediaCount, FollowersCount                     int
	Biography                                      string
}

// UpdateAccount stores a fresh profile of the account userID. When another
// account was connected in the meantime it changes nothing and returns
// ErrNoToken, as it does without a token: a slow validate must not paint
// the old account's name over the new one's.
func (s *Store) UpdateAccount(ctx context.Context, userID string, a Account) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var before tokenRow
		err := tx.Select("username", "name", "biography", "followers_count").Where("id = ? AND user_id = ?", tokenRowID, userID).Take(&before).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrNoToken
		}
		if err != nil {
			return err
		}
		err = tx.Model(&tokenRow{}).Where("id = ?", tokenRowID).Updates(map[string]any{
			"username":            a.Username,
			"name":                a.Name,
			"account_type":        a.AccountType,
			"profile_picture_url": a.ProfilePictureURL,
			"media_count":         a.MediaCount,
			"followers_count":     a.FollowersCount,
			"biography":           a.Biography,
			"updated_at":          s.now(),
		}).Error
		if err != nil {
			return err
		}
		// Validate stores a fresh profile every time; only what the
		// gallery's header may show makes a new generation.
		if before.Username == a.Username && before.Name == a.Name &&
			before.Biography == a.Biography && before.FollowersCount == a.FollowersCount {
			return nil
		}
		return bumpGeneration(tx)
	})
	if errors.Is(err, ErrNoToken) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: update account: %w", err)
	}
	return nil
}

// AvatarMediaID is the media id of the mirrored profile picture among the
// Images: jobs writes it, widget shows it. Instagram's ids are digits.
const AvatarMediaID = "avatar"

// ReplaceAccessToken stores a refreshed token in one transaction, keeping
// the account details, and sets LastRefreshedAt to now. It leaves Status
// alone: the caller moves it (e.g. refresh_due → valid) with
// UpdateTokenStatus so that the transition is reported once.
func (s *Store) ReplaceAccessToken(ctx context.Context, accessToken string, issuedAt, expiresAt time.Time) error {
	if accessToken == "" {
		return errors.New("store: replace access token: empty access token")
	}
	now := s.now()
	version, nonce, ciphertext := s.aead.seal(accessToken)
	err := s.updateToken(ctx, map[string]any{
		"cipher_version":    version,
		"nonce":             nonce,
		"ciphertext":        ciphertext,
		"issued_at":         orNow(issuedAt, now),
		"expires_at":        expiresAt.UTC(),
		"last_refreshed_at": now,
	})
	if err != nil && !errors.Is(err, ErrNoToken) {
		return fmt.Errorf("store: replace access token: %w", err)
	}
	return err
}

// updateToken applies fields (plus updated_at) to the token row in one
// transaction, or returns ErrNoToken.
func (s *Store) updateToken(ctx context.Context, fields map[string]any) error {
	fields["updated_at"] = s.now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&tokenRow{}).Where("id = ?", tokenRowID).Updates(fields)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNoToken
		}
		return nil
	})
}

func tokenExists(tx *gorm.DB) error {
	var n int64
	if err := tx.Model(&tokenRow{}).Where("id = ?", tokenRowID).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return ErrNoToken
	}
	return nil
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.UTC()
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
