package connection

import "testing"

// Connecting stores the account's biography and followers, and each
// validation brings what the owner changed since; a biography Instagram
// refuses leaves none, and the validation still succeeds.
func TestBiographyAndFollowersFollowTheProfile(t *testing.T) {
	e := newEnv(t)
	if _, err := e.conn.Connect(e.ctx, e.code()); err != nil {
		t.Fatal(err)
	}
	a := e.f.Account()
	tok, err := e.st.Token(e.ctx)
	if err != nil || tok.Biography != a.Biography || tok.FollowersCount != a.FollowersCount || a.Biography == "" {
		t.Fatalf("after connecting: bio %q, followers %d (%v); want %q, %d", tok.Biography, tok.FollowersCount, err, a.Biography, a.FollowersCount)
	}

	e.f.SetProfile("Now also glass.", 1300)
	if err := e.conn.Validate(e.ctx); err != nil {
		t.Fatal(err)
	}
	if tok, _ = e.st.Token(e.ctx); tok.Biography != "Now also glass." || tok.FollowersCount != 1300 {
		t.Errorf("after validating: bio %q, followers %d", tok.Biography, tok.FollowersCount)
	}

	e.f.RefuseFields("biography")
	if err := e.conn.Validate(e.ctx); err != nil {
		t.Fatalf("validate with the biography refused: %v", err)
	}
	if tok, _ = e.st.Token(e.ctx); tok.Biography != "" || tok.FollowersCount != 1300 || tok.Status != "valid" {
		t.Errorf("with the biography refused: bio %q, followers %d, status %s", tok.Biography, tok.FollowersCount, tok.Status)
	}
}
