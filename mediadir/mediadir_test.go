package mediadir

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tempFiles lists the temporary files anywhere under root.
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(e.Name(), TempPrefix) {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// The recorded paths and where the files land are those earlier releases
// wrote: their databases and media directories are served as they are.
func TestLayoutIsThatOfEarlierReleases(t *testing.T) {
	const id = "17895695668004550"
	if got := ImagePath(id, 640); got != id+"/640.jpg" {
		t.Errorf("ImagePath = %q", got)
	}
	if got := VideoPath(id); got != id+"/video.mp4" {
		t.Errorf("VideoPath = %q", got)
	}
	root := t.TempDir()
	d := New(root)
	rel, err := d.WriteImage(id, 240, []byte("jpeg"))
	if err != nil || rel != id+"/240.jpg" {
		t.Fatalf("WriteImage = %q, %v", rel, err)
	}
	if data, err := os.ReadFile(filepath.Join(root, id, "240.jpg")); err != nil || string(data) != "jpeg" {
		t.Errorf("the image on disk: %q, %v", data, err)
	}
	rel, err = d.WriteWebP(id, 240, []byte("webp"))
	if err != nil || rel != id+"/240.webp" || rel != WebPPath(id, 240) {
		t.Fatalf("WriteWebP = %q, %v", rel, err)
	}
	if data, err := os.ReadFile(filepath.Join(root, id, "240.webp")); err != nil || string(data) != "webp" {
		t.Errorf("the WebP on disk: %q, %v", data, err)
	}
	rel, err = d.WriteVideo(id, func(w io.Writer) error { _, err := io.WriteString(w, "mp4"); return err })
	if err != nil || rel != id+"/video.mp4" {
		t.Fatalf("WriteVideo = %q, %v", rel, err)
	}
	info, err := os.Stat(filepath.Join(root, id, "video.mp4"))
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("the video on disk: %v, %v", info, err)
	}
	if !d.Exists(rel) || d.Exists(id+"/320.jpg") {
		t.Error("Exists does not tell the written file from a missing one")
	}
}

// A recorded path is resolved under the directory, never outside it.
func TestResolveRefusesPathsLeavingTheDirectory(t *testing.T) {
	root := t.TempDir()
	d := New(root)
	for _, rel := range []string{"", "/etc/passwd", "..", "../vitrine.db", "123/../../vitrine.db", "../media2/1/640.jpg"} {
		if path, ok := d.Resolve(rel); ok {
			t.Errorf("Resolve(%q) = %q, want refused", rel, path)
		}
	}
	for rel, want := range map[string]string{
		"123/640.jpg":    filepath.Join(root, "123", "640.jpg"),
		"avatar/240.jpg": filepath.Join(root, "avatar", "240.jpg"),
		"123/video.mp4":  filepath.Join(root, "123", "video.mp4"),
	} {
		if path, ok := d.Resolve(rel); !ok || path != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", rel, path, ok, want)
		}
	}
}

