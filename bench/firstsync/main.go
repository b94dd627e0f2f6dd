// Command firstsync measures the memory of a Vitrine's first sync: the
// real binary, connected through its own admin and OAuth callback to an
// Instagram look-alike in another process (as the real one is) whose CDN
// serves real-size photographs. For each feed size and each setting of
// widget.webp it reports the peak RSS of the vitrine process (VmHWM) when
// the first gallery shows and once every image has its WebP, its RSS once
// that is over, the sync's own duration and what the WebP pass took (over
// as many syncs as it needs, each started from the admin), as a Markdown
// table. bench/firstsync.sh builds and runs it; see bench/README.md
// ("First sync").
//
// With -lookalike it is that look-alike instead: the fake Instagram of
// vitrine/instagram/fake, whose CDN's .jpg paths answer with the
// photographs in -photos.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"image"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"vitrine/instagram/fake"
)

func main() {
	var (
		lookalike = flag.Bool("lookalike", false, "run the Instagram look-alike instead (internal)")
		photos    = flag.String("photos", "", "directory of the photographs (made there when missing)")
		posts     = flag.String("posts", "100,1000", "comma-separated feed sizes to measure")
		bins      = flag.String("vitrine", "", "semicolon-separated label=path of vitrine binaries to measure")
		work      = flag.String("work", "", "working directory (data dirs, logs)")
		settle    = flag.Duration("settle", 10*time.Second, "wait after the last sync before reading the RSS after")
		webp      = flag.String("webp", "on,off", "comma-separated settings of widget.webp to measure")
		webpSyncs = flag.Int("webp-syncs", 0, "with widget.webp on: syncs to run at most, the rest of the WebP pass extrapolated (0: until no image lacks WebP)")
		ready     = flag.String("ready", "", "with -lookalike: file to write the look-alike's base URL to")
		redirect  = flag.String("redirect", "", "with -lookalike: the OAuth redirect URI to register")
	)
	flag.Parse()
	if *lookalike {
		n, _ := strconv.Atoi(*posts)
		if err := runLookalike(n, *photos, *ready, *redirect); err != nil {
			fmt.Fprintln(os.Stderr, "lookalike:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*photos, *posts, *bins, *webp, *work, *settle, *webpSyncs); err != nil {
		fmt.Fprintln(os.Stderr, "firstsync:", err)
		os.Exit(1)
	}
}

// photoCount photographs are made; posts cycle through them, as a feed's
// pictures differ.
const photoCount = 4

// makePhotos writes photoCount 1080×1350 JPEGs, about 300 KB each, into
// dir unless they are there: smooth colour fields, a textured middle
// ground and sensor-like grain, which is what makes a camera's JPEG that
// size (a flat synthetic picture compresses to a tenth of it).
func makePhotos(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for i := range photoCount {
		p := filepath.Join(dir, fmt.Sprintf("photo%d.jpg", i))
		paths = append(paths, p)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		img := drawPhoto(1080, 1350, uint64(i+1))
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 85}); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

func drawPhoto(w, h int, seed uint64) image.Image {
	rng := rand.New(rand.NewPCG(seed, 0x70686f746f))
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio444)
	// A few soft blobs of colour over a vertical gradient (sky to ground).
	type blob struct{ x, y, r, cr, cb float64 }
	var blobs []blob
	for range 6 {
		blobs = append(blobs, blob{rng.Float64() * float64(w), rng.Float64() * float64(h),
			150 + rng.Float64()*350, rng.Float64()*80 - 40, rng.Float64()*80 - 40})
	}
	f1, f2 := 0.01+rng.Float64()*0.02, 0.03+rng.Float64()*0.05
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			lum := 60 + 140*fy/float64(h)
			var cr, cb float64
			for _, b := range blobs {
				d := math.Hypot(fx-b.x, fy-b.y) / b.r
				k := math.Exp(-d * d)
				cr += b.cr * k
				cb += b.cb * k
				lum += 30 * k
			}
			// Texture: foliage- or fabric-like detail, strongest mid-frame.
			tex := math.Sin(fx*f1+math.Sin(fy*f2)*3) * math.Cos(fy*f1*1.3+math.Sin(fx*f2)*2)
			band := math.Exp(-math.Pow((fy/float64(h)-0.6)*3, 2))
			lum += 35 * tex * band
			lum += rng.NormFloat64() * 7 // grain
			i := img.YOffset(x, y)
			img.Y[i] = clamp8(lum)
			c := img.COffset(x, y)
			img.Cb[c] = clamp8(128 + cb + rng.NormFloat64()*2)
			img.Cr[c] = clamp8(128 + cr + rng.NormFloat64()*2)
		}
	}
	return img
}

