package imaging

// jpegQualities is the JPEG quality of each width, chosen with
// bench/jpegquality on real photographs (bench/RESULTS.md, "JPEG quality
// per width"). The level kept is that of each photograph's 240 px file at
// 82, the one quality every width had before, drawn at about one file
// pixel per CSS pixel: each width gets the lowest quality at which the
// photographs that have it, scored as the file is usually drawn (MS-SSIM
// of luma and of chroma), score a median and a lowest at least those of
// their own 240 px files, and at most one in ten scores below its own.
// 320 px files are drawn at about one file pixel per CSS pixel too, and
// need 86 to look as good. 640 and 1080 px ones are usually drawn at 1.5
// or more (phones' dense screens; desktop tiles and the lightbox at 1 to
// 2), where artifacts finer than a CSS pixel don't show: 640 px files
// take a fifth fewer bytes at 74, while 1080 px ones need 83, one more
// than before, as at 82 two of sixteen photographs score below their
// own 240 px file.
//
// Images mirrored before keep their files, at 82 (the mirror does not
// look at the quality of the files it has): re-encoding them would mean
// downloading each again from Instagram, as our own files have lost
// detail already, for some 10 KB per 640 px file. A 1080 px JPEG from
// Instagram is kept as it is, so 1080's quality applies to wider sources
// (Instagram's 1440 px) and to PNG or WebP.
var jpegQualities = []struct{ upTo, quality int }{
	{240, 82},
	{320, 86},
	{640, 74},
	{1080, 83},
}

// JPEGQuality is the quality a variant width px wide is encoded at: that
// of the narrowest of jpegQualities at least as wide (an image narrower
// than 240 px, stored at its own width, is drawn like a 240 px tile).
func JPEGQuality(width int) int {
	for _, q := range jpegQualities {
		if width <= q.upTo {
			return q.quality
		}
	}
	return jpegQualities[len(jpegQualities)-1].quality
}
