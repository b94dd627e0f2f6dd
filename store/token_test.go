package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

const secretToken = "IGAAsecret-plaintext-access-token-0123456789"

// aToken builds a fully populated token; mods adjust it.
func aToken(mods ...func(*Token)) Token {
	t := Token{
		AccessToken:       secretToken,
		UserID:            "17841400000000001",
		Username:          "vitrine.owner",
		Name:              "Vitrine Owner",
		AccountType:       "BUSINESS",
		ProfilePictureURL: "https://cdn.example/pp.jpg",
		MediaCount:        42,
		FollowersCount:    1234,
		Biography:         "Ceramics & light ✨\nHandmade in Lisbon.",
		Scopes:            "instagram_business_basic",
		IssuedAt:          time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC),
		ExpiresAt:         time.Date(2026, 12, 31, 8, 0, 0, 0, time.UTC),
		Status:            StatusValid,
		StatusReason:      "connected",
		StatusChangedAt:   time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC),
		LastCheckedAt:     time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC),
		LastError:         "timeout talking to Instagram",
		ConnectedAt:       time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC),
	}
	for _, m := range mods {
		m(&t)
	}
	return t
}

func TestTokenRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		want := aToken(func(t *Token) { t.LastRefreshedAt = time.Date(2026, 11, 2, 8, 0, 0, 0, time.FixedZone("CET", 3600)) })
		if err := s.SaveToken(ctx, want); err != nil {
			t.Fatalf("SaveToken: %v", err)
		}
		got, err := s.Token(ctx)
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		want.UpdatedAt = c.Now()
		if !tokensEqual(got, want) {
			t.Errorf("Token() =\n%#v\nwant\n%#v\n(fields: got %+v)", got, want, fieldsOf(got))
		}
		if got.AccessToken != secretToken {
			t.Errorf("AccessToken did not round-trip")
		}
	})
}

// tokensEqual compares all fields, times with Equal.
func tokensEqual(a, b Token) bool {
	times := func(t Token) []time.Time {
		return []time.Time{t.IssuedAt, t.ExpiresAt, t.StatusChangedAt, t.LastCheckedAt, t.LastRefreshedAt, t.ConnectedAt, t.UpdatedAt}
	}
	ta, tb := times(a), times(b)
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	return fieldsOf(a) == fieldsOf(b)
}

// fieldsOf lists a token's non-time fields (AccessToken included) for
// comparison and failure messages in these tests only.
func fieldsOf(t Token) string {
	return fmt.Sprintf("%q", []any{t.AccessToken, t.UserID, t.Username, t.Name, t.AccountType, t.ProfilePictureURL,
		t.MediaCount, t.FollowersCount, t.Biography, t.Scopes, t.Status, t.StatusReason, t.LastError})
}

func TestSaveTokenDefaultsAndReplaces(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		if _, err := s.Token(ctx); !errors.Is(err, ErrNoToken) {
			t.Fatalf("Token on an empty store: err = %v, want ErrNoToken", err)
		}
		if err := s.SaveToken(ctx, aToken()); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Hour)
		second := Token{AccessToken: "second-token", UserID: "2", Username: "other", ExpiresAt: c.Now().Add(60 * 24 * time.Hour)}
		if err := s.SaveToken(ctx, second); err != nil {
			t.Fatal(err)
		}
		got, err := s.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.AccessToken != "second-token" || got.Username != "other" || got.MediaCount != 0 || got.LastError != "" {
			t.Errorf("second save did not replace the first: %+v", fieldsOf(got))
		}
		if got.Status != StatusValid {
			t.Errorf("Status = %q, want the default valid", got.Status)
		}
		for name, v := range map[string]time.Time{"IssuedAt": got.IssuedAt, "ConnectedAt": got.ConnectedAt,
			"StatusChangedAt": got.StatusChangedAt, "UpdatedAt": got.UpdatedAt} {
			if !v.Equal(c.Now()) {
				t.Errorf("%s = %v, want now (%v)", name, v, c.Now())
			}
		}
		if !got.LastCheckedAt.IsZero() || !got.LastRefreshedAt.IsZero() {
			t.Errorf("LastCheckedAt/LastRefreshedAt = %v/%v, want zero", got.LastCheckedAt, got.LastRefreshedAt)
		}
		var rows int64
		s.db.Model(&tokenRow{}).Count(&rows)
		if rows != 1 {
			t.Errorf("tokens table has %d rows, want 1", rows)
		}
	})
}

func TestSaveTokenRejectsBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := b.open(t)
		ctx := context.Background()
		if err := s.SaveToken(ctx, aToken(func(t *Token) { t.AccessToken = "" })); err == nil {
			t.Error("empty access token accepted")
		}
		if err := s.SaveToken(ctx, aToken(func(t *Token) { t.Status = StatusNone })); err == nil {
			t.Error("status none accepted")
		}
	})
}

func TestTokenCiphertextHidesPlaintext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, path := b.open(t)
		canary := "canary-username-4711"
		if err := s.SaveToken(ctx, aToken(func(t *Token) { t.Username = canary })); err != nil {
			t.Fatal(err)
		}
		type raw struct {
			CipherVersion uint8
			Nonce         []byte
			Ciphertext    []byte
		}
		var first raw
		if err := s.db.Raw("SELECT cipher_version, nonce, ciphertext FROM tokens").Scan(&first).Error; err != nil {
			t.Fatal(err)
		}
		if first.CipherVersion != cipherV1 || len(first.Nonce) != 12 {
			t.Errorf("version %d, nonce %d bytes; want %d and 12", first.CipherVersion, len(first.Nonce), cipherV1)
		}
		if bytes.Contains(first.Ciphertext, []byte(secretToken)) || len(first.Ciphertext) != len(secretToken)+16 {
			t.Errorf("ciphertext (%d bytes) is not an AES-GCM sealing of the token", len(first.Ciphertext))
		}

		// A second save of the same token uses a fresh nonce.
		if err := s.SaveToken(ctx, aToken(func(t *Token) { t.Username = canary })); err != nil {
			t.Fatal(err)
		}
		var second raw
		s.db.Raw("SELECT cipher_version, nonce, ciphertext FROM tokens").Scan(&second)
		if bytes.Equal(first.Nonce, second.Nonce) || bytes.Equal(first.Ciphertext, second.Ciphertext) {
			t.Error("nonce reused across saves")
		}

		if b.Name != "sqlite" {
			return // the files are the server's, not ours to read
		}
		// The bytes on disk: the canary proves the rows are there to be seen.
		var disk []byte
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			disk = append(disk, b...)
		}
		if !bytes.Contains(disk, []byte(canary)) {
			t.Fatal("the username is not in the database files; the search below proves nothing")
		}
		if bytes.Contains(disk, []byte(secretToken)) {
			t.Error("the plaintext access token is in the database files")
		}
	})
}

func TestTokenWithWrongKeyIsUndecryptable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		path := b.New(t)
		s, err := Open(path, newKey(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveToken(ctx, aToken()); err != nil {
			t.Fatal(err)
		}
		s.Close()

		s, err = Open(path, newKey(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got, err := s.Token(ctx)
		if !errors.Is(err, ErrUndecryptable) {
			t.Fatalf("Token with another key: err = %v, want ErrUndecryptable", err)
		}
		if !strings.Contains(err.Error(), "key") {
			t.Errorf("error %q should hint that the key changed", err)
		}
		if got.AccessToken != "" || got.Username != "vitrine.owner" || got.Status != StatusValid {
			t.Errorf("undecryptable token should keep its details but no secret: %s", fieldsOf(got))
		}
	})
}

func TestTokenTamperingIsUndecryptable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		// Statements with parameters rather than blob literals, whose
		// syntax differs between SQLite and PostgreSQL.
		type tamper struct {
			stmt string
			args func(sealed []byte) []any
		}
		for name, tc := range map[string]tamper{
			"flipped ciphertext": {"UPDATE tokens SET ciphertext = ?", func(c []byte) []any { return []any{append(c, 0)} }},
			"other nonce":        {"UPDATE tokens SET nonce = ?", func([]byte) []any { return []any{make([]byte, 12)} }},
			"short nonce":        {"UPDATE tokens SET nonce = ?", func([]byte) []any { return []any{[]byte{1}} }},
			"unknown version":    {"UPDATE tokens SET cipher_version = 9", func([]byte) []any { return nil }},
			// Same key, but a blob sealed for something else must not open.
			"foreign blob": {"UPDATE tokens SET ciphertext = nonce", func([]byte) []any { return nil }},
		} {
			t.Run(name, func(t *testing.T) {
				s, _ := b.open(t)
				if err := s.SaveToken(ctx, aToken()); err != nil {
					t.Fatal(err)
				}
				var sealed []byte
				if err := s.db.Raw("SELECT ciphertext FROM tokens").Row().Scan(&sealed); err != nil {
					t.Fatal(err)
				}
				if err := s.db.Exec(tc.stmt, tc.args(sealed)...).Error; err != nil {
					t.Fatal(err)
				}
				if _, err := s.Token(ctx); !errors.Is(err, ErrUndecryptable) {
					t.Errorf("err = %v, want ErrUndecryptable", err)
				}
			})
		}
	})
}

