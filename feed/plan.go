package feed

import (
	"context"
	"net/url"
	"slices"
	"time"

	"vitrine/imaging"
	"vitrine/mediadir"
	"vitrine/store"
)

// mirrorTarget is a media id a download is stored as, and its post.
type mirrorTarget struct{ mediaID, postID string }

// mirrorItem is one download: an image URL and every media id whose copy
// it is (a carousel's cover is its first item's picture).
type mirrorItem struct {
	url     string
	targets []mirrorTarget
}

// videoItem is one video to mirror: a VIDEO's media_url, for the post or
// carousel item it is.
type videoItem struct{ mediaID, url string }

// imageURLOf returns the URL of the picture that stands for a media item:
// the video's thumbnail, otherwise media_url ("" when Instagram gave none).
func imageURLOf(mediaType, mediaURL, thumbnailURL string) string {
	if mediaType == "VIDEO" {
		return thumbnailURL
	}
	return mediaURL
}

// avatarMaxAge is how long a mirrored profile picture is kept before it is
// fetched again: Instagram gives the same picture a new URL signature all
// the time, so only its age tells that the owner may have changed it.
const avatarMaxAge = 24 * time.Hour

// videoPlan lists the videos of the posts and their carousel items.
func videoPlan(posts []store.Post) []videoItem {
	var out []videoItem
	add := func(id, mediaType, mediaURL string) {
		if mediaType == "VIDEO" && mediaURL != "" && mediadir.ValidMediaID(id) {
			out = append(out, videoItem{mediaID: id, url: mediaURL})
		}
	}
	for _, p := range posts {
		add(p.ID, p.MediaType, p.MediaURL)
		for _, c := range p.Children {
			add(c.ID, c.MediaType, c.MediaURL)
		}
	}
	return out
}

// mirrorPlan lists what the posts and the profile picture need: one item
// per distinct image, and the set of media ids that have an image.
func mirrorPlan(posts []store.Post, avatarURL string) ([]*mirrorItem, map[string]bool) {
	byKey := map[string]*mirrorItem{}
	var items []*mirrorItem
	wanted := map[string]bool{}
	add := func(mediaID, postID, u string) {
		if u == "" || !mediadir.ValidMediaID(mediaID) || wanted[mediaID] {
			return
		}
		wanted[mediaID] = true
		key := u
		if pu, err := url.Parse(u); err == nil {
			key = pu.Host + pu.Path // the same file under another signature
		}
		it, ok := byKey[key]
		if !ok {
			it = &mirrorItem{url: u}
			byKey[key] = it
			items = append(items, it)
		}
		it.targets = append(it.targets, mirrorTarget{mediaID: mediaID, postID: postID})
	}
	for _, p := range posts {
		cover := imageURLOf(p.MediaType, p.MediaURL, p.ThumbnailURL)
		if p.MediaType == "CAROUSEL_ALBUM" && len(p.Children) > 0 {
			c := p.Children[0]
			cover = imageURLOf(c.MediaType, c.MediaURL, c.ThumbnailURL)
		}
		add(p.ID, p.ID, cover)
		for _, c := range p.Children {
			add(c.ID, p.ID, imageURLOf(c.MediaType, c.MediaURL, c.ThumbnailURL))
		}
	}
	add(store.AvatarMediaID, store.AvatarMediaID, avatarURL)
	return items, wanted
}

// pruneMirror removes the images no post wants any more, with their
// videos, and the videos that are no longer wanted as they are: those of
// a post that stayed, when videoMaxBytes is now 0 or below their size. It
// returns the items still to download: the images not on disk and not
// refused as they are, the profile picture once it is a day old, and the
// videos not on disk that were not refused as too large.
func (f *Feed) pruneMirror(ctx context.Context, items []*mirrorItem, wanted map[string]bool, videos []videoItem) ([]*mirrorItem, []videoItem, error) {
	have, err := f.st.Images(ctx)
	if err != nil {
		return nil, nil, err
	}
	wantVideo := map[string]bool{}
	if f.videoMaxBytes > 0 {
		for _, v := range videos {
			wantVideo[v.mediaID] = true
		}
	}
	onDisk, videoOnDisk := map[string]bool{}, map[string]bool{}
	var gone []string
	for _, im := range have {
		if !wanted[im.MediaID] {
			gone = append(gone, im.MediaID)
			continue
		}
		if im.VideoPath != "" {
			kept, err := f.pruneVideo(ctx, im, wantVideo[im.MediaID])
			if err != nil {
				return nil, nil, err
			}
			videoOnDisk[im.MediaID] = kept
		}
		if im.MediaID == store.AvatarMediaID && f.now().Sub(im.MirroredAt) >= avatarMaxAge {
			continue // fetched again; the old copy serves until then
		}
		if v, ok := im.Largest(); ok && hasEveryWidth(im) && f.media.Exists(v.Path) {
			onDisk[im.MediaID] = true
		}
	}
	if len(gone) > 0 {
		if err := f.st.DeleteImages(ctx, gone); err != nil {
			return nil, nil, err
		}
		for _, id := range gone {
			_ = f.media.RemoveMedia(id)
		}
	}
	var todo []*mirrorItem
	for _, it := range items {
		it.targets = slices.DeleteFunc(it.targets, func(t mirrorTarget) bool {
			return onDisk[t.mediaID] || f.wasRefused(t.mediaID, it.url)
		})
		if len(it.targets) > 0 {
			todo = append(todo, it)
		}
	}
	var videoTodo []videoItem
	for _, v := range videos {
		if _, refused := f.videosTooLarge.Load(v.mediaID); wantVideo[v.mediaID] && !videoOnDisk[v.mediaID] && !refused {
			videoTodo = append(videoTodo, v)
		}
	}
	return todo, videoTodo, nil
}

// hasEveryWidth reports whether im has a variant at each of
// imaging.Widths its largest covers: one mirrored before a width was
// added is fetched again at the next sync, while Instagram's URL is fresh.
func hasEveryWidth(im store.Image) bool {
	largest, _ := im.Largest()
	for _, w := range imaging.Widths {
		if w <= largest.Width && !slices.ContainsFunc(im.Variants, func(v store.ImageVariant) bool { return v.Width == w }) {
			return false
		}
	}
	return true
}

// pruneVideo keeps im's mirrored video when it is still wanted, within
// videoMaxBytes and on disk; otherwise it removes the file and the record
// (a missing file is then fetched again).
func (f *Feed) pruneVideo(ctx context.Context, im store.Image, wanted bool) (kept bool, err error) {
	if wanted && im.VideoBytes <= f.videoMaxBytes && f.media.Exists(im.VideoPath) {
		return true, nil
	}
	if err := f.st.SaveVideo(ctx, im.MediaID, "", 0); err != nil {
		return false, err
	}
	_ = f.media.RemoveFile(im.VideoPath)
	return false, nil
}
