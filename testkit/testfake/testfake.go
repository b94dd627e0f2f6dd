// Package testfake adapts the fake Instagram (instagram/fake) to tests
// whose subject is not what it serves. It is apart from testkit because
// the fake's own tests use testkit.
package testfake

import "vitrine/instagram/fake"

// SmallPictures redraws the fake's posts at a third of their size (the
// default 1080-pixel squares, portraits and reels become 360 wide), each
// keeping its id, kind, shape, children and captions: for tests whose
// subject is not the pictures. Drawing a 1080-pixel JPEG at the fake, then
// decoding and resizing it to four widths in the app, is most of the CPU
// time of a test that mirrors a feed; feed's tests cover the sizes. Posts
// added later keep the size they are given.
func SmallPictures(f *fake.Fake) {
	for _, p := range f.Posts() {
		p.Width, p.Height = max(p.Width/3, 1), max(p.Height/3, 1)
		for i := range p.Children {
			p.Children[i].Width, p.Children[i].Height = 0, 0 // the album's, as on Instagram
		}
		f.AddPost(p) // the same id: replaces the post
	}
}
