package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

func TestParkedTokenRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		if _, err := s.ParkedToken(ctx); !errors.Is(err, ErrNoParkedToken) {
			t.Fatalf("ParkedToken on a fresh store: %v", err)
		}
		want := aToken()
		until := c.Now().Add(time.Hour)
		if err := s.ParkToken(ctx, want, until); err != nil {
			t.Fatal(err)
		}
		p, err := s.ParkedToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !tokensEqual(p.Token, want) || !p.Until.Equal(until) || !p.ParkedAt.Equal(c.Now()) {
			t.Errorf("ParkedToken = %s until %v parked %v; want %s until %v", fieldsOf(p.Token), p.Until, p.ParkedAt, fieldsOf(want), until)
		}
		// Parking is not connecting: no token, and the gallery's
		// generation did not move.
		if _, err := s.Token(ctx); !errors.Is(err, ErrNoToken) {
			t.Errorf("Token after parking: %v", err)
		}
		if g, err := s.Generation(ctx); err != nil || g != 0 {
			t.Errorf("generation after parking = %d, %v", g, err)
		}

		// Another parking replaces the first.
		other := aToken(func(t *Token) { t.AccessToken, t.Username = "IGAAother", "someone.else" })
		if err := s.ParkToken(ctx, other, until.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if p, err := s.ParkedToken(ctx); err != nil || p.Token.AccessToken != "IGAAother" || p.Token.Username != "someone.else" {
			t.Errorf("second parking: %s, %v", fieldsOf(p.Token), err)
		}

		if err := s.DiscardParkedToken(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ParkedToken(ctx); !errors.Is(err, ErrNoParkedToken) {
			t.Errorf("ParkedToken after discarding: %v", err)
		}
		if err := s.DiscardParkedToken(ctx); err != nil {
			t.Errorf("discarding nothing: %v", err)
		}
		if err := s.ParkToken(ctx, aToken(func(t *Token) { t.AccessToken = "" }), until); err == nil {
			t.Error("a token without its access token was parked")
		}
	})
}

// SaveParkedToken connects the parked token and empties the parking in
// one transaction; the token it read must still be the one parked.
func TestSaveParkedToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		connected := aToken(func(t *Token) { t.AccessToken, t.UserID, t.Username = "IGAAconnected", "1", "connected.one" })
		if err := s.SaveToken(ctx, connected); err != nil {
			t.Fatal(err)
		}
		gen, _ := s.Generation(ctx)

		if err := s.ParkToken(ctx, aToken(), c.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		first, err := s.ParkedToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Replaced after it was read (the same account, parked again):
		// the read one is no longer there to save.
		if err := s.ParkToken(ctx, aToken(), c.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveParkedToken(ctx, first); !errors.Is(err, ErrNoParkedToken) {
			t.Errorf("saving a replaced parked token: %v", err)
		}
		if tok, _ := s.Token(ctx); tok.AccessToken != "IGAAconnected" {
			t.Fatal("a failed SaveParkedToken changed the token")
		}

		p, err := s.ParkedToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.Token.ConnectedAt = c.Now()
		if err := s.SaveParkedToken(ctx, p); err != nil {
			t.Fatal(err)
		}
		tok, err := s.Token(ctx)
		if err != nil || tok.AccessToken != secretToken || tok.UserID != p.Token.UserID || !tok.ConnectedAt.Equal(c.Now()) {
			t.Errorf("token after SaveParkedToken = %s, %v", fieldsOf(tok), err)
		}
		if g, _ := s.Generation(ctx); g == gen {
			t.Error("connecting the parked token did not move the gallery's generation")
		}
		if _, err := s.ParkedToken(ctx); !errors.Is(err, ErrNoParkedToken) {
			t.Errorf("still parked after SaveParkedToken: %v", err)
		}
		// The second click on Connect.
		if err := s.SaveParkedToken(ctx, p); !errors.Is(err, ErrNoParkedToken) {
			t.Errorf("saving it twice: %v", err)
		}
		if err := s.SaveParkedToken(ctx, ParkedToken{Token: aToken()}); err == nil {
			t.Error("a ParkedToken not read from the store was saved")
		}
	})
}

// The parked record is sealed whole: neither the access token nor the
// account's name is readable in the files, and a blob sealed for the
// token column does not open as a parked token, nor the other way round.
func TestParkedTokenIsSealed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, path := b.open(t)
		canary := "canary-parked-username-4711"
		if err := s.ParkToken(ctx, aToken(func(t *Token) { t.Username = canary }), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		var raw struct{ Ciphertext []byte }
		if err := s.db.Raw("SELECT ciphertext FROM parked_tokens").Scan(&raw).Error; err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw.Ciphertext, []byte(secretToken)) || bytes.Contains(raw.Ciphertext, []byte(canary)) {
			t.Error("the parked record is readable")
		}

		// Swap the token column's sealed blob in: it must not open.
		if err := s.SaveToken(ctx, aToken()); err != nil {
			t.Fatal(err)
		}
		if err := s.db.Exec("UPDATE parked_tokens SET nonce = (SELECT nonce FROM tokens), ciphertext = (SELECT ciphertext FROM tokens)").Error; err != nil {
			t.Fatal(err)
		}
		if _, err := s.ParkedToken(ctx); !errors.Is(err, ErrUndecryptable) {
			t.Errorf("the token's blob as a parked token: %v, want ErrUndecryptable", err)
		}

		if b.Name != "sqlite" {
			return // the files are the server's
		}
		if err := s.ParkToken(ctx, aToken(func(t *Token) { t.Username = canary }), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteToken(ctx); err != nil {
			t.Fatal(err)
		}
		var disk []byte
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			disk = append(disk, b...)
		}
		if !bytes.Contains(disk, []byte("parked_tokens")) {
			t.Fatal("the table is not in the database files; the search below proves nothing")
		}
		if bytes.Contains(disk, []byte(canary)) || bytes.Contains(disk, []byte(secretToken)) {
			t.Error("the parked token or its account's name is in the database files")
		}
	})
}

func TestParkedTokenWithWrongKeyIsUndecryptable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		path := b.New(t)
		s, err := Open(path, newKey(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ParkToken(ctx, aToken(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if s, err = Open(path, newKey(t)); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		p, err := s.ParkedToken(ctx)
		if !errors.Is(err, ErrUndecryptable) || p.Token.AccessToken != "" {
			t.Fatalf("ParkedToken with another key: %v", err)
		}
		if err := s.DiscardParkedToken(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
