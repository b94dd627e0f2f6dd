package app_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"vitrine/alerts"
	"vitrine/feed"
	"vitrine/jobs"
	"vitrine/mediadir"
	"vitrine/store"
	"vitrine/testkit/testvitrine"
)

// smallDisk is a file system with room for so many bytes of the media
// directory's files: a write past it stores what fits and fails with
// ENOSPC, as a full disk does. Files removed give their room back.
type smallDisk struct {
	mu      sync.Mutex
	room    int64
	full    bool // a write failed since the last Resize
	creates int  // files created
	after   int  // files created after a write failed
}

func (d *smallDisk) resize(room int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.room, d.full, d.after = room, false, 0
}

func (d *smallDisk) create(dir, prefix string) (mediadir.File, error) {
	d.mu.Lock()
	d.creates++
	if d.full {
		d.after++
	}
	d.mu.Unlock()
	f, err := mediadir.CreateTemp(dir, prefix)
	if err != nil {
		return nil, err
	}
	return &smallDiskFile{File: f, disk: d}, nil
}

type smallDiskFile struct {
	mediadir.File
	disk *smallDisk
}

func (f *smallDiskFile) Write(p []byte) (int, error) {
	d := f.disk
	d.mu.Lock()
	fits := min(int64(len(p)), max(d.room, 0))
	d.room -= fits
	if fits < int64(len(p)) {
		d.full = true
	}
	d.mu.Unlock()
	n, err := f.File.Write(p[:fits])
	if err == nil && n < len(p) {
		err = &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return n, err
}

// TestFullDiskIsNamedAlertedAndRecovered fills the media directory's disk
// during a sync: the sync says "data directory full: N images not
// mirrored" on its run (the dashboard's sync card) and in the activity
// log, stops asking the disk for more, leaves no temporary file and only
// whole files recorded; ops get one alert, counted by reason in the
// metrics; a later sync on a disk with room mirrors everything and ops
// hear it is resolved.
func TestFullDiskIsNamedAlertedAndRecovered(t *testing.T) {
	disk := &smallDisk{room: 40 << 10} // room for some of the fake's small pictures, not all
	v := newVitrine(t, testvitrine.MediaFiles(disk.create))
	v.connect()

	err := v.run(jobs.JobSync)
	var full *feed.NoSpaceError
	if !errors.As(err, &full) || !errors.Is(err, syscall.ENOSPC) || full.Images == 0 {
		t.Fatalf("sync on a full disk: %v, want a feed.NoSpaceError", err)
	}
	// Whether a video was waiting when the disk filled depends on which
	// download finished first: the words follow the counts either way.
	want := "data directory full: " + full.NotMirrored()
	words := fmt.Sprintf("%d images", full.Images)
	if full.Images == 1 {
		words = "1 image"
	}
	if !strings.Contains(want, words) {
		t.Fatalf("NotMirrored() = %q, want it to count %s", full.NotMirrored(), words)
	}
	if run := v.jobRun(jobs.JobSync); run.LastOK || !strings.Contains(run.LastError, want) {
		t.Fatalf("the sync's recorded run: ok %v, %q; want %q", run.LastOK, run.LastError, want)
	}
	if !slices.ContainsFunc(v.events(), func(e store.Event) bool {
		return e.Level == store.LevelError && strings.Contains(e.Message, "Data directory full: "+strings.TrimPrefix(want, "data directory full: "))
	}) {
		t.Fatalf("no activity saying %q: %v", want, v.events())
	}
	disk.mu.Lock()
	after := disk.after
	disk.mu.Unlock()
	// Writes in flight when the disk filled may still create their file;
	// nothing started afterwards does.
	if after > 4 {
		t.Fatalf("%d files created after the disk was found full: the mirror kept asking for space", after)
	}
	v.assertWholeFiles()
	if k := v.hook.kinds(); len(k) != 1 || k[0] != alerts.AlertDiskFull || !strings.Contains(v.hook.last().Subject, "images not mirrored") &&
		!strings.Contains(v.hook.last().Subject, "image not mirrored") {
		t.Fatalf("alerts after the disk filled: %v %q, want one %s", k, v.hook.last().Subject, alerts.AlertDiskFull)
	}
	m := v.metrics()
	if !strings.Contains(m, fmt.Sprintf(`vitrine_mirror_failures_total{reason="no_space"} %d`, full.Images)) {
		t.Fatalf("metrics do not count %d failures for no_space:\n%s", full.Images, grepLines(m, "vitrine_mirror_failures_total"))
	}
	for _, series := range []string{`vitrine_disk_free_bytes{dir="data"}`, `vitrine_disk_size_bytes{dir="media"}`, "vitrine_database_up 1"} {
		if !strings.Contains(m, series) {
			t.Fatalf("metrics lack %s:\n%s", series, grepLines(m, "vitrine_d"))
		}
	}
	shown := v.galleryPosts()
	if shown == 0 || shown == 6 {
		t.Fatalf("the gallery shows %d of 6 posts on the disk that filled: the test wants some mirrored, some not", shown)
	}

	// Still full: no second alert (a reminder waits for remind_every).
	if err := v.run(jobs.JobSync); !errors.Is(err, feed.ErrNoSpace) {
		t.Fatalf("second sync on the full disk: %v", err)
	}
	if k := v.hook.kinds(); len(k) != 1 {
		t.Fatalf("alerts after a second sync on the full disk: %v, want the first alone", k)
	}

	// Room again: the next sync mirrors the rest by itself.
	disk.resize(1 << 30)
	if err := v.run(jobs.JobSync); err != nil {
		t.Fatalf("sync with room again: %v", err)
	}
	if run := v.jobRun(jobs.JobSync); !run.LastOK {
		t.Fatalf("the sync's run after room came back: %q", run.LastError)
	}
	if k := v.hook.kinds(); len(k) != 2 || k[1] != alerts.AlertDiskResolved {
		t.Fatalf("alerts after room came back: %v, want %s then %s", k, alerts.AlertDiskFull, alerts.AlertDiskResolved)
	}
	if n := v.galleryPosts(); n != 6 || n <= shown && shown != 6 {
		t.Fatalf("the gallery shows %d posts after room came back (%d while full), want 6", n, shown)
	}
	v.assertWholeFiles()

	// A restart remembers that ops were told: nothing is sent again.
	v.Restart(nil)
	v.CheckFaults(v.ctx)
	if k := v.hook.kinds(); len(k) != 2 {
		t.Fatalf("alerts after a restart: %v", k)
	}
}

func (v *vitrine) events() []store.Event {
	v.T.Helper()
	evs, err := v.Store.Events(v.ctx, 50)
	if err != nil {
		v.T.Fatal(err)
	}
	return evs
}

// assertWholeFiles checks the media directory: no temporary file left
// behind, and every recorded file there with the size recorded.
func (v *vitrine) assertWholeFiles() {
	v.T.Helper()
	for _, f := range v.mediaFiles() {
		if strings.HasPrefix(filepath.Base(f), mediadir.TempPrefix) {
			v.T.Fatalf("temporary file left behind: %s", f)
		}
	}
	ims, err := v.Store.Images(v.ctx)
	if err != nil {
		v.T.Fatal(err)
	}
	dir := mediadir.New(v.Config.MediaDir())
	for _, im := range ims {
		for _, w := range im.Variants {
			p, _ := dir.Resolve(w.Path)
			st, err := os.Stat(p)
			if err != nil || st.Size() != w.Bytes {
				v.T.Fatalf("recorded %s (%d bytes): %v, size %d", w.Path, w.Bytes, err, st.Size())
			}
		}
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
