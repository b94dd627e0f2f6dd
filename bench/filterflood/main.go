// Command filterflood measures what a flood of caption filters costs the
// visitors of a running Vitrine: random combinations of the captions' own
// words (1–4 to include, 0–2 to exclude), each a new word gallery, sent at
// full speed from several connections, while one plain visitor times
// /widget.js and a configured embed keeps asking for its filter. It
// prints the plain visitor's latency idle and under the flood, and what
// each kind of request was answered. bench/filterflood.sh runs it against
// the demo.
//
//	go run ./bench/filterflood -url http://127.0.0.1:18080
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:18080", "the Vitrine to measure")
	idle := flag.Duration("idle", 10*time.Second, "how long the plain visitor is timed alone")
	flood := flag.Duration("flood", 20*time.Second, "how long the flood lasts")
	conns := flag.Int("conns", 4, "flooding connections")
	flag.Parse()
	if err := run(*base, *idle, *flood, *conns); err != nil {
		fmt.Fprintln(os.Stderr, "filterflood:", err)
		os.Exit(1)
	}
}

func run(base string, idle, flood time.Duration, conns int) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns + 4}, Timeout: 30 * time.Second}
	words, err := captionWords(client, base)
	if err != nil {
		return err
	}
	if len(words) < 8 {
		return fmt.Errorf("the captions have %d words; a flood needs more", len(words))
	}
	// The configured embed filters on the commonest word, asked twice
	// before the flood, as its visitors would have.
	embed := "/widget.js?include_words=" + url.QueryEscape(words[0])
	for range 2 {
		if status, _, err := get(client, base+embed); err != nil || status != 200 {
			return fmt.Errorf("%s: %d %v", embed, status, err)
		}
	}

	idleLat, err := timePlain(client, base, idle)
	if err != nil {
		return err
	}

	// The control: the same connections at full speed asking for the
	// plain gallery, which costs what any prepared answer does; then the
	// filters.
	controlLat, _, _, controlStatus, err := floodWith(client, base, embed, flood, conns, func(*rand.Rand) string { return "/widget.js" })
	if err != nil {
		return err
	}
	floodLat, embedLat, embedStatus, floodStatus, err := floodWith(client, base, embed, flood, conns, func(rng *rand.Rand) string {
		return "/widget.js?" + randomFilter(rng, words)
	})
	if err != nil {
		return err
	}

	fmt.Printf("caption words: %d; flooding connections: %d\n\n", len(words), conns)
	fmt.Println("| who | requests | answers | p50 | p99 |")
	fmt.Println("|---|---:|---|---:|---:|")
	row := func(who string, lat []time.Duration, answers string) {
		fmt.Printf("| %s | %d | %s | %s | %s |\n", who, len(lat), answers, ms(percentile(lat, 50)), ms(percentile(lat, 99)))
	}
	row("plain `/widget.js`, alone", idleLat, "200")
	row("plain `/widget.js`, during a flood of plain requests (control)", controlLat, "200")
	fmt.Printf("| the control flood: plain `/widget.js` | %d | %s | | |\n", controlStatus.total(), controlStatus.String())
	row("plain `/widget.js`, during the flood of filters", floodLat, "200")
	row("configured embed `"+embed+"`, during the flood", embedLat, embedStatus.String())
	fmt.Printf("| the flood: new filters | %d | %s | | |\n", floodStatus.total(), floodStatus.String())
	fmt.Printf("\nplain p99 under the flood of filters: %.2f × idle, %.2f × under the control flood\n",
		float64(percentile(floodLat, 99))/float64(percentile(idleLat, 99)), float64(percentile(floodLat, 99))/float64(percentile(controlLat, 99)))
	return nil
}

// floodWith sends path(rng)'s requests at full speed from conns
// connections for d, while a configured embed asks for its filter every
// 100 ms and the plain visitor is timed.
func floodWith(client *http.Client, base, embed string, d time.Duration, conns int, path func(*rand.Rand) string) (plain, embedLat []time.Duration, embedStatus, floodStatus *statusCounts, err error) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	floodStatus, embedStatus = &statusCounts{}, &statusCounts{}
	for i := range conns {
		rng := rand.New(rand.NewPCG(uint64(i), 42))
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, _, err := get(client, base+path(rng))
				floodStatus.add(status, err)
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			status, took, err := get(client, base+embed)
			embedStatus.add(status, err)
			embedLat = append(embedLat, took)
		}
	})
	plain, err = timePlain(client, base, d)
	close(stop)
	wg.Wait()
	return plain, embedLat, embedStatus, floodStatus, err
}

// captionWords are the distinct words of the gallery's captions, the
// commonest first.
func captionWords(client *http.Client, base string) ([]string, error) {
	res, err := client.Get(base + "/widget.json")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var doc struct {
		Posts []struct {
			Caption string `json:"caption"`
		} `json:"posts"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("widget.json: %w", err)
	}
	count := map[string]int{}
	for _, p := range doc.Posts {
		for _, w := range strings.FieldsFunc(strings.ToLower(p.Caption), func(r rune) bool { return !unicode.IsLetter(r) && r != '#' }) {
			if len([]rune(w)) > 2 {
				count[w]++
			}
		}
	}
	words := make([]string, 0, len(count))
	for w := range count {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int {
		if count[a] != count[b] {
			return count[b] - count[a]
		}
		return strings.Compare(a, b)
	})
	return words, nil
}

// randomFilter is a query of 1–4 words to include and 0–2 to exclude.
func randomFilter(rng *rand.Rand, words []string) string {
	pick := func(n int) string {
		out := make([]string, n)
		for i := range out {
			out[i] = words[rng.IntN(len(words))]
		}
		return strings.Join(out, ",")
	}
	q := url.Values{"include_words": {pick(1 + rng.IntN(4))}}
	if n := rng.IntN(3); n > 0 {
		q.Set("exclude_words", pick(n))
	}
	return q.Encode()
}

// timePlain times GET /widget.js, one after the other, for d.
func timePlain(client *http.Client, base string, d time.Duration) ([]time.Duration, error) {
	var lat []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); {
		status, took, err := get(client, base+"/widget.js")
		if err != nil || status != 200 {
			return nil, fmt.Errorf("plain /widget.js: %d %v", status, err)
		}
		lat = append(lat, took)
	}
	return lat, nil
}

func get(client *http.Client, target string) (int, time.Duration, error) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, time.Since(start), err
}

type statusCounts struct {
	mu sync.Mutex
	n  map[string]int
	t  atomic.Int64
}

func (c *statusCounts) add(status int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	k := fmt.Sprint(status)
	if err != nil {
		k = "error"
	}
	c.n[k]++
	c.t.Add(1)
}

func (c *statusCounts) total() int64 { return c.t.Load() }

func (c *statusCounts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range c.n {
			if !yield(k) {
				return
			}
		}
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s × %d", k, c.n[k]))
	}
	return strings.Join(parts, ", ")
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
