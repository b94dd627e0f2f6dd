package fake

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"
)

// Media types of the real API.
const (
	MediaImage    = "IMAGE"
	MediaVideo    = "VIDEO"
	MediaCarousel = "CAROUSEL_ALBUM"
)

// Account is the Instagram professional account behind every token.
type Account struct {
	// ID is the app-scoped id that "id" returns on Graph v21+. As on the real
	// API it differs from UserID: clients should key on user_id.
	ID             string
	UserID         string // Instagram professional account id ("user_id", code exchange user_id)
	Username       string
	Name           string
	AccountType    string // "Business" or "Media_Creator"
	Biography      string
	Website        string
	FollowersCount int
	FollowsCount   int
	MediaCount     int // filled in by Fake.Account from the current posts
}

func defaultAccount() Account {
	return Account{
		ID:             "26412537291830114",
		UserID:         "17841405793187218",
		Username:       "vitrine.studio",
		Name:           "Vitrine Studio",
		AccountType:    "Business",
		Biography:      "Ceramics & light ✨ Handmade in Lisbon.",
		Website:        "https://vitrine.example/",
		FollowersCount: 1284,
		FollowsCount:   312,
	}
}

// Post is a media object. Zero fields get defaults when added: ID and
// Shortcode generated, MediaType IMAGE, Timestamp the clock's now, size
// 1080x1080. An empty Caption or AltText is omitted from responses, as the
// real API omits them.
type Post struct {
	ID            string
	MediaType     string // MediaImage, MediaVideo or MediaCarousel
	Caption       string
	AltText       string
	Timestamp     time.Time
	Shortcode     string
	Width, Height int  // size of the generated image (video: its thumbnail)
	NoMediaURL    bool // copyright-flagged: media_url is absent
	LikeCount     int
	CommentsCount int
	// WithholdLikeCount leaves like_count out of the post's answers, as
	// Instagram may when the owner hid the like count; WithholdCommentsCount
	// does the same for comments_count.
	WithholdLikeCount     bool
	WithholdCommentsCount bool
	// Children of a CAROUSEL_ALBUM (IMAGE or VIDEO); they have no permalink,
	// caption or shortcode and share the album's size and timestamp.
	Children []Post
}

// Permalink is the post's public instagram.com URL.
func (p Post) Permalink() string {
	return "https://www.instagram.com/p/" + p.Shortcode + "/"
}

func (p Post) clone() Post {
	p.Children = slices.Clone(p.Children)
	return p
}

// Account returns the default account.
func (f *Fake) Account() Account {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.account
	a.MediaCount = len(f.posts)
	return a
}

// MediaIDs returns the ids of the top-level posts, newest first.
func (f *Fake) MediaIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, len(f.posts))
	for i, p := range f.posts {
		ids[i] = p.ID
	}
	return ids
}

// Posts returns copies of the top-level posts, newest first.
func (f *Fake) Posts() []Post {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Post, len(f.posts))
	for i, p := range f.posts {
		out[i] = p.clone()
	}
	return out
}

// Post returns a copy of the post or carousel child with this id.
func (f *Fake) Post(id string) (Post, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.byID[id]
	if !ok {
		return Post{}, false
	}
	return p.clone(), true
}

// AddPost publishes p and returns its id. Adding a post whose id is already
// a top-level post replaces that post (an edit); an id taken by a carousel
// child is replaced by a fresh one.
func (f *Fake) AddPost(p Post) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addPostLocked(p, f.clock.Now())
}

// DeletePost removes a top-level post; false if there is none with this id.
// Its CDN files stay servable until their signed URLs expire, like the
// real CDN's.
func (f *Fake) DeletePost(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deletePostLocked(id)
}

// SetCounts changes a top-level post's like and comment counts; false if
// there is no such post.
func (f *Fake) SetCounts(id string, likes, comments int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.postIndexLocked(id)
	if i < 0 {
		return false
	}
	f.posts[i].LikeCount, f.posts[i].CommentsCount = likes, comments
	return true
}

