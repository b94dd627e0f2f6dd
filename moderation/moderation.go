// Package moderation holds the rules of the owner's decisions about posts:
// how many may be pinned, that pinned posts come first and hidden ones
// are left out, how long a hidden post's images stay, and what a post's
// link may be (link.go). The store keeps
// the decisions, admin takes them, and the gallery and the mirror follow
// them through this package, so each rule is written once.
package moderation

import (
	"errors"
	"time"

	"vitrine/store"
)

// Action is one of the owner's decisions about a post.
type Action string

// The actions the dashboard's Posts section offers.
const (
	Hide  Action = "hide"
	Show  Action = "show"
	Pin   Action = "pin"
	Unpin Action = "unpin"
)

// ErrNotShownYet: the decision is saved, but the gallery could not be
// rebuilt to show it; it will be at the next rebuild (a sync, or another
// process's poll).
var ErrNotShownYet = errors.New("moderation: saved, but the gallery does not show it yet")

// MaxPinned is how many posts may be pinned to the front of the gallery
// at once: a few keep "first" meaningful.
const MaxPinned = 3

// HiddenImagesKept is how long the mirrored images of a post the owner hid
// are kept: long enough that showing it again after a slip costs no
// download, short enough that what the owner took down does not stay on
// the server.
const HiddenImagesKept = 7 * 24 * time.Hour

// Apply applies the owner's decisions to posts (newest first), as the
// gallery shows them: the pinned ones first, in the order of decisions
// (store.Moderation lists the most recently pinned first), then the others
// in their order; hidden ones are left out. pinned names the pinned posts.
// A decision about a post not in posts changes nothing.
func Apply(posts []store.Post, decisions []store.Moderation) (shown []store.Post, pinned map[string]bool) {
	return order(posts, decisions, true)
}

// Order is Apply's order with the hidden posts kept where they would be,
// for the owner's list of every post.
func Order(posts []store.Post, decisions []store.Moderation) []store.Post {
	out, _ := order(posts, decisions, false)
	return out
}

func order(posts []store.Post, decisions []store.Moderation, dropHidden bool) (out []store.Post, pinned map[string]bool) {
	if len(decisions) == 0 {
		return posts, nil
	}
	byID := make(map[string]int, len(posts))
	for i, p := range posts {
		byID[p.ID] = i
	}
	hidden := map[string]bool{}
	pinned = map[string]bool{}
	out = make([]store.Post, 0, len(posts))
	for _, d := range decisions {
		i, cached := byID[d.PostID]
		switch {
		case d.Hidden():
			hidden[d.PostID] = true
		case d.Pinned() && cached && !pinned[d.PostID]:
			pinned[d.PostID] = true
			out = append(out, posts[i])
		}
	}
	for _, p := range posts {
		if !pinned[p.ID] && !(dropHidden && hidden[p.ID]) {
			out = append(out, p)
		}
	}
	return out, pinned
}

// ImagesGoAt is when the mirrored images of a post hidden at hiddenAt
// stop being kept: the first sync from then on deletes them.
func ImagesGoAt(hiddenAt time.Time) time.Time { return hiddenAt.Add(HiddenImagesKept) }

// WithImages is the posts whose mirrored images are kept at now: all but
// those hidden for HiddenImagesKept or longer. The mirror wants none of
// the others' images, and so deletes them.
func WithImages(posts []store.Post, decisions []store.Moderation, now time.Time) []store.Post {
	gone := map[string]bool{}
	for _, d := range decisions {
		if d.Hidden() && !now.Before(ImagesGoAt(d.HiddenAt)) {
			gone[d.PostID] = true
		}
	}
	if len(gone) == 0 {
		return posts
	}
	kept := make([]store.Post, 0, len(posts))
	for _, p := range posts {
		if !gone[p.ID] {
			kept = append(kept, p)
		}
	}
	return kept
}
