package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ErrNoParkedToken means no token is parked.
var ErrNoParkedToken = errors.New("store: no parked token")

// ParkedToken is a token kept aside, not connected, until the owner
// confirms it (SaveParkedToken) or discards it, or Until passes. Token
// carries its access token, like Token's.
type ParkedToken struct {
	Token    Token
	ParkedAt time.Time
	Until    time.Time

	// nonce tells this parking from a later one of the same account, so
	// SaveParkedToken saves only the token that was read.
	nonce []byte
}

// parkedRow is the single row of the parked_tokens table: the whole token,
// account details included, serialized and sealed (parkedAAD), so nothing
// of an account the owner has not accepted is readable at rest.
type parkedRow struct {
	ID int `gorm:"primaryKey;autoIncrement:false;check:parked_token_single_row,id = 1"`

	CipherVersion uint8  `gorm:"not null"`
	Nonce         []byte `gorm:"not null"`
	Ciphertext    []byte `gorm:"not null"`

	ParkedAt time.Time `gorm:"not null"`
	Until    time.Time `gorm:"not null"`
}

func (parkedRow) TableName() string { return "parked_tokens" }

// parkedRecord is what the row seals. Token's JSON leaves the access token
// out, so it travels beside it.
type parkedRecord struct {
	AccessToken string `json:"access_token"`
	Token       Token  `json:"token"`
}

// ParkToken keeps t aside until `until`, replacing any token parked
// before. Nothing the gallery shows changes.
func (s *Store) ParkToken(ctx context.Context, t Token, until time.Time) error {
	if t.AccessToken == "" {
		return errors.New("store: park token: empty access token")
	}
	plain, err := json.Marshal(parkedRecord{AccessToken: t.AccessToken, Token: t})
	if err != nil {
		return fmt.Errorf("store: park token: %w", err)
	}
	version, nonce, ciphertext := s.aead.sealFor(parkedAAD, plain)
	clear(plain)
	row := parkedRow{ID: tokenRowID, CipherVersion: version, Nonce: nonce, Ciphertext: ciphertext,
		ParkedAt: s.now(), Until: until.UTC()}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", tokenRowID).Delete(&parkedRow{}).Error; err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return fmt.Errorf("store: park token: %w", err)
	}
	return nil
}

// ParkedToken returns the parked token, access token included, or
// ErrNoParkedToken. Whether Until has passed is the caller's to judge. A
// record this key can't open is an error that wraps ErrUndecryptable.
func (s *Store) ParkedToken(ctx context.Context) (ParkedToken, error) {
	var row parkedRow
	err := s.db.WithContext(ctx).Where("id = ?", tokenRowID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ParkedToken{}, ErrNoParkedToken
	}
	if err != nil {
		return ParkedToken{}, fmt.Errorf("store: parked token: %w", err)
	}
	p := ParkedToken{ParkedAt: row.ParkedAt, Until: row.Until, nonce: row.Nonce}
	plain, err := s.aead.openFor(parkedAAD, row.CipherVersion, row.Nonce, row.Ciphertext)
	if err != nil {
		return p, err
	}
	var rec parkedRecord
	err = json.Unmarshal(plain, &rec)
	clear(plain)
	if err != nil {
		return p, fmt.Errorf("%w (unreadable parked token)", ErrUndecryptable)
	}
	p.Token = rec.Token
	p.Token.AccessToken = rec.AccessToken
	return p, nil
}

// DiscardParkedToken forgets the parked token; none is not an error.
func (s *Store) DiscardParkedToken(ctx context.Context) error {
	if err := s.db.WithContext(ctx).Where("id = ?", tokenRowID).Delete(&parkedRow{}).Error; err != nil {
		return fmt.Errorf("store: discard parked token: %w", err)
	}
	return nil
}

// SaveParkedToken makes p, as ParkedToken returned it (its Token's
// fields may be adjusted), the one token, replacing any previous one, and
// takes it out of the parking, in one transaction. It returns
// ErrNoParkedToken, and changes nothing, when p is no longer parked
// (saved or discarded by a concurrent request, or replaced): of two clicks
// on Connect, one connects.
func (s *Store) SaveParkedToken(ctx context.Context, p ParkedToken) error {
	if len(p.nonce) == 0 {
		return errors.New("store: save parked token: not a parked token")
	}
	row, err := s.newTokenRow(p.Token)
	if err != nil {
		return fmt.Errorf("store: save parked token: %w", err)
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("id = ? AND nonce = ?", tokenRowID, p.nonce).Delete(&parkedRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNoParkedToken
		}
		return saveTokenRow(tx, &row)
	})
	if errors.Is(err, ErrNoParkedToken) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: save parked token: %w", err)
	}
	return nil
}