// SetProfile changes the account's biography and follower count, as the
// owner's edits and new followers do.
func (f *Fake) SetProfile(biography string, followers int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.account.Biography, f.account.FollowersCount = biography, followers
}

// SetCaption changes a top-level post's caption ("" removes it); false if
// there is no such post.
func (f *Fake) SetCaption(id, caption string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.postIndexLocked(id)
	if i < 0 {
		return false
	}
	f.posts[i].Caption = caption
	return true
}

func (f *Fake) postIndexLocked(id string) int {
	return slices.IndexFunc(f.posts, func(p *Post) bool { return p.ID == id })
}

func (f *Fake) deletePostLocked(id string) bool {
	i := f.postIndexLocked(id)
	if i < 0 {
		return false
	}
	p := f.posts[i]
	for _, c := range p.Children {
		delete(f.byID, c.ID)
	}
	delete(f.byID, p.ID)
	f.posts = slices.Delete(f.posts, i, i+1)
	return true
}

func (f *Fake) addPostLocked(in Post, now time.Time) string {
	p := in.clone()
	if p.ID != "" && f.postIndexLocked(p.ID) >= 0 {
		f.deletePostLocked(p.ID)
	}
	if _, taken := f.byID[p.ID]; p.ID == "" || taken || p.ID == f.account.ID || p.ID == f.account.UserID {
		p.ID = f.newIDLocked()
	}
	switch p.MediaType {
	case MediaImage, MediaVideo, MediaCarousel:
	default:
		p.MediaType = MediaImage
	}
	if p.Timestamp.IsZero() {
		p.Timestamp = now
	}
	// The API has second resolution; keeping more would make cursors lie.
	p.Timestamp = p.Timestamp.UTC().Truncate(time.Second)
	if p.Shortcode == "" {
		p.Shortcode = f.newShortcodeLocked()
	}
	p.Width, p.Height = sanitizeSize(p.Width, p.Height)
	if p.MediaType != MediaCarousel {
		p.Children = nil
	}
	f.byID[p.ID] = nil // reserve before children draw ids
	for i := range p.Children {
		c := &p.Children[i]
		if _, taken := f.byID[c.ID]; c.ID == "" || taken {
			c.ID = f.newIDLocked()
		}
		if c.MediaType != MediaVideo {
			c.MediaType = MediaImage
		}
		c.Caption, c.Shortcode, c.Children = "", "", nil
		c.Timestamp = p.Timestamp
		c.Width, c.Height = p.Width, p.Height // Instagram crops a carousel to one ratio
		f.byID[c.ID] = c
		f.registerMediaAssets(c)
	}
	stored := &p // children's byID pointers share stored.Children's array
	f.byID[p.ID] = stored
	f.registerMediaAssets(stored)
	f.posts = append(f.posts, stored)
	slices.SortStableFunc(f.posts, func(a, b *Post) int { return compareNewestFirst(a, b) })
	return p.ID
}

// compareNewestFirst orders posts like /me/media: newest first, ties by id.
func compareNewestFirst(a, b *Post) int {
	if c := b.Timestamp.Compare(a.Timestamp); c != 0 {
		return c
	}
	return compareIDs(b.ID, a.ID)
}

// compareIDs compares numeric id strings numerically.
func compareIDs(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
}

func sanitizeSize(w, h int) (int, int) {
	if w <= 0 || h <= 0 {
		return 1080, 1080
	}
	// Bound memory of the generated JPEG; Instagram stores at most 1440 wide.
	return min(w, 2160), min(h, 3840)
}

func (f *Fake) newIDLocked() string {
	for {
		id := fmt.Sprintf("%d%015d", 17+f.rng.IntN(2), f.rng.Int64N(1e15))
		if _, taken := f.byID[id]; !taken && id != f.account.UserID && id != f.account.ID {
			return id
		}
	}
}

