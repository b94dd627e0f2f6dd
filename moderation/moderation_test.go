package moderation

import (
	"slices"
	"testing"
	"time"

	"vitrine/store"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// postsByDate are five posts, newest first, as the store lists them.
func postsByDate() []store.Post {
	var ps []store.Post
	for _, id := range []string{"p1", "p2", "p3", "p4", "p5"} {
		ps = append(ps, store.Post{ID: id})
	}
	return ps
}

func ids(ps []store.Post) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func hidden(id string, at time.Time) store.Moderation {
	return store.Moderation{PostID: id, HiddenAt: at}
}
func pinned(id string, at time.Time) store.Moderation {
	return store.Moderation{PostID: id, PinnedAt: at}
}

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		name      string
		decisions []store.Moderation
		want      []string
		pinned    []string
	}{
		{"no decisions", nil, []string{"p1", "p2", "p3", "p4", "p5"}, nil},
		{"hidden left out", []store.Moderation{hidden("p2", t0), hidden("p5", t0)}, []string{"p1", "p3", "p4"}, nil},
		// store.Moderation lists the most recently pinned first.
		{"pinned first, in the decisions' order",
			[]store.Moderation{pinned("p4", t0.Add(time.Minute)), pinned("p2", t0), hidden("p1", t0)},
			[]string{"p4", "p2", "p3", "p5"}, []string{"p2", "p4"}},
		{"a pin of a post no longer cached changes nothing",
			[]store.Moderation{pinned("gone", t0), pinned("p3", t0)},
			[]string{"p3", "p1", "p2", "p4", "p5"}, []string{"p3"}},
		{"a decision named twice counts once",
			[]store.Moderation{pinned("p5", t0), pinned("p5", t0)},
			[]string{"p5", "p1", "p2", "p3", "p4"}, []string{"p5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			posts := postsByDate()
			got, pins := Apply(posts, tc.decisions)
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("Apply = %v, want %v", ids(got), tc.want)
			}
			var names []string
			for id, ok := range pins {
				if ok {
					names = append(names, id)
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, tc.pinned) {
				t.Errorf("pinned = %v, want %v", names, tc.pinned)
			}
			if !slices.Equal(ids(posts), []string{"p1", "p2", "p3", "p4", "p5"}) {
				t.Errorf("Apply changed its argument: %v", ids(posts))
			}
		})
	}
}

// The owner's list is the gallery's order with the hidden posts where
// they would be.
func TestOrderKeepsHiddenPosts(t *testing.T) {
	decisions := []store.Moderation{pinned("p3", t0), hidden("p1", t0), hidden("p4", t0)}
	if got := ids(Order(postsByDate(), decisions)); !slices.Equal(got, []string{"p3", "p1", "p2", "p4", "p5"}) {
		t.Errorf("Order = %v", got)
	}
	shown, _ := Apply(postsByDate(), decisions)
	if got := ids(shown); !slices.Equal(got, []string{"p3", "p2", "p5"}) {
		t.Errorf("Apply = %v", got)
	}
}

// A hidden post's images are kept for HiddenImagesKept, to the instant.
func TestWithImages(t *testing.T) {
	decisions := []store.Moderation{hidden("p2", t0), hidden("p4", t0.Add(time.Hour)), pinned("p5", t0)}
	at := func(now time.Time) []string { return ids(WithImages(postsByDate(), decisions, now)) }
	if got := at(t0.Add(HiddenImagesKept - time.Nanosecond)); !slices.Equal(got, []string{"p1", "p2", "p3", "p4", "p5"}) {
		t.Errorf("just within the grace = %v, want every post", got)
	}
	if got := at(t0.Add(HiddenImagesKept)); !slices.Equal(got, []string{"p1", "p3", "p4", "p5"}) {
		t.Errorf("at the end of the grace = %v, want p2 left out", got)
	}
	if got := at(t0.Add(HiddenImagesKept + time.Hour)); !slices.Equal(got, []string{"p1", "p3", "p5"}) {
		t.Errorf("later = %v, want both hidden posts left out", got)
	}
	if got := ImagesGoAt(t0); !got.Equal(t0.Add(7 * 24 * time.Hour)) {
		t.Errorf("ImagesGoAt = %v, want a week later", got)
	}
	if HiddenImagesKept != 7*24*time.Hour || MaxPinned != 3 {
		t.Errorf("the rules changed: %v kept, %d pins", HiddenImagesKept, MaxPinned)
	}
}