func clamp8(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

// runLookalike serves the fake Instagram with n posts on loopback, its
// CDN's pictures being the photographs; it writes its base URL to ready
// and serves until killed.
func runLookalike(n int, photoDir, ready, redirectURI string) error {
	paths, err := makePhotos(photoDir)
	if err != nil {
		return err
	}
	var photos [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		photos = append(photos, b)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	f := fake.New(fake.Options{Posts: n, BaseURL: base, RedirectURIs: []string{redirectURI}, Clock: fake.NewWallClock()})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The fake draws its own small pictures; a photograph is what
		// decides the mirror's memory, so every .jpg on the CDN is one
		// (the same for a path every time). Signatures are not checked:
		// Vitrine only ever asks for the URLs the fake's API gave it.
		if strings.HasPrefix(r.URL.Path, "/cdn/") && strings.HasSuffix(r.URL.Path, ".jpg") {
			hash := fnv.New32a()
			io.WriteString(hash, r.URL.Path)
			w.Header().Set("Content-Type", "image/jpeg")
			w.Header().Set("Content-Length", strconv.Itoa(len(photos[int(hash.Sum32())%len(photos)])))
			w.Write(photos[int(hash.Sum32())%len(photos)])
			return
		}
		f.ServeHTTP(w, r)
	})
	if err := os.WriteFile(ready, []byte(base), 0o644); err != nil {
		return err
	}
	return http.Serve(ln, h)
}

type result struct {
	label      string
	webp       bool
	posts      int
	firstKB    int // VmHWM when the first sync's log line says it is done
	peakKB     int // VmHWM once the last sync is done
	afterKB    int
	syncTook   string
	mirrored   string
	loadBefore string
	loadAfter  string
	webpPass
}

// webpPass is what the syncs' WebP passes did, from their log lines.
type webpPass struct {
	syncs   int           // syncs that made WebP files
	images  int           // images given their WebP files
	failed  int           // images whose WebP failed
	left    int           // images still without WebP after the last
	took    time.Duration // the passes' own time, summed
	elapsed time.Duration // from the first sync's end to the last pass's
}

// perImage is the pass's time per image made.
func (w webpPass) perImage() time.Duration {
	if w.images == 0 {
		return 0
	}
	return w.took / time.Duration(w.images)
}

// total is the passes' time for every image: measured, or when images
// were left (-webp-syncs), extrapolated at the measured rate.
func (w webpPass) total() (d time.Duration, extrapolated bool) {
	return w.took + time.Duration(w.left)*w.perImage(), w.left > 0
}