func (f *Fake) newShortcodeLocked() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := []byte{"CD"[f.rng.IntN(2)]}
	for len(b) < 11 {
		b = append(b, alphabet[f.rng.IntN(len(alphabet))])
	}
	return string(b)
}

func seedOf(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// Captions exercise what a gallery must survive: emoji (astral, ZWJ,
// flags), newlines, hashtags, mentions, HTML that must stay text, and a
// long one to truncate.
var captions = []string{
	"Golden hour on the terrace 🌅\n\n#sunset #goldenhour #vitrine",
	"New in the studio: hand-thrown mugs ☕️ Which glaze is your favourite?\n.\n.\n.\n#ceramics #handmade #pottery",
	"Behind the scenes ✨ #bts",
	"Morning light, slow coffee. ☀️",
	"Spring collection drop — link in bio 🌸🌿\n#newcollection #springvibes #shopsmall",
	"Café au lait & croissants 🥐 « petit déjeuner »",
	"5 things we learned this year 👇\n1. Ship small\n2. Ask often\n3. Rest\n4. Glaze thin\n5. Kiln slow",
	"Tag someone who'd love this 💛 @friend.of.vitrine",
	"Studio rules: <b>no</b> shoes & \"yes\" tea <script>alert('caption')</script> 🙃",
	"東京の朝 🇯🇵 #japan #旅",
	"Our painter at work 👩‍🎨🏳️‍🌈 #artist",
	"Kiln day 🔥🔥🔥",
	"A long one, for the widget to truncate: " + strings.Repeat("clay, water, fire and patience; ", 24) + "#process",
	"Weekend market this Saturday 10–16h 📍 Rua das Flores 12\n\nSee you there!",
	"Detail shot. #texture #closeup #wabisabi",
}

var altTexts = []string{
	"A speckled ceramic mug on a wooden table in soft morning light",
	"Three bowls stacked, glazed in blue, seen from above",
	"A potter's hands shaping wet clay on a wheel",
	"Shelves of unfired pots drying in a sunny studio",
}

// seedPosts creates the default account's n posts: deterministic (fixed
// seed), newest about three hours before start, one every day or two.
func (f *Fake) seedPosts(n int, start time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sizes := [][2]int{{1080, 1080}, {1080, 1350}, {1080, 566}}
	ts := start.Add(-3 * time.Hour)
	for i := 0; i < n; i++ {
		p := Post{
			MediaType:     MediaImage,
			Timestamp:     ts,
			LikeCount:     20 + f.rng.IntN(1980),
			CommentsCount: f.rng.IntN(80),
		}
		size := sizes[f.rng.IntN(len(sizes))]
		p.Width, p.Height = size[0], size[1]
		switch {
		case i%4 == 2:
			p.MediaType = MediaCarousel
			for j := range 2 + f.rng.IntN(3) {
				c := Post{MediaType: MediaImage}
				if j == 2 {
					c.MediaType = MediaVideo
				}
				if j == 0 && i%8 == 2 {
					c.AltText = altTexts[(i+j)%len(altTexts)]
				}
				p.Children = append(p.Children, c)
			}
		case i%5 == 3:
			p.MediaType = MediaVideo
			p.Width, p.Height = 1080, 1920 // reels are 9:16
		}
		if i == 7 {
			p.NoMediaURL = true
		}
		if i == 5 {
			p.WithholdLikeCount = true // the owner hid its likes
		}
		if i%9 != 4 {
			p.Caption = captions[i%len(captions)]
		}
		if p.MediaType == MediaImage && i%3 == 0 {
			p.AltText = altTexts[i%len(altTexts)]
		}
		f.addPostLocked(p, start)
		ts = ts.Add(-time.Duration(30+f.rng.IntN(30))*time.Hour - time.Duration(f.rng.IntN(3600))*time.Second)
	}
}
