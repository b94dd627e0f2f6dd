// Command jpegquality measures, on real photographs, what each JPEG
// quality costs and keeps at each width the mirror stores (feed.Widths),
// so that the quality of each width is chosen from numbers.
// bench/jpegquality.sh fetches the photographs and runs it; the results
// are in bench/RESULTS.md.
//
// Each photograph of the corpus list is cropped as the list says and
// scaled to at most 1080 px wide, as Instagram serves a post. Then, as
// the mirror does, it is scaled to each width it covers, each width from
// the one above (feed.ScaleVariants), and every variant is encoded with
// image/jpeg at each quality, decoded, and scored against the unencoded
// variant on luma: SSIM and MS-SSIM at the file's pixels, and MS-SSIM
// "viewed", after both are area-averaged by the number of file pixels
// per CSS pixel the width is usually drawn at (-viewed), as an eye that
// resolves CSS pixels sees them.
//
// The rule: a width gets the lowest quality whose median and lowest
// viewed scores over the corpus are at least those of the narrowest files
// (240 px, drawn at about one file pixel per CSS pixel) at quality 82,
// what every width had before. It prints markdown: per width and
// quality, the median bytes, the bytes against quality 82, the median and
// lowest scores, and how many photographs score below their own 240 px
// file; then the rule's pick per width beside the mirror's quality
// (feed.JPEGQuality) and what the latter saves.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
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

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp"

	"vitrine/feed"
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

// sample is one variant of one photo encoded at one quality.
type sample struct {
	photo          string
	width, quality int
	bytes          int
	ssim, msssim   float64 // at the file's pixels
	viewed         float64 // MS-SSIM at the CSS pixels it is drawn at
}

func main() {
	corpusFile := flag.String("corpus", "bench/jpegquality/corpus.tsv", "the corpus list")
	root := flag.String("root", "", "the directory holding each package's files under its name (required)")
	qualities := flag.String("q", "50-95", "qualities to measure: a range lo-hi, or a comma-separated list")
	viewedFlag := flag.String("viewed", "240=1,320=1,640=1.5,1080=1.5", "file pixels per CSS pixel each width is drawn at, at the least in most cases")
	cropsDir := flag.String("crops", "", "also write each post, as scaled from its crop, as PNG into this directory")
	rawFile := flag.String("raw", "", "also write every sample as tab-separated values to this file")
	flag.Parse()
	if *root == "" {
		fail(errors.New("-root is required"))
	}
	qs, err := parseQualities(*qualities)
	if err != nil {
		fail(err)
	}
	if !slices.Contains(qs, baseline) {
		qs = append(qs, baseline)
		slices.Sort(qs)
	}
	viewedScale, err := parseViewed(*viewedFlag)
	if err != nil {
		fail(err)
	}
	photos, err := readCorpus(*corpusFile)
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
	samples := measure(photos, qs, viewedScale)
	if *rawFile != "" {
		if err := writeRaw(*rawFile, samples); err != nil {
			fail(err)
		}
	}
	report(os.Stdout, photos, samples, qs, viewedScale)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "jpegquality:", err)
	os.Exit(1)
}

func parseQualities(s string) ([]int, error) {
	var qs []int
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 1 || b > 100 || a > b {
			return nil, fmt.Errorf("-q %q: want lo-hi within 1-100", s)
		}
		for q := a; q <= b; q++ {
			qs = append(qs, q)
		}
		return qs, nil
	}
	for f := range strings.SplitSeq(s, ",") {
		q, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || q < 1 || q > 100 {
			return nil, fmt.Errorf("-q %q: %q is not a quality", s, f)
		}
		qs = append(qs, q)
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
// (feed.ScaleVariants), by width. None is the source kept as it is: the
// mirror re-encodes every width of a source wider than 1080 px or not a
// JPEG, and drawing the post at its own 1080 px leaves its pixels as
// they are.
func variants(src *image.RGBA) map[int]*image.RGBA {
	out := map[int]*image.RGBA{}
	for v := range feed.ScaleVariants(src, false) {
		out[v.Width] = v.Image.(*image.RGBA)
	}
	return out
}

// measure encodes every variant of every photo at every quality and
// scores it, on as many goroutines as there are CPUs.
func measure(photos []photo, qs []int, viewedScale map[int]float64) []sample {
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
				s := measureOne(j.photo, j.width, j.img, qs, max(1, viewedScale[j.width]))
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
		return cmp.Or(cmp.Compare(a.photo, b.photo), cmp.Compare(a.width, b.width), cmp.Compare(a.quality, b.quality))
	})
	return out
}

func measureOne(name string, width int, img *image.RGBA, qs []int, k float64) []sample {
	refLuma := luma(img)
	ref := newReference(refLuma)
	viewedRef := newReference(areaDown(refLuma, k))
	var out []sample
	for _, q := range qs {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
			fail(err)
		}
		n := buf.Len()
		dec, err := jpeg.Decode(&buf)
		if err != nil {
			fail(err)
		}
		rgba := image.NewRGBA(dec.Bounds())
		draw.Draw(rgba, rgba.Bounds(), dec, dec.Bounds().Min, draw.Src)
		y := luma(rgba)
		ssim, msssim := ref.scores(y)
		_, viewed := viewedRef.scores(areaDown(y, k))
		out = append(out, sample{photo: name, width: width, quality: q, bytes: n, ssim: ssim, msssim: msssim, viewed: viewed})
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
	b.WriteString("photo\twidth\tquality\tbytes\tssim\tmsssim\tviewed_msssim\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "%s\t%d\t%d\t%d\t%.5f\t%.5f\t%.5f\n", s.photo, s.width, s.quality, s.bytes, s.ssim, s.msssim, s.viewed)
	}
	return os.WriteFile(name, []byte(b.String()), 0o644)
}

