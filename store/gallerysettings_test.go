package store

import (
	"context"
	"maps"
	"testing"
)

// Saving replaces every saved setting, moves the gallery's generation, and
// an empty save forgets them all.
func TestGallerySettingsReplaceAndMoveTheGeneration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, err := Open(b.New(t), newKey(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got, err := s.GallerySettings(ctx); err != nil || len(got) != 0 {
			t.Fatalf("before any save: %v %v", got, err)
		}
		gen0, _ := s.Generation(ctx)
		first := map[string]string{"layout": "carousel", "accent_color": "#aa0000", "include_words": "#sale summer"}
		if err := s.SaveGallerySettings(ctx, first); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GallerySettings(ctx); err != nil || !maps.Equal(got, first) {
			t.Errorf("after saving %v: %v %v", first, got, err)
		}
		gen1, _ := s.Generation(ctx)
		if gen1 <= gen0 {
			t.Errorf("generation %d → %d: saving settings must move it", gen0, gen1)
		}
		second := map[string]string{"layout": "grid"}
		if err := s.SaveGallerySettings(ctx, second); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GallerySettings(ctx); !maps.Equal(got, second) {
			t.Errorf("a second save left %v, want only %v", got, second)
		}
		if err := s.SaveGallerySettings(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GallerySettings(ctx); len(got) != 0 {
			t.Errorf("after a reset: %v", got)
		}
		if gen3, _ := s.Generation(ctx); gen3 <= gen1+1 {
			t.Errorf("generation after three saves: %d, from %d", gen3, gen0)
		}
	})
}

// A refused save changes nothing: no half-written settings.
func TestGallerySettingsSaveIsWhole(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, err := Open(b.New(t), newKey(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		kept := map[string]string{"theme": "dark"}
		if err := s.SaveGallerySettings(ctx, kept); err != nil {
			t.Fatal(err)
		}
		gen, _ := s.Generation(ctx)
		if err := s.SaveGallerySettings(ctx, map[string]string{"layout": "masonry", "": "x"}); err == nil {
			t.Fatal("a save with an empty key succeeded")
		}
		if got, _ := s.GallerySettings(ctx); !maps.Equal(got, kept) {
			t.Errorf("after a refused save: %v, want %v", got, kept)
		}
		if g, _ := s.Generation(ctx); g != gen {
			t.Errorf("a refused save moved the generation %d → %d", gen, g)
		}
	})
}

// A database from before the Appearance page gains the table on opening and
// keeps what it held.
func TestGallerySettingsTableMigrates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		key := newKey(t)
		loc := b.New(t)
		s, err := Open(loc, key)
		if err != nil {
			t.Fatal(err)
		}
		// The previous release's schema: everything but gallery_settings.
		if err := s.db.Exec("DROP TABLE gallery_settings").Error; err != nil {
			t.Fatal(err)
		}
		if err := s.AddEvent(ctx, "sync", LevelInfo, "synced 12 posts"); err != nil {
			t.Fatal(err)
		}
		s.Close()

		s, err = Open(loc, key)
		if err != nil {
			t.Fatalf("reopening an older database: %v", err)
		}
		defer s.Close()
		if got, err := s.GallerySettings(ctx); err != nil || len(got) != 0 {
			t.Errorf("settings on the upgraded database = %v %v", got, err)
		}
		if err := s.SaveGallerySettings(ctx, map[string]string{"gap": "8"}); err != nil {
			t.Errorf("saving on the upgraded database: %v", err)
		}
		if ev, err := s.Events(ctx, 0); err != nil || len(ev) != 1 {
			t.Errorf("events after the upgrade = %+v %v", ev, err)
		}
	})
}
