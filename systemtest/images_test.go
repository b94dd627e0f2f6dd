package systemtest

import "vitrine/instagram/fake"

// smallPictures redraws the fake's posts at a third of their size (the
// default 1080-pixel squares, portraits and reels become 360 wide), each
// keeping its id, shape, kind and captions: for tests whose subject is not
// the pictures. Drawing a 1080-pixel JPEG at the fake, then decoding and
// resizing it to four widths in the app, is most of the CPU time of an app
// that mirrors a feed; feed's tests cover the sizes.
func smallPictures(f *fake.Fake) {
	for _, p := range f.Posts() {
		p.Width, p.Height = max(p.Width/3, 1), max(p.Height/3, 1)
		for i := range p.Children {
			p.Children[i].Width, p.Children[i].Height = 0, 0 // the album's, as on Instagram
		}
		f.AddPost(p) // same id: replaces the post
	}
}
