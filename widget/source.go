package widget

import (
	"context"

	"vitrine/mediadir"
	"vitrine/store"
)

// StoreSource is the Source a Vitrine serves from: the store's posts,
// account, moderation and generation, and one MirroredFile per file.
// The store records each file's path relative to the media directory;
// StoreSource resolves it under mediaDir, this process's own, so processes
// sharing a database and a media volume may mount it at different places.
// A recorded path that would leave mediaDir (absolute, or climbing with
// "..") is not served.
func StoreSource(st *store.Store, mediaDir string) Source {
	return storeSource{st: st, media: mediadir.New(mediaDir)}
}

type storeSource struct {
	st    *store.Store
	media mediadir.Dir
}

func (s storeSource) Posts(ctx context.Context, limit int) ([]store.Post, error) {
	return s.st.Posts(ctx, limit)
}

func (s storeSource) Token(ctx context.Context) (store.Token, error) { return s.st.Token(ctx) }

func (s storeSource) Moderation(ctx context.Context) ([]store.Moderation, error) {
	return s.st.Moderation(ctx)
}

func (s storeSource) JobRuns(ctx context.Context) ([]store.JobRun, error) { return s.st.JobRuns(ctx) }

func (s storeSource) GallerySettings(ctx context.Context) (map[string]string, error) {
	return s.st.GallerySettings(ctx)
}

func (s storeSource) Generation(ctx context.Context) (int64, error) { return s.st.Generation(ctx) }

func (s storeSource) MirroredFiles(ctx context.Context) ([]MirroredFile, error) {
	images, err := s.st.Images(ctx)
	if err != nil {
		return nil, err
	}
	var out []MirroredFile
	for _, im := range images {
		for _, v := range im.Variants {
			if path, ok := s.media.Resolve(v.Path); ok {
				out = append(out, MirroredFile{MediaID: im.MediaID, Width: v.Width, Height: v.Height, Color: im.Color, Path: path})
			}
			if path, ok := s.media.Resolve(v.WebPPath); ok && im.HasWebP() {
				out = append(out, MirroredFile{MediaID: im.MediaID, Width: v.Width, Height: v.Height, Color: im.Color, Path: path, WebP: true})
			}
		}
		if path, ok := s.media.Resolve(im.VideoPath); ok {
			out = append(out, MirroredFile{MediaID: im.MediaID, Video: true, Path: path})
		}
	}
	return out, nil
}
