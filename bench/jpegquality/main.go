// Command jpegquality measures, on real photographs, what each JPEG
// quality costs and keeps at each width the mirror stores (imaging.Widths),
// so that the quality of each width is chosen from numbers.
// bench/jpegquality.sh fetches the photographs and runs it; the results
// are in bench/RESULTS.md.
//
// Each photograph of the corpus list is cropped as the list says and
// scaled to at most 1080 px wide, as Instagram serves a post. Then the
// mirror's own cascade (imaging.ScaleVariants) scales it to each width it
// covers, and every variant is encoded with image/jpeg at each quality,
// decoded, and scored against the unencoded variant: SSIM and MS-SSIM of
// luma at the file's pixels, and MS-SSIM "viewed", after both are
// area-averaged by the number of file pixels per CSS pixel the width is
// usually drawn at (-viewed), as an eye that resolves CSS pixels sees
// them. Viewed scores are of luma and of both chroma channels, which
// image/jpeg stores at half the width and height (4:2:0) with their own
// table scaled by the quality; chroma is scored at full resolution, so
// what subsampling loses counts as well.
//
// The rule holds each width to the level of the narrowest files (240 px,
// drawn at about one file pixel per CSS pixel) at quality 82, what every
// width had before: a photograph's "tile" is its 240 px file's viewed
// score at 82. Over the photographs that have a width, a quality passes
// when, on each channel of -rule, their median and lowest viewed scores
// are at least the median and lowest tile of those same photographs, and
// at most a share of them (-below, rounded down) score below their own
// tile. The width gets the lowest quality measured at which it and every
// higher quality measured pass. It prints markdown: per width and
// quality, the median bytes, the corpus' bytes against quality 82, the
// scores and the rule's verdict; the picks with other shares; then the
// rule's pick per width beside the mirror's quality (imaging.JPEGQuality)
// and what the latter saves.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/draw"

	"vitrine/imaging"
)

// instagramWidth is the width Instagram serves a post at; the corpus'
// sources are scaled down to it.
const instagramWidth = 1080

// baseline is the quality the mirror used for every width before.
const baseline = 82

// photo is one line of the corpus list: a file from a Debian package and
// the part of it that is the post.
type photo struct {
	name, kind, pkg, path string
	crop                  image.Rectangle
	src                   *image.RGBA // the post as Instagram would serve it
}

// sample is one variant of one photo encoded in one format at one
// quality.
type sample struct {
	photo          string
	format         string // a codec's name: jpeg, webp or avif
	width, quality int
	bytes          int
	encode         time.Duration // the encoder's wall time for this file
	ssim, msssim   float64       // of luma, at the file's pixels
	// viewed is the MS-SSIM of each channel, Y, Cb and Cr, at the CSS
	// pixels the file is drawn at.
	viewed [channels]float64
}

