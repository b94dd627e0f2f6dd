package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestImagesSaveReplaceDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		im := Image{MediaID: "m1", PostID: "p1", Width: 1080, Height: 1350, Color: "#aabbcc",
			Variants: []ImageVariant{{Width: 320, Height: 400, Bytes: 10, Path: "m1/320.jpg"}, {Width: 640, Height: 800, Bytes: 20, Path: "m1/640.jpg"}}}
		if err := s.SaveImage(ctx, im); err != nil {
			t.Fatal(err)
		}
		im.Variants = append(im.Variants, ImageVariant{Width: 1080, Height: 1350, Bytes: 30, Path: "m1/1080.jpg"})
		if err := s.SaveImage(ctx, im); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveImage(ctx, Image{MediaID: "m2", PostID: "p1", Width: 100, Height: 100,
			Variants: []ImageVariant{{Width: 100, Height: 100, Path: "m2/100.jpg"}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveImage(ctx, Image{MediaID: "m3", PostID: "p3"}); err == nil {
			t.Error("image without variants accepted")
		}
		got, ok, err := s.Image(ctx, "m1")
		if err != nil || !ok {
			t.Fatalf("Image: %v %v", ok, err)
		}
		if len(got.Variants) != 3 || got.Variants[2].Width != 1080 || got.Color != "#aabbcc" || got.MirroredAt.IsZero() {
			t.Errorf("m1 = %+v", got)
		}
		if l, _ := got.Largest(); l.Path != "m1/1080.jpg" {
			t.Errorf("largest = %+v", l)
		}
		all, err := s.Images(ctx)
		if err != nil || len(all) != 2 {
			t.Fatalf("Images: %d %v", len(all), err)
		}
		if err := s.DeleteImages(ctx, []string{"m1"}); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Image(ctx, "m1"); ok {
			t.Error("m1 still there")
		}
		var n int64
		s.db.Model(&imageVariantRow{}).Count(&n)
		if n != 1 {
			t.Errorf("%d variant rows left, want 1", n)
		}
	})
}

func TestSaveWebPNeedsEveryWidthAndIsClearedByANewMirror(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		im := Image{MediaID: "m1", PostID: "p1", Width: 1080, Height: 1350, Color: "#aabbcc",
			Variants: []ImageVariant{{Width: 320, Height: 400, Bytes: 10, Path: "m1/320.jpg"}, {Width: 640, Height: 800, Bytes: 20, Path: "m1/640.jpg"}}}
		if err := s.SaveImage(ctx, im); err != nil {
			t.Fatal(err)
		}
		gen0, _ := s.Generation(ctx)
		both := []WebPFile{{Width: 640, Path: "m1/640.webp", Bytes: 12}, {Width: 320, Path: "m1/320.webp", Bytes: 6}}
		for _, wrong := range [][]WebPFile{both[:1], append(both, WebPFile{Width: 1080, Path: "m1/1080.webp"})} {
			if err := s.SaveWebP(ctx, "m1", wrong); !errors.Is(err, ErrVariantsChanged) {
				t.Errorf("SaveWebP for widths %v: %v, want ErrVariantsChanged", wrong, err)
			}
		}
		if got, _, _ := s.Image(ctx, "m1"); got.HasWebP() || got.Variants[0].WebPPath != "" {
			t.Fatalf("a refused SaveWebP wrote: %+v", got.Variants)
		}
		if err := s.SaveWebP(ctx, "nope", both); err == nil {
			t.Error("SaveWebP of an image never saved succeeded")
		}
		if err := s.SaveWebP(ctx, "m1", both); err != nil {
			t.Fatal(err)
		}
		got, _, _ := s.Image(ctx, "m1")
		if !got.HasWebP() || got.Variants[0].WebPPath != "m1/320.webp" || got.Variants[1].WebPBytes != 12 || got.Variants[1].Path != "m1/640.jpg" {
			t.Errorf("after SaveWebP: %+v", got.Variants)
		}
		if all, _ := s.Images(ctx); len(all) != 1 || !all[0].HasWebP() {
			t.Errorf("Images after SaveWebP: %+v", all)
		}
		if gen, _ := s.Generation(ctx); gen == gen0 {
			t.Error("SaveWebP left the generation: replicas would not show the WebP files")
		}
		// Mirrored again (a file went missing): its WebP is made again too.
		if err := s.SaveImage(ctx, im); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.Image(ctx, "m1"); got.HasWebP() {
			t.Errorf("a new mirror kept the old WebP files: %+v", got.Variants)
		}
		if err := s.SaveWebP(ctx, "m1", both); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveWebP(ctx, "m1", nil); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.Image(ctx, "m1"); got.HasWebP() || got.Variants[1].WebPBytes != 0 {
			t.Errorf("SaveWebP(nil) kept: %+v", got.Variants)
		}
		// Made and found larger than its JPEG: declined, until mirrored again.
		if err := s.SaveWebP(ctx, "m1", both); err != nil {
			t.Fatal(err)
		}
		if err := s.DeclineWebP(ctx, "m1"); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.Image(ctx, "m1"); got.HasWebP() || !got.WebPDeclined() || got.Variants[0].WebPPath != "" {
			t.Errorf("after DeclineWebP: %+v", got.Variants)
		}
		if err := s.DeclineWebP(ctx, "nope"); err == nil {
			t.Error("DeclineWebP of an image never saved succeeded")
		}
		if err := s.SaveImage(ctx, im); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.Image(ctx, "m1"); got.WebPDeclined() {
			t.Errorf("a new mirror kept the decline: %+v", got.Variants)
		}
	})
}

func TestJobRunsRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		r := JobRun{Name: "sync", LastRun: at, LastOK: false, LastError: "Instagram unavailable",
			LastDuration: 1500 * time.Millisecond, Failures: 2, NotBefore: at.Add(time.Minute)}
		if err := s.SaveJobRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		r.LastSuccess = at.Add(-time.Hour)
		if err := s.SaveJobRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveJobRun(ctx, JobRun{Name: "validate"}); err != nil {
			t.Fatal(err)
		}
		runs, err := s.JobRuns(ctx)
		if err != nil || len(runs) != 2 {
			t.Fatalf("JobRuns: %v %v", runs, err)
		}
		got := runs[0]
		if got.Name != "sync" || !got.LastRun.Equal(at) || !got.LastSuccess.Equal(at.Add(-time.Hour)) ||
			got.LastDuration != r.LastDuration || got.Failures != 2 || !got.NotBefore.Equal(r.NotBefore) || got.LastError != r.LastError {
			t.Errorf("got %+v, want %+v", got, r)
		}
		if !runs[1].LastRun.IsZero() || !runs[1].NotBefore.IsZero() || runs[1].Waiting {
			t.Errorf("validate = %+v", runs[1])
		}
		// Waiting goes both ways, through the upsert too.
		for _, waiting := range []bool{true, false} {
			if err := s.SaveJobRun(ctx, JobRun{Name: "validate", Waiting: waiting}); err != nil {
				t.Fatal(err)
			}
			runs, err := s.JobRuns(ctx)
			if err != nil || runs[1].Waiting != waiting {
				t.Fatalf("after saving Waiting=%v: %+v %v", waiting, runs, err)
			}
		}
	})
}

// A video is recorded on its image: SaveVideo sets and clears it, and
// mirroring the picture again keeps it.
func TestImageVideoSaveKeepClear(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		im := Image{MediaID: "m1", PostID: "m1", Width: 1080, Height: 1920, Color: "#aabbcc",
			Variants: []ImageVariant{{Width: 320, Height: 569, Bytes: 10, Path: "m1/320.jpg"}}}
		if err := s.SaveVideo(ctx, "m1", "m1/video.mp4", 5000); err == nil {
			t.Error("a video was recorded for an image that is not")
		}
		if err := s.SaveImage(ctx, im); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveVideo(ctx, "m1", "m1/video.mp4", 5000); err != nil {
			t.Fatal(err)
		}
		im.Color = "#112233"
		if err := s.SaveImage(ctx, im); err != nil {
			t.Fatal(err)
		}
		got, _, err := s.Image(ctx, "m1")
		if err != nil || got.VideoPath != "m1/video.mp4" || got.VideoBytes != 5000 || got.Color != "#112233" {
			t.Fatalf("after saving the picture again: %+v %v", got, err)
		}
		all, err := s.Images(ctx)
		if err != nil || len(all) != 1 || all[0].VideoPath != "m1/video.mp4" || all[0].VideoBytes != 5000 {
			t.Fatalf("Images: %+v %v", all, err)
		}
		if err := s.SaveVideo(ctx, "m1", "", 5000); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.Image(ctx, "m1"); got.VideoPath != "" || got.VideoBytes != 0 {
			t.Errorf("after clearing: %+v", got)
		}
	})
}

// A database made before videos were mirrored gains the columns, and its
// images read as having no video.
func TestImageVideoColumnsMigrate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		key := newKey(t)
		path := b.New(t)
		s, err := Open(path, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveImage(ctx, Image{MediaID: "m1", PostID: "m1", Width: 320, Height: 400,
			Variants: []ImageVariant{{Width: 320, Height: 400, Path: "m1/320.jpg"}}}); err != nil {
			t.Fatal(err)
		}
		for _, col := range []string{"video_path", "video_bytes"} {
			if err := s.db.Exec("ALTER TABLE images DROP COLUMN " + col).Error; err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		s, err = Open(path, key)
		if err != nil {
			t.Fatalf("reopening an older database: %v", err)
		}
		defer s.Close()
		got, ok, err := s.Image(ctx, "m1")
		if err != nil || !ok || got.VideoPath != "" || got.VideoBytes != 0 {
			t.Fatalf("image from before: %+v %v %v", got, ok, err)
		}
		if err := s.SaveVideo(ctx, "m1", "m1/video.mp4", 7); err != nil {
			t.Fatal(err)
		}
	})
}
