package fake

import _ "embed"

// sampleWebP is a 640×800 lossy WebP made for these tests (with cwebp from
// a generated gradient): Go has no WebP encoder, so the fake can't make
// one per post.
//
//go:embed assets/sample.webp
var sampleWebP []byte

// ServeWebP makes the CDN answer every image (not videos) with a WebP
// picture, as Instagram's may when a client doesn't insist on JPEG.
func (f *Fake) ServeWebP(on bool) {
	f.assetsMu.Lock()
	defer f.assetsMu.Unlock()
	f.webp = on
}