func TestTokenAADBindsColumn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		key := newKey(t)
		c, err := newTokenCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		v, nonce, ct := c.seal(secretToken)
		// The same sealing under other associated data (what a blob from another
		// column or scheme would carry) must not open as a token.
		other := c.aead.Seal(nil, nonce, []byte(secretToken), []byte("vitrine:other"))
		if _, err := c.open(v, nonce, other); !errors.Is(err, ErrUndecryptable) {
			t.Errorf("blob sealed with other AAD opened: %v", err)
		}
		if got, err := c.open(v, nonce, ct); err != nil || got != secretToken {
			t.Errorf("open = %q, %v", got, err)
		}
	})
}

func TestTokenPrintingNeverShowsSecret(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		tok := aToken()
		var out []string
		for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%T %v"} {
			out = append(out, fmt.Sprintf(format, tok), fmt.Sprintf(format, &tok), fmt.Sprintf(format, []Token{tok}))
		}
		out = append(out, fmt.Sprint(tok), fmt.Sprintln(tok), tok.String(), tok.GoString())
		out = append(out, fmt.Sprintf("%+v", struct{ T Token }{tok}), fmt.Sprintf("%v", map[string]Token{"k": tok}))
		for _, h := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var buf bytes.Buffer
			l := slog.New(h(&buf))
			l.Info("token", "token", tok, "ptr", &tok)
			l.Info("token", slog.Any("token", tok))
			out = append(out, buf.String())
		}
		j, err := json.Marshal(tok)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(j))
		err = fmt.Errorf("wrapped %v", tok)
		out = append(out, err.Error())

		for _, s := range out {
			if strings.Contains(s, secretToken) || strings.Contains(s, "IGAA") {
				t.Errorf("output shows the access token: %s", s)
			}
		}
		if s := tok.String(); !strings.Contains(s, "@vitrine.owner") || !strings.Contains(s, "status=valid") ||
			!strings.Contains(s, "expires=2026-12-31T08:00:00Z") {
			t.Errorf("String() = %q, want user, status and expiry", s)
		}
	})
}

func TestUpdateTokenStatusReportsTransitions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		if _, err := s.UpdateTokenStatus(ctx, StatusNeedsReauth, "x"); !errors.Is(err, ErrNoToken) {
			t.Fatalf("without a token: err = %v, want ErrNoToken", err)
		}
		if err := s.SaveToken(ctx, Token{AccessToken: "t", Username: "u"}); err != nil {
			t.Fatal(err)
		}
		savedAt := c.Now()

		step := func(status TokenStatus, reason string, wantChanged bool, wantReason string, wantSince time.Time) {
			t.Helper()
			c.Advance(time.Minute)
			changed, err := s.UpdateTokenStatus(ctx, status, reason)
			if err != nil {
				t.Fatalf("UpdateTokenStatus(%s): %v", status, err)
			}
			if changed != wantChanged {
				t.Errorf("UpdateTokenStatus(%s) changed = %v, want %v", status, changed, wantChanged)
			}
			got, err := s.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != status || got.StatusReason != wantReason || !got.StatusChangedAt.Equal(wantSince) {
				t.Errorf("after %s: status %s reason %q since %v; want %s %q %v",
					status, got.Status, got.StatusReason, got.StatusChangedAt, status, wantReason, wantSince)
			}
		}
		step(StatusValid, "still fine", false, "", savedAt)
		step(StatusNeedsReauth, "password changed", true, "password changed", savedAt.Add(2*time.Minute))
		step(StatusNeedsReauth, "expired", false, "password changed", savedAt.Add(2*time.Minute))
		step(StatusValid, "reconnected", true, "reconnected", savedAt.Add(4*time.Minute))
		step(StatusRefreshDue, "", true, "", savedAt.Add(5*time.Minute))

		if _, err := s.UpdateTokenStatus(ctx, "bogus", ""); err == nil {
			t.Error("unknown status accepted")
		}
	})
}

