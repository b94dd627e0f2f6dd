package main

import (
	"bufio"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gen2brain/avif"
	xwebp "golang.org/x/image/webp"

	"vitrine/imaging"
)

// defaultAVIFSpeed is libaom's speed through libavif (0 slowest, 10
// fastest) unless -avif-speed says otherwise: 8 is as fast as it gets
// before its bytes grow a lot, which is the least AVIF could cost the
// mirror in time. Slower speeds spend time to save bytes.
const defaultAVIFSpeed = 8

// goalRatio is the goal for a modern format: at most this share of
// the JPEG's bytes, at scores at least the JPEG's.
const goalRatio = 0.6

// codec is a format as measured: how it encodes at a quality and decodes.
// Decoders are named explicitly: gen2brain's packages register their own
// WebAssembly decoders with image, and the mirror reads WebP with
// x/image/webp.
type codec struct {
	name      string
	qualities []int
	spec      string // the qualities as given
	encode    func(w io.Writer, img image.Image, quality int) error
	decode    func(r io.Reader) (image.Image, error)
	about     string // for the report: what encodes and decodes it
}

var codecs = map[string]codec{
	"jpeg": {
		name: "jpeg",
		encode: func(w io.Writer, img image.Image, q int) error {
			return jpeg.Encode(w, img, &jpeg.Options{Quality: q})
		},
		decode: jpeg.Decode,
		about:  "image/jpeg, as the mirror encodes",
	},
	"webp": {
		name:   "webp",
		encode: imaging.EncodeWebPAt,
		decode: decodeWebP,
		about:  "imaging.EncodeWebPAt, as the mirror encodes (libwebp, method 4, in WebAssembly), decoded by x/image/webp",
	},
	"avif": avifCodec(defaultAVIFSpeed),
}

// avifCodec is AVIF encoded by libaom at speed.
func avifCodec(speed int) codec {
	return codec{
		name: "avif",
		encode: func(w io.Writer, img image.Image, q int) error {
			return avif.Encode(w, img, avif.Options{Quality: q, QualityAlpha: q, Speed: speed,
				ChromaSubsampling: image.YCbCrSubsampleRatio420})
		},
		decode: avif.Decode,
		about:  fmt.Sprintf("gen2brain/avif (libavif and libaom in WebAssembly), speed %d, 4:2:0 like the others, decoded by the same", speed),
	}
}