func run(photoDir, postsList, binList, webpList, work string, settle time.Duration, webpSyncs int) error {
	if binList == "" || work == "" || photoDir == "" {
		return errors.New("-vitrine, -work and -photos are required")
	}
	paths, err := makePhotos(photoDir)
	if err != nil {
		return err
	}
	var sizes []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		sizes = append(sizes, strconv.FormatInt(st.Size()/1000, 10))
	}
	fmt.Fprintf(os.Stderr, "photographs: %d of 1080×1350, %s KB\n", len(paths), strings.Join(sizes, ", "))
	var results []result
	for _, ps := range strings.Split(postsList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(ps))
		if err != nil {
			return err
		}
		for _, lb := range strings.Split(binList, ";") {
			label, bin, ok := strings.Cut(lb, "=")
			if !ok {
				label, bin = "vitrine", lb
			}
			for _, w := range strings.Split(webpList, ",") {
				var webp bool
				switch strings.TrimSpace(w) {
				case "on":
					webp = true
				case "off":
				default:
					return fmt.Errorf("-webp: %q is neither on nor off", w)
				}
				dir := filepath.Join(work, fmt.Sprintf("%s-%d-webp-%s", label, n, onOff(webp)))
				r, err := measure(label, bin, webp, n, photoDir, dir, settle, webpSyncs)
				if err != nil {
					return fmt.Errorf("%s, webp %s, %d posts: %w", label, onOff(webp), n, err)
				}
				fmt.Fprintf(os.Stderr, "%s, webp %s, %d posts: peak %.1f MiB (%.1f at the first gallery), after %.1f MiB, sync %s, WebP %d images in %d syncs, %s\n",
					label, onOff(webp), n, mib(r.peakKB), mib(r.firstKB), mib(r.afterKB), r.syncTook, r.images, r.syncs, r.took.Round(time.Second))
				results = append(results, r)
			}
		}
	}
	fmt.Printf("photographs: %d of 1080×1350 px, %s KB (JPEG quality 85)\n\n", len(paths), strings.Join(sizes, ", "))
	fmt.Println("| build | widget.webp | posts | peak RSS at the first gallery | peak RSS (VmHWM) | RSS after | sync (mirror) time | images mirrored | WebP: images (syncs) | WebP pass | per image | every WebP made | load average before → after |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range results {
		webpCols := "– | – | – | –"
		if r.webp {
			total, extra := r.total()
			approx := ""
			if extra {
				approx = "≈ "
			}
			webpCols = fmt.Sprintf("%d (%d)", r.images, r.syncs)
			if r.failed > 0 {
				webpCols += fmt.Sprintf(", %d failed", r.failed)
			}
			if r.left > 0 {
				webpCols += fmt.Sprintf(", %d left", r.left)
			}
			webpCols += fmt.Sprintf(" | %s%.0f s | %.2f s | ", approx, total.Seconds(), r.perImage().Seconds())
			if extra {
				webpCols += "–"
			} else {
				webpCols += fmt.Sprintf("%.0f s after the sync", r.elapsed.Seconds())
			}
		}
		fmt.Printf("| %s | %s | %d | %.1f MiB | **%.1f MiB** | %.1f MiB | %s | %s | %s | %s → %s |\n", r.label, onOff(r.webp), r.posts,
			mib(r.firstKB), mib(r.peakKB), mib(r.afterKB), r.syncTook, r.mirrored, webpCols, r.loadBefore, r.loadAfter)
	}
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func mib(kb int) float64 { return float64(kb) / 1024 }