func main() {
	corpusFile := flag.String("corpus", "bench/jpegquality/corpus.tsv", "the corpus list")
	root := flag.String("root", "", "the directory holding each package's files under its name (required)")
	qualities := flag.String("q", "50-95", "JPEG qualities to measure: a comma-separated list of qualities and ranges lo-hi or lo-hi/step")
	formatsFlag := flag.String("formats", "jpeg,webp", "the formats to measure, among jpeg, webp and avif (jpeg always: the others are held to it)")
	webpQualities := flag.String("webp-q", "40-65/5,66-100", "WebP qualities to measure, as -q")
	avifQualities := flag.String("avif-q", "30-80/5", "AVIF qualities to measure, as -q")
	avifSpeed := flag.Int("avif-speed", defaultAVIFSpeed, "libaom's speed for AVIF, 0 (slowest, fewest bytes) to 10")
	viewedFlag := flag.String("viewed", "240=1,320=1,640=1.5,1080=1.5", "file pixels per CSS pixel each width is drawn at, at the least in most cases")
	cropsDir := flag.String("crops", "", "also write each post, as scaled from its crop, as PNG into this directory")
	rawFile := flag.String("raw", "", "also write every sample as tab-separated values to this file")
	modernFile := flag.String("modern", "", "write the report on the formats other than JPEG to this file (markdown)")
	ruleFlag := flag.String("rule", "Y,Cb,Cr", "the channels the rule looks at")
	below := flag.Float64("below", 0.1, "the share of photographs that may score below their own tile")
	peakFormat := flag.String("peak-rss", "", "measure only the peak RSS growth of one 1080 px encode in this format, for the report's subprocess")
	flag.Parse()
	if *root == "" {
		fail(errors.New("-root is required"))
	}
	if *avifSpeed < 0 || *avifSpeed > 10 {
		fail(fmt.Errorf("-avif-speed %d: want 0 to 10", *avifSpeed))
	}
	codecs["avif"] = avifCodec(*avifSpeed)
	photos, err := readCorpus(*corpusFile)
	if err != nil {
		fail(err)
	}
	if *peakFormat != "" {
		if err := printPeakRSS(os.Stdout, *peakFormat, photos, *root); err != nil {
			fail(err)
		}
		return
	}
	qs, err := parseQualities(*qualities)
	if err != nil {
		fail(err)
	}
	// The JPEG report needs the baseline, the others the mirror's quality
	// of each width.
	qs = append(qs, baseline)
	for _, w := range imaging.Widths {
		qs = append(qs, imaging.JPEGQuality(w))
	}
	slices.Sort(qs)
	qs = slices.Compact(qs)
	cs, err := parseFormats(*formatsFlag, map[string]string{"jpeg": "", "webp": *webpQualities, "avif": *avifQualities})
	if err != nil {
		fail(err)
	}
	cs[0].qualities = qs
	viewedScale, err := parseViewed(*viewedFlag)
	if err != nil {
		fail(err)
	}
	ruleChannels, err := parseRuleChannels(*ruleFlag)
	if err != nil {
		fail(err)
	}
	for i := range photos {
		if err := photos[i].load(*root); err != nil {
			fail(err)
		}
		if *cropsDir != "" {
			if err := writePNG(filepath.Join(*cropsDir, photos[i].name+".png"), photos[i].src); err != nil {
				fail(err)
			}
		}
	}
	samples := measure(photos, cs, viewedScale)
	if *rawFile != "" {
		if err := writeRaw(*rawFile, samples); err != nil {
			fail(err)
		}
	}
	r := rule{channels: ruleChannels, below: *below}
	report(os.Stdout, photos, ofFormat(samples, "jpeg"), qs, viewedScale, r)
	if *modernFile != "" && len(cs) > 1 {
		var b bytes.Buffer
		reportModern(&b, samples, cs, viewedScale, r, *corpusFile, *root)
		if err := os.WriteFile(*modernFile, b.Bytes(), 0o644); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "jpegquality:", err)
	os.Exit(1)
}

// parseQualities reads a comma-separated list of qualities and ranges,
// each range lo-hi or lo-hi/step: "40-65/5,66-100".
func parseQualities(s string) ([]int, error) {
	var qs []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		lo, hi, isRange := strings.Cut(f, "-")
		if !isRange {
			q, err := strconv.Atoi(f)
			if err != nil || q < 1 || q > 100 {
				return nil, fmt.Errorf("-q %q: %q is not a quality", s, f)
			}
			qs = append(qs, q)
			continue
		}
		hi, stepText, stepped := strings.Cut(hi, "/")
		step, err3 := 1, error(nil)
		if stepped {
			step, err3 = strconv.Atoi(stepText)
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || err3 != nil || a < 1 || b > 100 || a > b || step < 1 {
			return nil, fmt.Errorf("-q %q: %q is not lo-hi or lo-hi/step within 1-100", s, f)
		}
		for q := a; q <= b; q += step {
			qs = append(qs, q)
		}
	}
	slices.Sort(qs)
	return slices.Compact(qs), nil
}

func parseViewed(s string) (map[int]float64, error) {
	out := map[int]float64{}
	for f := range strings.SplitSeq(s, ",") {
		w, k, ok := strings.Cut(strings.TrimSpace(f), "=")
		wi, err1 := strconv.Atoi(w)
		ki, err2 := strconv.ParseFloat(k, 64)
		if !ok || err1 != nil || err2 != nil || ki < 1 {
			return nil, fmt.Errorf("-viewed %q: want width=k,…", s)
		}
		out[wi] = ki
	}
	return out, nil
}

