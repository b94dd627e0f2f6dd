package fake

import _ "embed"

// sampleMP4 is what the CDN serves for every video: two seconds of
// ffmpeg's test pattern (moving, with a clock), 288×512 like a reel (9:16),
// H.264 Constrained Baseline, yuv420p, no sound, moov first so a browser
// plays it as it arrives; 50 KB. A real file, so a browser test can watch
// it play. Made once, with Debian's ffmpeg 5.1:
//
//	ffmpeg -f lavfi -i testsrc2=size=288x512:rate=25:duration=2 \
//	  -c:v libx264 -profile:v baseline -level 3.0 -pix_fmt yuv420p -crf 30 -preset veryslow \
//	  -movflags +faststart -an -map_metadata -1 -fflags +bitexact -flags:v +bitexact sample.mp4
//
//go:embed assets/sample.mp4
var sampleMP4 []byte