// tile is the score each photograph's narrowest variant had at the
// baseline quality, viewed: the level the rule keeps.
func tile(samples []sample) map[string]float64 {
	out := map[string]float64{}
	for _, s := range samples {
		if s.width == feed.Widths[0] && s.quality == baseline {
			out[s.photo] = s.viewed
		}
	}
	return out
}

// stats summarises one width at one quality over the photos that have
// that width.
type stats struct {
	n                       int
	totalBytes              int
	medianBytes             float64
	medianSSIM              float64
	medianMS, minMS         float64
	medianViewed, minViewed float64
	belowTile               []string // photos whose viewed score is under their tile's
}

func summarise(samples []sample, width, q int, tiles map[string]float64) stats {
	var st stats
	var bs, ss, ms, vs []float64
	st.minMS, st.minViewed = 2, 2
	for _, s := range samples {
		if s.width != width || s.quality != q {
			continue
		}
		st.n++
		st.totalBytes += s.bytes
		bs = append(bs, float64(s.bytes))
		ss = append(ss, s.ssim)
		ms = append(ms, s.msssim)
		vs = append(vs, s.viewed)
		st.minMS, st.minViewed = min(st.minMS, s.msssim), min(st.minViewed, s.viewed)
		if t, ok := tiles[s.photo]; ok && s.viewed < t {
			st.belowTile = append(st.belowTile, s.photo)
		}
	}
	st.medianBytes, st.medianSSIM, st.medianMS, st.medianViewed = median(bs), median(ss), median(ms), median(vs)
	return st
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

// pick is the rule: the lowest quality from which on, at every quality
// measured, the median and the lowest viewed score of the width are at
// least the target's, the narrowest tiles' at the baseline quality.
func pick(samples []sample, width int, qs []int, tiles map[string]float64, target stats) (int, bool) {
	q, ok := 0, false
	for _, cand := range slices.Backward(qs) {
		st := summarise(samples, width, cand, tiles)
		if st.n == 0 || st.medianViewed < target.medianViewed || st.minViewed < target.minViewed {
			break
		}
		q, ok = cand, true
	}
	return q, ok
}

func report(w io.Writer, photos []photo, samples []sample, qs []int, viewedScale map[int]float64) {
	fmt.Fprintf(w, "Corpus: %d photographs (bench/jpegquality/corpus.tsv):", len(photos))
	for i, p := range photos {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(w, "%s %s (%s, %d×%d)", sep, p.name, p.kind, p.src.Bounds().Dx(), p.src.Bounds().Dy())
	}
	fmt.Fprintf(w, ". Scores are on luma; *viewed* is MS-SSIM after area-averaging both images by the file pixels per CSS pixel given for each width; *below tile* counts the photographs whose viewed score is under that of their own %d px file at quality %d.\n\n", feed.Widths[0], baseline)
	tiles := tile(samples)
	target := summarise(samples, feed.Widths[0], baseline, tiles)
	fmt.Fprintf(w, "The rule: each width gets the lowest quality whose median and lowest viewed scores are at least those of the %d px files at quality %d, %.4f and %.4f.\n\n",
		feed.Widths[0], baseline, target.medianViewed, target.minViewed)
	picks := map[int]int{}
	for _, width := range feed.Widths {
		if q, ok := pick(samples, width, qs, tiles, target); ok {
			picks[width] = q
		}
	}
	for _, width := range feed.Widths {
		base := summarise(samples, width, baseline, tiles)
		if base.n == 0 {
			continue
		}
		fmt.Fprintf(w, "**%d px** (%d photographs; viewed at %g file px per CSS px)\n\n", width, base.n, max(1, viewedScale[width]))
		fmt.Fprintln(w, "| quality | median bytes | bytes vs q82 | SSIM median | MS-SSIM median | MS-SSIM lowest | viewed median | viewed lowest | below tile |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, q := range qs {
			if q%5 != 0 && q != baseline && q != picks[width] && q != feed.JPEGQuality(width) {
				continue
			}
			st := summarise(samples, width, q, tiles)
			label := strconv.Itoa(q)
			var notes []string
			if q == baseline {
				notes = append(notes, "before")
			}
			if q == feed.JPEGQuality(width) {
				notes = append(notes, "mirror")
			}
			if q == picks[width] {
				notes = append(notes, "rule")
			}
			if len(notes) > 0 {
				label = fmt.Sprintf("**%d** (%s)", q, strings.Join(notes, ", "))
			}
			fmt.Fprintf(w, "| %s | %.0f | %+.1f%% | %.4f | %.4f | %.4f | %.4f | %.4f | %d |\n", label, st.medianBytes,
				100*(float64(st.totalBytes)/float64(base.totalBytes)-1), st.medianSSIM, st.medianMS, st.minMS,
				st.medianViewed, st.minViewed, len(st.belowTile))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "| width | rule picks | the mirror uses | corpus bytes at q82 | at the mirror's quality | change |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|")
	for _, width := range feed.Widths {
		base := summarise(samples, width, baseline, tiles)
		if base.n == 0 {
			continue
		}
		rule := "none measured"
		if q, ok := picks[width]; ok {
			rule = strconv.Itoa(q)
		}
		used := feed.JPEGQuality(width)
		nowBytes, change := "not measured", ""
		if now := summarise(samples, width, used, tiles); now.n > 0 {
			nowBytes = strconv.Itoa(now.totalBytes)
			change = fmt.Sprintf("%+.1f%%", 100*(float64(now.totalBytes)/float64(base.totalBytes)-1))
		}
		fmt.Fprintf(w, "| %d | %s | %d | %d | %s | %s |\n", width, rule, used, base.totalBytes, nowBytes, change)
	}
}