// readCorpus reads the list: tab-separated name, kind, package, path in
// the package, crop as x,y,w,h in the file's pixels, and licence (for
// people, not read); # starts a comment.
func readCorpus(name string) ([]photo, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []photo
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Split(line, "\t")
		if len(fs) != 6 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 6", name, n, len(fs))
		}
		var c [4]int
		for i, v := range strings.Split(fs[4], ",") {
			if i >= 4 {
				return nil, fmt.Errorf("%s:%d: crop %q: want x,y,w,h", name, n, fs[4])
			}
			if c[i], err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("%s:%d: crop %q: want x,y,w,h", name, n, fs[4])
			}
		}
		out = append(out, photo{name: fs[0], kind: fs[1], pkg: fs[2], path: fs[3],
			crop: image.Rect(c[0], c[1], c[0]+c[2], c[1]+c[3])})
	}
	return out, sc.Err()
}

// load decodes the photo's file, crops it, and scales the crop to
// instagramWidth when it is wider.
func (p *photo) load(root string) error {
	f, err := os.Open(filepath.Join(root, p.pkg, p.path))
	if err != nil {
		return err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	if !p.crop.In(img.Bounds()) {
		return fmt.Errorf("%s: crop %v is outside the image's %v", p.name, p.crop, img.Bounds())
	}
	w := min(p.crop.Dx(), instagramWidth)
	h := int(math.Round(float64(p.crop.Dy()) * float64(w) / float64(p.crop.Dx())))
	p.src = image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(p.src, p.src.Bounds(), img, p.crop, draw.Src, nil)
	return nil
}

// variants are src's variants as the mirror draws them
// (imaging.ScaleVariants), by width. None is the source kept as it is: the
// mirror re-encodes every width of a source wider than 1080 px or not a
// JPEG, and drawing the post at its own 1080 px leaves its pixels as
// they are.
func variants(src *image.RGBA) map[int]*image.RGBA {
	out := map[int]*image.RGBA{}
	for v := range imaging.ScaleVariants(src, false) {
		out[v.Width] = v.Image.(*image.RGBA)
	}
	return out
}

// measure encodes every variant of every photo in every format at each
// of its qualities and scores it, on as many goroutines as there are CPUs.
func measure(photos []photo, cs []codec, viewedScale map[int]float64) []sample {
	type job struct {
		photo string
		width int
		img   *image.RGBA
	}
	jobs := make(chan job)
	var (
		mu  sync.Mutex
		out []sample
		wg  sync.WaitGroup
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for j := range jobs {
				s := measureOne(j.photo, j.width, j.img, cs, max(1, viewedScale[j.width]))
				mu.Lock()
				out = append(out, s...)
				mu.Unlock()
			}
		})
	}
	for i, p := range photos {
		fmt.Fprintf(os.Stderr, "jpegquality: %d/%d %s (%dx%d)\n", i+1, len(photos), p.name, p.src.Bounds().Dx(), p.src.Bounds().Dy())
		for w, img := range variants(p.src) {
			jobs <- job{p.name, w, img}
		}
	}
	close(jobs)
	wg.Wait()
	slices.SortFunc(out, func(a, b sample) int {
		return cmp.Or(cmp.Compare(a.format, b.format), cmp.Compare(a.photo, b.photo), cmp.Compare(a.width, b.width), cmp.Compare(a.quality, b.quality))
	})
	return out
}

func measureOne(name string, width int, img *image.RGBA, cs []codec, k float64) []sample {
	refPlanes := ycbcr(img)
	ref := newReference(refPlanes[lumaY])
	var viewedRefs [channels]*reference
	for c, p := range refPlanes {
		viewedRefs[c] = newReference(areaDown(p, k))
	}
	var out []sample
	for _, c := range cs {
		for _, q := range c.qualities {
			var buf bytes.Buffer
			start := time.Now()
			if err := c.encode(&buf, img, q); err != nil {
				fail(fmt.Errorf("%s: %s at %d: %w", name, c.name, q, err))
			}
			took := time.Since(start)
			n := buf.Len()
			dec, err := c.decode(&buf)
			if err != nil {
				fail(fmt.Errorf("%s: decoding %s at %d: %w", name, c.name, q, err))
			}
			rgba := image.NewRGBA(dec.Bounds())
			draw.Draw(rgba, rgba.Bounds(), dec, dec.Bounds().Min, draw.Src)
			ps := ycbcr(rgba)
			s := sample{photo: name, format: c.name, width: width, quality: q, bytes: n, encode: took}
			s.ssim, s.msssim = ref.scores(ps[lumaY])
			for ch, p := range ps {
				_, s.viewed[ch] = viewedRefs[ch].scores(areaDown(p, k))
			}
			out = append(out, s)
		}
	}
	return out
}

