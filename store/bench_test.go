package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkSaveToken is one encrypted, fsynced token write: what a connect
// or a refresh costs.
func BenchmarkSaveToken(b *testing.B) {
	s, _ := openTest(b)
	ctx := context.Background()
	tok := Token{AccessToken: "IGAA" + fmt.Sprint(time.Now().UnixNano()), UserID: "17841405793187218",
		Username: "bench", ExpiresAt: time.Now().Add(60 * 24 * time.Hour), Status: StatusValid}
	for b.Loop() {
		if err := s.SaveToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToken is a read and decrypt, what every job run starts with.
func BenchmarkToken(b *testing.B) {
	s, _ := openTest(b)
	ctx := context.Background()
	if err := s.SaveToken(ctx, Token{AccessToken: "IGAAbench", Username: "bench", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplacePosts100 is one sync's write of a full 100-post feed with
// a carousel every fourth post, most of it unchanged as in steady state.
func BenchmarkReplacePosts100(b *testing.B) {
	s, _ := openTest(b)
	ctx := context.Background()
	posts := make([]Post, 100)
	for i := range posts {
		id := fmt.Sprintf("1790000000000%04d", i)
		if i%4 == 0 {
			posts[i] = aPost(id, withChildren(id+"1", id+"2", id+"3"))
		} else {
			posts[i] = aPost(id)
		}
	}
	for b.Loop() {
		if _, err := s.ReplacePosts(ctx, posts); err != nil {
			b.Fatal(err)
		}
	}
}
