package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// KeySize is the length of the secret key in bytes (AES-256).
const KeySize = 32

// ErrUndecryptable means a token is stored but this key can't open it,
// almost always because the secret key changed since it was saved.
var ErrUndecryptable = errors.New("store: stored token cannot be decrypted with this key " +
	"(did VITRINE_SECRET_KEY or secret.key change?); reconnect Instagram to store a new one")

// cipherV1 is AES-256-GCM with a 12-byte random nonce under a key derived
// with HKDF-SHA256. The version is stored with each ciphertext so the scheme
// can change without guessing what old rows hold.
const cipherV1 byte = 1

// tokenAAD binds the ciphertext to its column and scheme version: a blob
// copied from anywhere else fails authentication instead of decrypting.
var tokenAAD = []byte("vitrine:token:v1:access_token")

// parkedAAD binds a parked token's sealed record (parked.go) to its table
// in the same way: it never opens as the token, nor the token as it.
var parkedAAD = []byte("vitrine:token:v1:parked_token")

// DeriveKey returns a 32-byte key for purpose derived from the master key
// with HKDF-SHA256, so one secret can serve several uses (token encryption,
// session cookies, …) without the uses sharing a key.
func DeriveKey(key []byte, purpose string) ([]byte, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("store: derive key: key is %d bytes, want %d", len(key), KeySize)
	}
	if purpose == "" {
		return nil, errors.New("store: derive key: empty purpose")
	}
	sub, err := hkdf.Key(sha256.New, key, nil, "vitrine:"+purpose, KeySize)
	if err != nil {
		return nil, fmt.Errorf("store: derive key: %w", err)
	}
	return sub, nil
}

type tokenCipher struct {
	aead cipher.AEAD
}

func newTokenCipher(key []byte) (tokenCipher, error) {
	sub, err := DeriveKey(key, "token-encryption-v1")
	if err != nil {
		return tokenCipher{}, err
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		return tokenCipher{}, fmt.Errorf("token cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return tokenCipher{}, fmt.Errorf("token cipher: %w", err)
	}
	return tokenCipher{aead: aead}, nil
}

// seal encrypts the access token under a fresh random nonce.
func (c tokenCipher) seal(plain string) (version byte, nonce, ciphertext []byte) {
	return c.sealFor(tokenAAD, []byte(plain))
}

// open reverses seal; any failure is ErrUndecryptable, never a panic.
func (c tokenCipher) open(version byte, nonce, ciphertext []byte) (string, error) {
	plain, err := c.openFor(tokenAAD, version, nonce, ciphertext)
	return string(plain), err
}

// sealFor encrypts plain under a fresh random nonce, bound to aad: what
// it was sealed for.
func (c tokenCipher) sealFor(aad, plain []byte) (version byte, nonce, ciphertext []byte) {
	nonce = make([]byte, c.aead.NonceSize())
	// crypto/rand.Read never returns an error (it aborts the process if the
	// OS can't supply randomness).
	_, _ = rand.Read(nonce)
	return cipherV1, nonce, c.aead.Seal(nil, nonce, plain, aad)
}

// openFor reverses sealFor with the same aad; any failure is
// ErrUndecryptable, never a panic.
func (c tokenCipher) openFor(aad []byte, version byte, nonce, ciphertext []byte) ([]byte, error) {
	if version != cipherV1 {
		return nil, fmt.Errorf("%w (unknown cipher version %d)", ErrUndecryptable, version)
	}
	if len(nonce) != c.aead.NonceSize() {
		return nil, fmt.Errorf("%w (nonce is %d bytes)", ErrUndecryptable, len(nonce))
	}
	plain, err := c.aead.Open(nil, nonce, ciphertext, aad)
	if err != nil {
		return nil, ErrUndecryptable
	}
	return plain, nil
}