func writePNG(name string, img image.Image) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeRaw(name string, samples []sample) error {
	var b strings.Builder
	b.WriteString("photo\tformat\twidth\tquality\tbytes\tencode_ms\tssim\tmsssim\tviewed_msssim\tviewed_msssim_cb\tviewed_msssim_cr\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "%s\t%s\t%d\t%d\t%d\t%.3f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\n", s.photo, s.format, s.width, s.quality, s.bytes,
			float64(s.encode)/float64(time.Millisecond), s.ssim, s.msssim, s.viewed[lumaY], s.viewed[chromaCb], s.viewed[chromaCr])
	}
	return os.WriteFile(name, []byte(b.String()), 0o644)
}

// tiles are, for each photograph, the viewed scores of its narrowest
// variant (imaging.Widths[0]) at the baseline quality: what each photograph
// looks like today as a tile drawn at about one file pixel per CSS pixel,
// the level the rule keeps.
func tiles(samples []sample) map[string][channels]float64 {
	return scoresAt(samples, imaging.Widths[0], baseline)
}

// scoresAt are, for each photograph, the viewed scores of its variant of
// the given width at the given quality.
func scoresAt(samples []sample, width, quality int) map[string][channels]float64 {
	out := map[string][channels]float64{}
	for _, s := range samples {
		if s.width == width && s.quality == quality {
			out[s.photo] = s.viewed
		}
	}
	return out
}

// stats summarises one width at one quality over the photos that have
// that width.
type stats struct {
	n           int
	totalBytes  int
	medianBytes float64
	medianSSIM  float64
	medianMS    float64
	// medianEncode is the median encode time, in nanoseconds.
	medianEncode float64
	viewed       [channels]channelStats
}

// channelStats are one channel's viewed scores over some photographs:
// the median, the lowest, and the photographs under their own tile.
type channelStats struct {
	median, lowest float64
	belowTile      []string
}

func summarise(samples []sample, width, q int, tiles map[string][channels]float64) stats {
	var st stats
	var bs, ss, ms, es []float64
	var vs [channels][]float64
	for _, s := range samples {
		if s.width != width || s.quality != q {
			continue
		}
		st.n++
		es = append(es, float64(s.encode))
		st.totalBytes += s.bytes
		bs = append(bs, float64(s.bytes))
		ss = append(ss, s.ssim)
		ms = append(ms, s.msssim)
		t, hasTile := tiles[s.photo]
		for c := range channels {
			vs[c] = append(vs[c], s.viewed[c])
			if hasTile && under(s.viewed[c], t[c]) {
				st.viewed[c].belowTile = append(st.viewed[c].belowTile, s.photo)
			}
		}
	}
	st.medianBytes, st.medianSSIM, st.medianMS, st.medianEncode = median(bs), median(ss), median(ms), median(es)
	for c := range channels {
		st.viewed[c].median, st.viewed[c].lowest = median(vs[c]), lowest(vs[c])
	}
	return st
}