// measure runs one first sync: a look-alike with n posts, a fresh vitrine
// serve on it, signed in and connected as an owner would (Generate,
// Allow), then waits for the sync's log line. With webp, it then clicks
// "Sync now" after each sync whose WebP pass left images without WebP,
// until none are left or maxSyncs syncs (0: no limit) have run.
func measure(label, bin string, webp bool, n int, photoDir, dir string, settle time.Duration, maxSyncs int) (result, error) {
	r := result{label: label, webp: webp, posts: n}
	if err := os.RemoveAll(dir); err != nil {
		return r, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	port, err := freePort()
	if err != nil {
		return r, err
	}
	public := "http://127.0.0.1:" + strconv.Itoa(port)

	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	readyFile := filepath.Join(dir, "lookalike.url")
	la := exec.Command(self, "-lookalike", "-posts", strconv.Itoa(n), "-photos", photoDir,
		"-ready", readyFile, "-redirect", public+"/admin/callback")
	la.Stderr = os.Stderr
	if err := la.Start(); err != nil {
		return r, err
	}
	defer func() { la.Process.Kill(); la.Wait() }()
	var igBase string
	if err := waitFor(30*time.Second, func() bool {
		b, err := os.ReadFile(readyFile)
		igBase = string(b)
		return err == nil && igBase != ""
	}, 200*time.Millisecond); err != nil {
		return r, errors.New("the look-alike did not start")
	}

	const password = "firstsync-benchmark"
	hashCmd := exec.Command(bin, "hash-password")
	hashCmd.Stdin = strings.NewReader(password)
	hash, err := hashCmd.Output()
	if err != nil {
		return r, fmt.Errorf("hash-password: %w", err)
	}
	u, _ := url.Parse(igBase)
	cfg := fmt.Sprintf(`server:
  addr: 127.0.0.1:%d
  public_url: %s
data_dir: %s
admin:
  password_hash: %q
instagram:
  client_id: %q
  client_secret: %q
  auth_url: %s/oauth/authorize
  token_url: %s/oauth/access_token
  graph_url: %s
  media_hosts: [%q]
widget:
  max_posts: %d
`, port, public, filepath.Join(dir, "data"), strings.TrimSpace(string(hash)), fake.DefaultClientID, fake.DefaultClientSecret,
		igBase, igBase, igBase, u.Host, n)
	if !webp {
		// Only when off: on is the default, and a build from before
		// widget.webp refuses a key it does not know.
		cfg += "  webp: false\n"
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return r, err
	}
	logPath := filepath.Join(dir, "vitrine.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return r, err
	}
	defer logFile.Close()
	v := exec.Command(bin, "serve", "-config", cfgPath)
	v.Stdout, v.Stderr = logFile, logFile
	v.Env = os.Environ()
	if err := v.Start(); err != nil {
		return r, err
	}
	defer func() { v.Process.Signal(syscall.SIGTERM); v.Wait() }()
	if err := waitFor(30*time.Second, func() bool {
		resp, err := http.Get(public + "/widget")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 200*time.Millisecond); err != nil {
		return r, errors.New("vitrine did not start; see " + logPath)
	}

	r.loadBefore = loadAverage()
	admin, err := connect(public)
	if err != nil {
		return r, fmt.Errorf("connect: %w (log: %s)", err, logPath)
	}
	var line string
	if err := waitFor(30*time.Minute, func() bool {
		line = findLine(logPath, `msg="feed: synced"`)
		return line != ""
	}, 50*time.Millisecond); err != nil {
		return r, errors.New("no sync in the log " + logPath)
	}
	// The peak the JPEGs took: the WebP pass starts once the gallery is
	// rebuilt, after this line.
	r.firstKB = procStatus(v.Process.Pid, "VmHWM")
	r.syncTook = logField(line, "duration")
	if d, err := time.ParseDuration(r.syncTook); err == nil {
		r.syncTook = fmt.Sprintf("%.1f s", d.Seconds())
	}
	r.mirrored = logField(line, "mirrored")
	firstAt := logTime(line)

	// Each sync ends with its WebP pass; a job's line says it is over.
	var passes []string
	for syncs := 1; ; syncs++ {
		if err := waitFor(30*time.Minute, func() bool {
			return len(findLines(logPath, `msg="jobs: done" job=sync `)) >= syncs
		}, 200*time.Millisecond); err != nil {
			return r, fmt.Errorf("sync %d did not finish; see %s", syncs, logPath)
		}
		all := findLines(logPath, `msg="feed: WebP files made"`)
		if !webp || len(all) == len(passes) {
			break // none made (or a build without WebP): nothing more to wait for
		}
		passes = all
		if left, _ := strconv.Atoi(logField(passes[len(passes)-1], "left")); left == 0 || syncs == maxSyncs {
			break
		}
		if err := syncNow(admin, public, func() bool {
			return len(findLines(logPath, `msg="jobs: done" job=sync `)) > syncs
		}); err != nil {
			return r, fmt.Errorf("sync now: %w (log: %s)", err, logPath)
		}
	}
	for _, p := range passes {
		r.syncs++
		k, _ := strconv.Atoi(logField(p, "images"))
		f, _ := strconv.Atoi(logField(p, "failed"))
		d, _ := time.ParseDuration(logField(p, "duration"))
		r.images, r.failed, r.took = r.images+k, r.failed+f, r.took+d
	}
	if len(passes) > 0 {
		last := passes[len(passes)-1]
		r.left, _ = strconv.Atoi(logField(last, "left"))
		r.elapsed = logTime(last).Sub(firstAt)
	}
	r.peakKB = procStatus(v.Process.Pid, "VmHWM")
	r.loadAfter = loadAverage()
	time.Sleep(settle)
	r.afterKB = procStatus(v.Process.Pid, "VmRSS")
	if findLine(logPath, `mirror_failed=0`) == "" {
		return r, errors.New("some files failed to mirror; see " + logPath)
	}
	return r, nil
}

// syncNow clicks "Sync now" on the dashboard; while the last sync is still
// finishing (409) it tries again, unless another sync ran meanwhile (the
// scheduled one: then there is nothing to click for).
func syncNow(c *http.Client, public string, ranMeanwhile func() bool) error {
	body, _, err := get(c, public+"/admin")
	if err != nil {
		return err
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		return errors.New("no CSRF token on the dashboard")
	}
	return waitFor(2*time.Minute, func() bool {
		if ranMeanwhile() {
			return true
		}
		_, err := post(c, public+"/admin/sync", public, url.Values{"csrf_token": {m[1]}})
		return err == nil
	}, time.Second)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// connect signs in to the admin and clicks Generate, then Allow on the
// look-alike's consent page, and follows its redirect to the callback,
// which connects the account and starts the first sync. It returns the
// signed-in client.
func connect(public string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	body, _, err := get(c, public+"/admin/login")
	if err != nil {
		return nil, err
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		return nil, errors.New("no CSRF token on the login page")
	}
	if _, err := post(c, public+"/admin/login", public, url.Values{"csrf_token": {m[1]}, "password": {"firstsync-benchmark"}}); err != nil {
		return nil, err
	}
	_, authorize, err := get(c, public+"/admin/generate")
	if err != nil || authorize == "" {
		return nil, fmt.Errorf("generate: no redirect to the authorize page (%v)", err)
	}
	au, err := url.Parse(authorize)
	if err != nil {
		return nil, err
	}
	form := au.Query()
	form.Set("decision", "approve")
	au.RawQuery = ""
	callback, err := post(c, au.String(), "", form)
	if err != nil || callback == "" {
		return nil, fmt.Errorf("authorize: no redirect to the callback (%v)", err)
	}
	_, done, err := get(c, callback)
	if err != nil {
		return nil, err
	}
	if strings.Contains(done, "error") {
		return nil, errors.New("callback redirected to " + done)
	}
	return c, nil
}

func get(c *http.Client, u string) (body, location string, err error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		return "", "", fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return string(b), resp.Header.Get("Location"), nil
}

func post(c *http.Client, u, origin string, form url.Values) (location string, err error) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 400 {
		return "", fmt.Errorf("POST %s: %s", u, resp.Status)
	}
	return resp.Header.Get("Location"), nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitFor(limit time.Duration, ok func() bool, every time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for !ok() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
	return nil
}

// findLine is the first line of the file at path containing s.
func findLine(path, s string) string {
	if l := scanLines(path, s, true); len(l) > 0 {
		return l[0]
	}
	return ""
}

// findLines is every line of the file at path containing s.
func findLines(path, s string) []string { return scanLines(path, s, false) }

func scanLines(path, s string, first bool) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			lines = append(lines, sc.Text())
			if first {
				break
			}
		}
	}
	return lines
}

// logTime is when a text log line was written.
func logTime(line string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, logField(line, "time"))
	return t
}

// logField is key's value in a text log line.
func logField(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return "?"
}

// procStatus is a field of /proc/pid/status, in kB.
func procStatus(pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:1], " ")
}