// A write that fails leaves neither a partial file nor a temporary one,
// and the file already there as it was.
func TestWriteLeavesNoPartialFileOnError(t *testing.T) {
	root := t.TempDir()
	d := New(root)
	broken := errors.New("connection reset")
	half := func(w io.Writer) error {
		if _, err := io.WriteString(w, "half a video"); err != nil {
			return err
		}
		return broken
	}
	if _, err := d.WriteVideo("1", half); !errors.Is(err, broken) {
		t.Fatalf("WriteVideo = %v, want the writer's error", err)
	}
	if _, err := os.Stat(filepath.Join(root, "1", videoName)); !os.IsNotExist(err) {
		t.Errorf("a failed first write left a video (%v)", err)
	}

	whole := func(w io.Writer) error { _, err := io.WriteString(w, "the whole video"); return err }
	if _, err := d.WriteVideo("1", whole); err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteVideo("1", half); !errors.Is(err, broken) {
		t.Fatalf("WriteVideo = %v, want the writer's error", err)
	}
	if data, err := os.ReadFile(filepath.Join(root, "1", videoName)); err != nil || string(data) != "the whole video" {
		t.Errorf("after a failed rewrite the video is %q (%v), want the old one", data, err)
	}
	if left := tempFiles(t, root); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Nothing is written or removed for an id that is not a plain directory
// name.
func TestInvalidMediaIDsAreRefused(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "media")
	d := New(root)
	if err := d.MkdirAll(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "..", "../x", "a/b", ".tmp-1", strings.Repeat("1", 81)} {
		if ValidMediaID(id) {
			t.Errorf("ValidMediaID(%q) = true", id)
		}
		if _, err := d.WriteImage(id, 240, []byte("x")); err == nil {
			t.Errorf("WriteImage(%q) succeeded", id)
		}
		if err := d.RemoveMedia(id); err == nil {
			t.Errorf("RemoveMedia(%q) succeeded", id)
		}
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("the media directory is gone: %v", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("beside the media directory: %v", entries)
	}
	for _, id := range []string{"17895695668004550", "avatar", "a_b-C"} {
		if !ValidMediaID(id) {
			t.Errorf("ValidMediaID(%q) = false", id)
		}
	}
}

func TestRemoveFileAndMedia(t *testing.T) {
	parent := t.TempDir()
	outside := filepath.Join(parent, "vitrine.db")
	if err := os.WriteFile(outside, []byte("db"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := New(filepath.Join(parent, "media"))
	image, _ := d.WriteImage("1", 240, []byte("x"))
	video, _ := d.WriteVideo("1", func(w io.Writer) error { return nil })
	if err := d.RemoveFile("../vitrine.db"); err == nil {
		t.Error("RemoveFile outside the directory succeeded")
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("the file outside is gone: %v", err)
	}
	if err := d.RemoveFile(video); err != nil || d.Exists(video) || !d.Exists(image) {
		t.Errorf("RemoveFile(%q) = %v: video there %v, image there %v", video, err, d.Exists(video), d.Exists(image))
	}
	if err := d.RemoveMedia("1"); err != nil || d.Exists(image) {
		t.Errorf("RemoveMedia = %v, image there %v", err, d.Exists(image))
	}
	if err := d.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(parent, "media")); !os.IsNotExist(err) {
		t.Errorf("RemoveAll left the directory (%v)", err)
	}
}

// A crash's leftovers go; a write in progress, younger, stays.
func TestRemoveStaleTempKeepsWritesInProgress(t *testing.T) {
	root := t.TempDir()
	d := New(root)
	if _, err := d.WriteImage("1", 240, []byte("x")); err != nil {
		t.Fatal(err)
	}
	put := func(rel string, age time.Duration) string {
		path := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.WriteFile(path, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
		return path
	}
	crashed := put("1/"+TempPrefix+"crashed", time.Hour)
	crashedTop := put(TempPrefix+"crashed", time.Hour)
	writing := put("1/"+TempPrefix+"writing", 0)
	d.RemoveStaleTemp()
	for path, want := range map[string]bool{crashed: false, crashedTop: false, writing: true, filepath.Join(root, "1", "240.jpg"): true} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s: kept %v, want %v", path, err == nil, want)
		}
	}
}

// halfFullFile stores half of what it is given, then fails as a full disk.
type halfFullFile struct{ *os.File }

func (f halfFullFile) Write(p []byte) (int, error) {
	n, _ := f.File.Write(p[:len(p)/2])
	return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

// A write that fills the disk halfway through a file leaves the file that
// was there whole, no temporary file, and an error that says ENOSPC, so
// the mirror can name it.
func TestFullDiskLeavesTheOldFileAndNoTemporary(t *testing.T) {
	root := t.TempDir()
	d := New(root)
	rel, err := d.WriteImage("42", 320, []byte("the old picture"))
	if err != nil {
		t.Fatal(err)
	}
	full := d.WithCreate(func(dir, prefix string) (File, error) {
		f, err := os.CreateTemp(dir, prefix+"*")
		return halfFullFile{f}, err
	})
	if _, err := full.WriteImage("42", 320, []byte("a new picture, larger than the old one")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: %v, want ENOSPC", err)
	}
	p, _ := d.Resolve(rel)
	if b, err := os.ReadFile(p); err != nil || string(b) != "the old picture" {
		t.Fatalf("the file after a failed write: %q, %v", b, err)
	}
	if tmp := tempFiles(t, root); len(tmp) != 0 {
		t.Fatalf("temporary files left behind: %v", tmp)
	}
	if free, total, err := Space(root); err != nil || total == 0 || free > total {
		t.Fatalf("Space(%s) = %d free of %d, %v", root, free, total, err)
	}
}