// parseFormats returns the codecs a -formats list names, JPEG first
// whether named or not (every other format is held to it), each with its
// qualities parsed from qualities[name].
func parseFormats(s string, qualities map[string]string) ([]codec, error) {
	out := []codec{codecs["jpeg"]}
	for f := range strings.SplitSeq(s, ",") {
		name := strings.ToLower(strings.TrimSpace(f))
		c, ok := codecs[name]
		if !ok {
			return nil, fmt.Errorf("-formats %q: %q is not among jpeg, webp, avif", s, f)
		}
		if name == "jpeg" {
			continue
		}
		if slices.ContainsFunc(out, func(o codec) bool { return o.name == name }) {
			continue
		}
		qs, err := parseQualities(qualities[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c.qualities, c.spec = qs, qualities[name]
		out = append(out, c)
	}
	return out, nil
}

// ofFormat are the samples of one format.
func ofFormat(samples []sample, format string) []sample {
	var out []sample
	for _, s := range samples {
		if s.format == format {
			out = append(out, s)
		}
	}
	return out
}

// matchJPEG is the lowest quality of format at which the width's files
// score, by the rule, at least the same photographs' JPEGs of that width
// at the mirror's quality (imaging.JPEGQuality), and so does every higher
// quality measured: the JPEG rule, with each photograph's JPEG as its
// tile. jpegs holds the JPEG samples, others those of the format.
func matchJPEG(jpegs, others []sample, width int, qs []int, r rule) (quality int, ok bool, level map[string][channels]float64) {
	level = scoresAt(jpegs, width, imaging.JPEGQuality(width))
	quality, ok = pick(others, width, qs, level, r)
	return quality, ok, level
}

// decodeWebP decodes with x/image/webp, as the mirror would, but converts
// the pixels itself. A lossy WebP holds VP8's limited-range BT.601 YCbCr
// (Y from 16 to 235), which x/image/webp returns as an image.YCbCr, whose
// conversion to RGB reads it as JPEG's full range: black comes out as 16,
// white as 235. Scored that way, WebP would be charged for a loss of
// contrast that browsers, decoding with libwebp, do not show. Chroma is
// repeated, not interpolated, as image/jpeg's decoder does, so that the
// formats are scored alike.
func decodeWebP(r io.Reader) (image.Image, error) {
	img, err := xwebp.Decode(r)
	if err != nil {
		return nil, err
	}
	if yc, ok := img.(*image.YCbCr); ok {
		return limitedRangeToRGBA(yc), nil
	}
	return img, nil // lossless or with alpha: RGB already
}

// limitedRangeToRGBA converts limited-range BT.601 YCbCr, as VP8 stores
// it, to RGB.
func limitedRangeToRGBA(yc *image.YCbCr) *image.RGBA {
	b := yc.Bounds()
	out := image.NewRGBA(b)
	clamp := func(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			l := 1.164383 * (float64(yc.Y[yc.YOffset(x, y)]) - 16)
			ci := yc.COffset(x, y)
			cb, cr := float64(yc.Cb[ci])-128, float64(yc.Cr[ci])-128
			i := out.PixOffset(x, y)
			out.Pix[i] = clamp(l + 1.596027*cr)
			out.Pix[i+1] = clamp(l - 0.391762*cb - 0.812968*cr)
			out.Pix[i+2] = clamp(l + 2.017232*cb)
			out.Pix[i+3] = 255
		}
	}
	return out
}

// peakRSS is a process's VmHWM around one encode of a 1080 px file.
type peakRSS struct {
	quality       int
	before, after int // kB
	took          time.Duration
	err           error
}

// printPeakRSS encodes the first 1080 px variant of the corpus once in
// format (name:quality), in a process that has done nothing else, and
// prints the peak RSS before and after, and the encode's time: what the
// first encode adds to a mirror's peak, module compilation included.
func printPeakRSS(w io.Writer, spec string, photos []photo, root string) error {
	name, qText, _ := strings.Cut(spec, ":")
	c, ok := codecs[name]
	q, err := strconv.Atoi(qText)
	if !ok || err != nil {
		return fmt.Errorf("-peak-rss %q: want format:quality", spec)
	}
	var img *image.RGBA
	for i := range photos {
		if photos[i].crop.Dx() < instagramWidth {
			continue
		}
		if err := photos[i].load(root); err != nil {
			return err
		}
		img = variants(photos[i].src)[instagramWidth]
		photos[i].src = nil
		break
	}
	if img == nil {
		return fmt.Errorf("no photograph of the corpus is %d px wide", instagramWidth)
	}
	// Loading the source, often larger than a post, must not count: drop
	// what it left and reset the peak to the RSS now.
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the peak RSS: %w", err)
	}
	before, err := vmHWM()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := c.encode(io.Discard, img, q); err != nil {
		return err
	}
	took := time.Since(start)
	after, err := vmHWM()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%d %d %d\n", before, after, took.Microseconds())
	return err
}

