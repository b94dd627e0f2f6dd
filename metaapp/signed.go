package metaapp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// maxSignedRequest bounds what is decoded: Meta's are a few hundred bytes.
const maxSignedRequest = 4 << 10

// How far issued_at may be from our clock: Meta calls at once, so a day
// is generous for queues and skew, and an old capture can't be replayed
// for long (the connection also ignores notices older than its own start).
const (
	maxNoticeAge  = 24 * time.Hour
	maxClockAhead = 10 * time.Minute
)

var errBadSignedRequest = errors.New("signed_request is not a valid request signed by this app")

// notice is a verified signed request: who it is about and when Meta
// signed it.
type notice struct {
	UserID   string
	IssuedAt time.Time
}

// parseSignedRequest verifies raw, base64url(signature) "." base64url(payload),
// where the signature is HMAC-SHA256 of the payload part under the app
// secret, and reads the payload. Every failure is the same error: the
// caller answers 400 and learns nothing more than a forger should.
func parseSignedRequest(raw, appSecret string, now time.Time) (notice, error) {
	if raw == "" || len(raw) > maxSignedRequest || appSecret == "" {
		return notice{}, errBadSignedRequest
	}
	sigPart, payloadPart, ok := strings.Cut(raw, ".")
	if !ok {
		return notice{}, errBadSignedRequest
	}
	sig, err := decodeSegment(sigPart)
	if err != nil || len(sig) != sha256.Size {
		return notice{}, errBadSignedRequest
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write([]byte(payloadPart))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return notice{}, errBadSignedRequest
	}
	data, err := decodeSegment(payloadPart)
	if err != nil {
		return notice{}, errBadSignedRequest
	}
	var p struct {
		Algorithm string      `json:"algorithm"`
		IssuedAt  json.Number `json:"issued_at"`
		UserID    json.Number `json:"user_id"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil || !strings.EqualFold(p.Algorithm, "HMAC-SHA256") {
		return notice{}, errBadSignedRequest
	}
	issued, err := p.IssuedAt.Int64()
	if err != nil {
		return notice{}, errBadSignedRequest
	}
	at := time.Unix(issued, 0)
	if at.Before(now.Add(-maxNoticeAge)) || at.After(now.Add(maxClockAhead)) {
		return notice{}, errBadSignedRequest
	}
	userID := p.UserID.String()
	if userID == "" || len(userID) > 64 || strings.Trim(userID, "0123456789") != "" {
		return notice{}, errBadSignedRequest
	}
	return notice{UserID: userID, IssuedAt: at}, nil
}

// decodeSegment reads base64url exactly as Meta writes it: no padding, no
// line breaks (which the decoder would otherwise skip), no stray trailing
// bits. Only the canonical spelling is accepted, so one request has one
// form: a copy dressed up differently is refused, not handled as new.
func decodeSegment(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if base64.RawURLEncoding.EncodeToString(b) != s {
		return nil, errBadSignedRequest
	}
	return b, nil
}
