package instagram

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"vitrine/instagram/fake"
)

// BenchmarkMedia100 reads a 100-post feed (4 pages, carousel children
// expanded) from the fake on loopback: the client's share of one sync.
func BenchmarkMedia100(b *testing.B) {
	f := fake.New(fake.Options{Posts: 100, RedirectURIs: []string{testRedirect}})
	srv := httptest.NewServer(f)
	defer srv.Close()
	ep := f.Endpoints(srv.URL)
	c, err := New(Config{
		ClientID: f.ClientID(), ClientSecret: f.ClientSecret(), RedirectURI: testRedirect,
		AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, GraphURL: ep.GraphURL, MediaHosts: []string{ep.MediaHost},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	tok := f.IssueLongLivedToken()
	ctx := context.Background()
	for b.Loop() {
		media, err := c.Media(ctx, tok, 100)
		if err != nil {
			b.Fatal(err)
		}
		if len(media) != 100 {
			b.Fatalf("got %d posts", len(media))
		}
	}
}