// vmHWM is this process's peak RSS in kB.
func vmHWM() (int, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// peakRSSEach runs this command once per format, each in a process of its
// own, so that no other encode (or compiled module) counts.
func peakRSSEach(qualities map[string]int, order []string, corpusFile, root string) map[string]peakRSS {
	out := map[string]peakRSS{}
	self, err := os.Executable()
	for _, name := range order {
		p := peakRSS{quality: qualities[name], err: err}
		if err == nil {
			var o []byte
			o, p.err = exec.Command(self, "-corpus", corpusFile, "-root", root,
				"-peak-rss", fmt.Sprintf("%s:%d", name, p.quality)).Output()
			var us int64
			if p.err == nil {
				if _, e := fmt.Sscan(string(o), &p.before, &p.after, &us); e != nil {
					p.err = fmt.Errorf("%q: %w", o, e)
				}
			}
			p.took = time.Duration(us) * time.Microsecond
		}
		out[name] = p
	}
	return out
}

func ms(d float64) string { return fmt.Sprintf("%.1f", d/float64(time.Millisecond)) }

func ratio(a, b float64) string { return fmt.Sprintf("%.2f×", a/b) }

// reportModern writes, for each format but JPEG and each width, the
// format's scores and bytes at each quality against the JPEG of that
// width at the mirror's quality, the quality the rule picks, and the
// peak RSS of one encode per format.
func reportModern(w io.Writer, samples []sample, cs []codec, viewedScale map[int]float64, r rule, corpusFile, root string) {
	jpegs := ofFormat(samples, "jpeg")
	var names []string
	for _, c := range cs[1:] {
		names = append(names, c.name)
	}
	fmt.Fprintf(w, "Each width's variants (the same pixels as the JPEG section's) encoded as %s, at qualities %s, decoded and scored as the JPEGs are. Encoders:", strings.Join(names, " and "), qualityRanges(cs[1:]))
	for _, c := range cs {
		fmt.Fprintf(w, " %s by %s;", c.name, c.about)
	}
	fmt.Fprintf(w, " *encode ms* is the median wall time of one file's encode, %d encodes at a time on %d cores.\n\n", runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintf(w, "**The rule** is the JPEG section's, with each photograph's own JPEG of the width at the mirror's quality (`imaging.JPEGQuality`) as its tile: on each of %s, a quality passes when the median and lowest viewed scores of the width's files are at least the median and lowest of the same photographs' JPEGs, and at most %g%% of them (rounded down) score below their own JPEG (lower by more than %s); the width gets the lowest quality measured at which it and every higher quality measured pass. The goal: at most %g× the JPEG's bytes there.\n\n",
		r, 100*r.below, strconv.FormatFloat(tie, 'f', -1, 64), goalRatio)
	type pickAt struct {
		quality int
		ok      bool
	}
	picks := map[string]map[int]pickAt{}
	for _, c := range cs[1:] {
		picks[c.name] = map[int]pickAt{}
		others := ofFormat(samples, c.name)
		for _, width := range imaging.Widths {
			jq := imaging.JPEGQuality(width)
			ref := summarise(jpegs, width, jq, nil)
			if ref.n == 0 {
				continue
			}
			q, ok, level := matchJPEG(jpegs, others, width, c.qualities, r)
			picks[c.name][width] = pickAt{q, ok}
			tgt := target(others, width, level)
			fmt.Fprintf(w, "**%s, %d px**: %d photographs, viewed at %g file px per CSS px, against their JPEGs at %d (median %.0f bytes, %d in all, encode %s ms): Y median %.5f, lowest %.5f; Cb median %.5f, lowest %.5f; Cr median %.5f, lowest %.5f; at most %d below their own.\n\n",
				c.name, width, ref.n, max(1, viewedScale[width]), jq, ref.medianBytes, ref.totalBytes, ms(ref.medianEncode),
				tgt[lumaY].median, tgt[lumaY].lowest, tgt[chromaCb].median, tgt[chromaCb].lowest, tgt[chromaCr].median, tgt[chromaCr].lowest, r.allowed(ref.n))
			fmt.Fprintln(w, "| quality | median bytes | corpus bytes vs JPEG | SSIM median | MS-SSIM median | viewed Y median | Y lowest | Y below | viewed Cb median | Cb lowest | Cb below | viewed Cr median | Cr lowest | Cr below | encode ms | rule |")
			fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
			row := func(label string, st stats, verdict string) {
				fmt.Fprintf(w, "| %s | %.0f | %s | %.4f | %.4f |", label, st.medianBytes,
					ratio(float64(st.totalBytes), float64(ref.totalBytes)), st.medianSSIM, st.medianMS)
				for ch := range channels {
					v := st.viewed[ch]
					fmt.Fprintf(w, " %.4f | %.4f | %d |", v.median, v.lowest, len(v.belowTile))
				}
				fmt.Fprintf(w, " %s | %s |\n", ms(st.medianEncode), verdict)
			}
			row(fmt.Sprintf("JPEG %d (mirror)", jq), summarise(jpegs, width, jq, level), "")
			for _, cq := range c.qualities {
				if cq%5 != 0 && !(ok && cq == q) && cq != imaging.WebPQuality(width) {
					continue
				}
				st := summarise(others, width, cq, level)
				label := strconv.Itoa(cq)
				var notes []string
				if c.name == "webp" && cq == imaging.WebPQuality(width) {
					notes = append(notes, "mirror")
				}
				if ok && cq == q {
					notes = append(notes, "rule")
				}
				if len(notes) > 0 {
					label = fmt.Sprintf("**%d** (%s)", cq, strings.Join(notes, ", "))
				}
				verdict := "passes"
				if f := r.fails(st, tgt); f != "" {
					verdict = "fails: " + strings.Replace(f, "below tile", "below its JPEG", 1)
				}
				row(label, st, verdict)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "Per width, the rule's pick against the JPEG at the mirror's quality; *medians only* is the lowest quality from which only the medians match the JPEG's (no lowest, none counted below), with its corpus bytes against the JPEG's: a looser match, to show how far the rule's is. *Per photograph* is the most a mirror could save at equal scores, choosing a quality for each photograph: each at its smallest file measured that scores at least its own JPEG on every channel of the rule, or its JPEG where none does while smaller; its corpus bytes against the JPEG's.\n\n")
	fmt.Fprintln(w, "| width | format | rule picks | the mirror uses | median bytes, JPEG → it | ratio | corpus bytes, JPEG → it | ratio | viewed median Y / Cb / Cr, JPEG → it | encode ms, JPEG → it | at most 0.6× the JPEG's bytes | medians only | per photograph |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|---:|")
	for _, c := range cs[1:] {
		others := ofFormat(samples, c.name)
		for _, width := range imaging.Widths {
			p, measured := picks[c.name][width]
			if !measured {
				continue
			}
			mirror := "—"
			if c.name == "webp" {
				mirror = strconv.Itoa(imaging.WebPQuality(width))
			}
			ref := summarise(jpegs, width, imaging.JPEGQuality(width), nil)
			loose := "none"
			if q, ok, _ := matchJPEG(jpegs, others, width, c.qualities, rule{channels: r.channels, mediansOnly: true}); ok {
				loose = fmt.Sprintf("%d, %.2f×", q, float64(summarise(others, width, q, nil).totalBytes)/float64(ref.totalBytes))
			}
			each := fmt.Sprintf("%.2f×", perPhotograph(jpegs, others, width, r.channels))
			if !p.ok {
				fmt.Fprintf(w, "| %d | %s | none passes | %s | %.0f | | %d | | %.4f / %.4f / %.4f | %s | no: no quality measured matches the JPEG | %s | %s |\n",
					width, c.name, mirror, ref.medianBytes, ref.totalBytes,
					ref.viewed[lumaY].median, ref.viewed[chromaCb].median, ref.viewed[chromaCr].median, ms(ref.medianEncode), loose, each)
				continue
			}
			st := summarise(others, width, p.quality, nil)
			corpusRatio := float64(st.totalBytes) / float64(ref.totalBytes)
			goal := "yes"
			if corpusRatio > goalRatio {
				goal = fmt.Sprintf("no: %.2f×", corpusRatio)
			}
			fmt.Fprintf(w, "| %d | %s | %d | %s | %.0f → %.0f | %s | %d → %d | %.2f× | %.4f / %.4f / %.4f → %.4f / %.4f / %.4f | %s → %s | %s | %s | %s |\n",
				width, c.name, p.quality, mirror, ref.medianBytes, st.medianBytes, ratio(st.medianBytes, ref.medianBytes),
				ref.totalBytes, st.totalBytes, corpusRatio,
				ref.viewed[lumaY].median, ref.viewed[chromaCb].median, ref.viewed[chromaCr].median,
				st.viewed[lumaY].median, st.viewed[chromaCb].median, st.viewed[chromaCr].median,
				ms(ref.medianEncode), ms(st.medianEncode), goal, loose, each)
		}
	}
	fmt.Fprintln(w)

	// One 1080 px encode per format, at the quality the rule picked (or the
	// mirror's), each in a fresh process.
	qualities := map[string]int{"jpeg": imaging.JPEGQuality(instagramWidth)}
	var order []string
	for _, c := range cs {
		order = append(order, c.name)
		if c.name == "jpeg" {
			continue
		}
		qualities[c.name] = c.qualities[len(c.qualities)-1]
		if p := picks[c.name][instagramWidth]; p.ok {
			qualities[c.name] = p.quality
		}
	}
	peaks := peakRSSEach(qualities, order, corpusFile, root)
	fmt.Fprintf(w, "Peak RSS of one %d px encode (the corpus' first photograph that wide), each format in a fresh process after the peak is reset to the RSS of the loaded picture: what the first encode adds to a mirror's peak, the WebAssembly module's compilation included, and that first encode's time.\n\n", instagramWidth)
	fmt.Fprintln(w, "| format | quality | VmHWM before | after | growth | first encode ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, name := range order {
		p := peaks[name]
		if p.err != nil {
			fmt.Fprintf(w, "| %s | %d | not measured: %v | | | |\n", name, p.quality, p.err)
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %.1f MB | %.1f MB | %+.1f MB | %s |\n", name, p.quality,
			float64(p.before)/1024, float64(p.after)/1024, float64(p.after-p.before)/1024, ms(float64(p.took)))
	}
}

// perPhotograph is the corpus bytes of width at the most a mirror could
// save while no photograph scores below its JPEG (at the mirror's
// quality) on channels, against the JPEGs': each photograph's smallest
// file that scores at least its JPEG, or its JPEG where no smaller file
// does.
func perPhotograph(jpegs, others []sample, width int, channels []int) float64 {
	own := map[string]sample{}
	for _, s := range jpegs {
		if s.width == width && s.quality == imaging.JPEGQuality(width) {
			own[s.photo] = s
		}
	}
	best := map[string]int{}
	for _, s := range others {
		j, ok := own[s.photo]
		if !ok || s.width != width || s.bytes >= j.bytes {
			continue
		}
		if slices.ContainsFunc(channels, func(c int) bool { return under(s.viewed[c], j.viewed[c]) }) {
			continue
		}
		if b, seen := best[s.photo]; !seen || s.bytes < b {
			best[s.photo] = s.bytes
		}
	}
	var jpegBytes, bytes int
	for photo, j := range own {
		jpegBytes += j.bytes
		if b, ok := best[photo]; ok {
			bytes += b
		} else {
			bytes += j.bytes
		}
	}
	if jpegBytes == 0 {
		return 0
	}
	return float64(bytes) / float64(jpegBytes)
}

// qualityRanges describes each codec's qualities as given.
func qualityRanges(cs []codec) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s `%s`", c.name, c.spec))
	}
	return strings.Join(out, ", ")
}