// target is what the rule holds a width to: the median and lowest tile
// of the photographs that have that width, so that both sides of each
// comparison are the same photographs.
func target(samples []sample, width int, tiles map[string][channels]float64) [channels]channelStats {
	var vs [channels][]float64
	seen := map[string]bool{}
	for _, s := range samples {
		if s.width != width || seen[s.photo] {
			continue
		}
		seen[s.photo] = true
		if t, ok := tiles[s.photo]; ok {
			for c := range channels {
				vs[c] = append(vs[c], t[c])
			}
		}
	}
	var out [channels]channelStats
	for c := range channels {
		out[c].median, out[c].lowest = median(vs[c]), lowest(vs[c])
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func lowest(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return slices.Min(v)
}

// tie is how much lower a score must be to count as lower: closer than
// that is rounding, such as the chroma of a grey photograph, which scores
// 1 to six decimals at every width and quality.
const tie = 1e-5

// under reports whether score a is lower than b by more than tie.
func under(a, b float64) bool { return a < b-tie }

// rule is what a width's quality must keep of the tiles, on each of its
// channels, over the photographs that have the width: their median and
// lowest viewed scores at least the median and lowest of the same
// photographs' tiles, and at most a share of them (rounded down) below
// their own tile.
type rule struct {
	channels []int
	below    float64
	// mediansOnly drops the lowest and below-tile criteria: a looser
	// match, reported beside the rule's to show how far off it is.
	mediansOnly bool
}

// allowed is how many of n photographs may score below their own tile.
func (r rule) allowed(n int) int { return int(math.Floor(r.below*float64(n) + 1e-9)) }

// fails returns the first criterion st misses against tgt, "" when it
// meets them all.
func (r rule) fails(st stats, tgt [channels]channelStats) string {
	if st.n == 0 {
		return "not measured"
	}
	for _, c := range r.channels {
		v, t := st.viewed[c], tgt[c]
		switch {
		case math.IsNaN(t.median):
			return "no tiles"
		case under(v.median, t.median):
			return channelNames[c] + " median"
		case r.mediansOnly:
			continue
		case under(v.lowest, t.lowest):
			return channelNames[c] + " lowest"
		case len(v.belowTile) > r.allowed(st.n):
			return channelNames[c] + " below tile"
		}
	}
	return ""
}

func (r rule) String() string {
	names := make([]string, len(r.channels))
	for i, c := range r.channels {
		names[i] = channelNames[c]
	}
	return strings.Join(names, ", ")
}

func parseRuleChannels(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		c := slices.Index(channelNames[:], strings.TrimSpace(f))
		if c < 0 {
			return nil, fmt.Errorf("-rule %q: want channels among Y, Cb, Cr", s)
		}
		out = append(out, c)
	}
	return out, nil
}

// picks are the rule's quality for each of imaging.Widths it finds one for.
func (r rule) picks(samples []sample, qs []int, tiles map[string][channels]float64) map[int]int {
	out := map[int]int{}
	for _, width := range imaging.Widths {
		if q, ok := pick(samples, width, qs, tiles, r); ok {
			out[width] = q
		}
	}
	return out
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// pick is the rule's quality for a width: the lowest quality measured at
// which the width passes and so does every higher quality measured.
func pick(samples []sample, width int, qs []int, tiles map[string][channels]float64, r rule) (int, bool) {
	tgt := target(samples, width, tiles)
	q, ok := 0, false
	for _, cand := range slices.Backward(qs) {
		if r.fails(summarise(samples, width, cand, tiles), tgt) != "" {
			break
		}
		q, ok = cand, true
	}
	return q, ok
}

func report(w io.Writer, photos []photo, samples []sample, qs []int, viewedScale map[int]float64, r rule) {
	fmt.Fprintf(w, "Corpus: %d photographs (bench/jpegquality/corpus.tsv):", len(photos))
	for i, p := range photos {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(w, "%s %s (%s, %d×%d)", sep, p.name, p.kind, p.src.Bounds().Dx(), p.src.Bounds().Dy())
	}
	fmt.Fprintf(w, ".\n\n")
	fmt.Fprintf(w, "*SSIM* and *MS-SSIM* are of luma at the file's pixels. *Viewed* is MS-SSIM after area-averaging both images by the file pixels per CSS pixel given for each width, of luma (Y) and of each chroma channel (Cb, Cr, scored at full resolution against the source's, so what 4:2:0 subsampling loses counts too; image/jpeg's decoder repeats each chroma sample instead of interpolating as libjpeg-turbo does by default, so chroma scores are if anything low). A photograph's *tile* is the viewed score of its own %d px file at quality %d; *below* counts the photographs under their own tile; *rule* says whether a quality passes the rule, or the first criterion it fails.\n\n",
		imaging.Widths[0], baseline)
	fmt.Fprintf(w, "**The rule**, on each of %s: over the photographs that have a width, a quality passes when their median and lowest viewed scores are at least the median and lowest tile of those same photographs, and at most %g%% of them (rounded down) are below their own tile; a score counts as lower only when it is more than %s lower. Each width gets the lowest quality measured at which it and every higher quality measured pass.\n\n",
		r, 100*r.below, strconv.FormatFloat(tie, 'f', -1, 64))
	tl := tiles(samples)
	picks := r.picks(samples, qs, tl)
	for _, width := range imaging.Widths {
		base := summarise(samples, width, baseline, tl)
		if base.n == 0 {
			continue
		}
		tgt := target(samples, width, tl)
		var ts []string
		for _, c := range r.channels {
			ts = append(ts, fmt.Sprintf("%s median %.5f, lowest %.5f", channelNames[c], tgt[c].median, tgt[c].lowest))
		}
		fmt.Fprintf(w, "**%d px**: %d photographs, viewed at %g file px per CSS px. Their tiles: %s; at most %d below their own.\n\n",
			width, base.n, max(1, viewedScale[width]), strings.Join(ts, "; "), r.allowed(base.n))
		fmt.Fprintln(w, "| quality | median bytes | corpus bytes vs q82 | SSIM median | MS-SSIM median | viewed Y median | Y lowest | Y below | viewed Cb median | Cb lowest | Cb below | viewed Cr median | Cr lowest | Cr below | rule |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
		for _, q := range qs {
			if q%5 != 0 && q != baseline && q != picks[width] && q != imaging.JPEGQuality(width) {
				continue
			}
			st := summarise(samples, width, q, tl)
			label := strconv.Itoa(q)
			var notes []string
			if q == baseline {
				notes = append(notes, "before")
			}
			if q == imaging.JPEGQuality(width) {
				notes = append(notes, "mirror")
			}
			if q == picks[width] {
				notes = append(notes, "rule")
			}
			if len(notes) > 0 {
				label = fmt.Sprintf("**%d** (%s)", q, strings.Join(notes, ", "))
			}
			verdict := "passes"
			if f := r.fails(st, tgt); f != "" {
				verdict = "fails: " + f
			}
			fmt.Fprintf(w, "| %s | %.0f | %+.1f%% | %.4f | %.4f |", label, st.medianBytes,
				100*(float64(st.totalBytes)/float64(base.totalBytes)-1), st.medianSSIM, st.medianMS)
			for c := range channels {
				v := st.viewed[c]
				fmt.Fprintf(w, " %.4f | %.4f | %d |", v.median, v.lowest, len(v.belowTile))
			}
			fmt.Fprintf(w, " %s |\n", verdict)
		}
		fmt.Fprintln(w)
	}
	var others []string
	for _, b := range []float64{0, 0.1, 0.2, 0.25} {
		if b == r.below {
			continue
		}
		alt := rule{channels: r.channels, below: b}
		ps := alt.picks(samples, qs, tl)
		var ws []string
		for _, width := range imaging.Widths {
			if q, ok := ps[width]; ok {
				ws = append(ws, fmt.Sprintf("%d", q))
			} else if base := summarise(samples, width, baseline, tl); base.n > 0 {
				ws = append(ws, "none")
			}
		}
		others = append(others, fmt.Sprintf("%g%%: %s", 100*b, strings.Join(ws, ", ")))
	}
	fmt.Fprintf(w, "With another share of photographs allowed below their own tile (`-below`), the rule would pick, for %s px: %s.\n\n",
		joinInts(imaging.Widths), strings.Join(others, "; "))
	fmt.Fprintln(w, "| width | photographs | rule picks | the mirror uses | corpus bytes at q82 | at the mirror's quality | change | median bytes at q82 | at the mirror's quality |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, width := range imaging.Widths {
		base := summarise(samples, width, baseline, tl)
		if base.n == 0 {
			continue
		}
		pickLabel := "none passes"
		if q, ok := picks[width]; ok {
			pickLabel = strconv.Itoa(q)
		}
		used := imaging.JPEGQuality(width)
		nowBytes, change, nowMedian := "not measured", "", ""
		if now := summarise(samples, width, used, tl); now.n > 0 {
			nowBytes = strconv.Itoa(now.totalBytes)
			change = fmt.Sprintf("%+.1f%%", 100*(float64(now.totalBytes)/float64(base.totalBytes)-1))
			nowMedian = fmt.Sprintf("%.0f", now.medianBytes)
		}
		fmt.Fprintf(w, "| %d | %d | %s | %d | %d | %s | %s | %.0f | %s |\n", width, base.n, pickLabel, used, base.totalBytes, nowBytes, change, base.medianBytes, nowMedian)
	}
}