func TestMarkTokenChecked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		if err := s.MarkTokenChecked(ctx, c.Now(), ""); !errors.Is(err, ErrNoToken) {
			t.Fatalf("without a token: err = %v, want ErrNoToken", err)
		}
		if err := s.SaveToken(ctx, aToken()); err != nil {
			t.Fatal(err)
		}
		at := c.Now().Add(-time.Second)
		if err := s.MarkTokenChecked(ctx, at, "HTTP 503 from Instagram"); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Token(ctx)
		if !got.LastCheckedAt.Equal(at) || got.LastError != "HTTP 503 from Instagram" || got.Status != StatusValid {
			t.Errorf("after a failed check: %v %q %s", got.LastCheckedAt, got.LastError, got.Status)
		}
		c.Advance(time.Minute)
		if err := s.MarkTokenChecked(ctx, time.Time{}, ""); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Token(ctx)
		if !got.LastCheckedAt.Equal(c.Now()) || got.LastError != "" {
			t.Errorf("after a good check: %v %q", got.LastCheckedAt, got.LastError)
		}
	})
}

func TestReplaceAccessToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		issued, expires := c.Now(), c.Now().Add(60*24*time.Hour)
		if err := s.ReplaceAccessToken(ctx, "new", issued, expires); !errors.Is(err, ErrNoToken) {
			t.Fatalf("without a token: err = %v, want ErrNoToken", err)
		}
		if err := s.SaveToken(ctx, aToken(func(t *Token) { t.Status = StatusRefreshDue })); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Hour)
		if err := s.ReplaceAccessToken(ctx, "refreshed-token", issued, expires); err != nil {
			t.Fatal(err)
		}
		got, err := s.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.AccessToken != "refreshed-token" || !got.IssuedAt.Equal(issued) || !got.ExpiresAt.Equal(expires) ||
			!got.LastRefreshedAt.Equal(c.Now()) || !got.UpdatedAt.Equal(c.Now()) {
			t.Errorf("after refresh: issued %v expires %v refreshed %v updated %v",
				got.IssuedAt, got.ExpiresAt, got.LastRefreshedAt, got.UpdatedAt)
		}
		if got.Username != "vitrine.owner" || got.MediaCount != 42 || got.Status != StatusRefreshDue {
			t.Errorf("refresh changed account details or status: %s", fieldsOf(got))
		}
		if err := s.ReplaceAccessToken(ctx, "", issued, expires); err == nil {
			t.Error("empty access token accepted")
		}
	})
}

func TestDeleteToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		if err := s.DeleteToken(ctx); err != nil {
			t.Fatalf("DeleteToken with no token: %v", err)
		}
		if err := s.SaveToken(ctx, aToken()); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteToken(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Token(ctx); !errors.Is(err, ErrNoToken) {
			t.Errorf("Token after delete: err = %v, want ErrNoToken", err)
		}
	})
}

func TestUpdateAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		fresh := Account{Username: "vitrine.renamed", Name: "Renamed", AccountType: "MEDIA_CREATOR",
			ProfilePictureURL: "https://cdn.example/pp2.jpg?oe=1", MediaCount: 43, FollowersCount: 1300, Biography: "New bio"}
		if err := s.UpdateAccount(ctx, "17841400000000001", fresh); !errors.Is(err, ErrNoToken) {
			t.Fatalf("without a token: err = %v, want ErrNoToken", err)
		}
		before := aToken()
		if err := s.SaveToken(ctx, before); err != nil {
			t.Fatal(err)
		}
		// Another account's profile (a validate that started before a
		// reconnect to someone else) changes nothing.
		if err := s.UpdateAccount(ctx, "17841400000000999", fresh); !errors.Is(err, ErrNoToken) {
			t.Fatalf("another account: err = %v, want ErrNoToken", err)
		}
		stored, err := s.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Username != before.Username || stored.ProfilePictureURL != before.ProfilePictureURL {
			t.Fatalf("another account's profile was stored: %v", stored)
		}
		c.Advance(time.Minute)
		if err := s.UpdateAccount(ctx, before.UserID, fresh); err != nil {
			t.Fatal(err)
		}
		got, err := s.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := stored
		want.Username, want.Name, want.AccountType, want.ProfilePictureURL = fresh.Username, fresh.Name, fresh.AccountType, fresh.ProfilePictureURL
		want.MediaCount, want.FollowersCount, want.Biography = fresh.MediaCount, fresh.FollowersCount, fresh.Biography
		want.UpdatedAt = c.Now()
		if !tokensEqual(got, want) {
			t.Errorf("after UpdateAccount (the token itself, status and times kept):\n got %s %v\nwant %s %v",
				fieldsOf(got), got.UpdatedAt, fieldsOf(want), want.UpdatedAt)
		}
	})
}
