// Package mediadir owns the layout of the media directory (data_dir/media/),
// where the mirror keeps its files:
//
//	{media id}/{width}.jpg   the image at one width, one file per width
//	{media id}/video.mp4     a video's MP4
//	{media id}/.tmp-…        a file being written (WriteImage, WriteVideo)
//
// The store records each file by its path relative to the directory,
// slash-separated ("1790…/640.jpg", ImagePath and VideoPath). Processes
// sharing a database may mount the directory at different places, so each
// resolves a recorded path under its own (Resolve), and refuses one that
// would leave it. Data outlives versions: the layout and the recorded
// paths are those earlier releases wrote, and must stay so.
package mediadir

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// TempPrefix starts the name of every file being written; no finished
// file's name does.
const TempPrefix = ".tmp-"

// videoName is a media id's video, beside its images.
const videoName = "video.mp4"

// validMediaID keeps ids usable as directory names: Instagram's are digits.
var validMediaID = regexp.MustCompile(`^[0-9A-Za-z_-]{1,80}$`)

// ValidMediaID reports whether id may name a directory here; files of
// other ids are neither written nor removed.
func ValidMediaID(id string) bool { return validMediaID.MatchString(id) }

// ImagePath is the recorded path of mediaID's image width px wide.
func ImagePath(mediaID string, width int) string {
	return mediaID + "/" + strconv.Itoa(width) + ".jpg"
}

// WebPPath is the recorded path of mediaID's WebP image width px wide,
// beside the JPEG of the same width.
func WebPPath(mediaID string, width int) string {
	return mediaID + "/" + strconv.Itoa(width) + ".webp"
}

// VideoPath is the recorded path of mediaID's video.
func VideoPath(mediaID string) string { return mediaID + "/" + videoName }

// Dir is a media directory, at root on this machine.
type Dir struct {
	root   string
	create CreateFunc // nil: CreateTemp
}

// File is a temporary file being written, as os.File is.
type File interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

// CreateFunc creates a temporary file in dir whose name starts with
// prefix, as os.CreateTemp does. Tests pass one whose file system fills up.
type CreateFunc func(dir, prefix string) (File, error)

// CreateTemp is the CreateFunc of the real file system.
func CreateTemp(dir, prefix string) (File, error) { return os.CreateTemp(dir, prefix+"*") }

// New is the media directory at root, which need not exist yet.
func New(root string) Dir { return Dir{root: root} }

// WithCreate is d writing its files through create (nil: CreateTemp).
func (d Dir) WithCreate(create CreateFunc) Dir {
	d.create = create
	return d
}

// Root is where the directory is on this machine.
func (d Dir) Root() string { return d.root }

// MkdirAll creates the directory if it is missing.
func (d Dir) MkdirAll() error { return os.MkdirAll(d.root, 0o755) }

// Resolve turns a recorded path into one on this machine, under the
// directory. An empty, absolute or climbing ("..") path is refused: the
// database may come from elsewhere, and what it says must not reach files
// outside the directory.
func (d Dir) Resolve(rel string) (string, bool) {
	local := filepath.FromSlash(rel)
	if rel == "" || !filepath.IsLocal(local) {
		return "", false
	}
	return filepath.Join(d.root, local), true
}

// Exists reports whether the recorded path resolves and there is a file
// there.
func (d Dir) Exists(rel string) bool {
	path, ok := d.Resolve(rel)
	if !ok {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}

// WriteImage stores data as mediaID's image width px wide, atomically,
// and returns the path to record.
func (d Dir) WriteImage(mediaID string, width int, data []byte) (string, error) {
	rel := ImagePath(mediaID, width)
	return rel, d.write(mediaID, rel, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteWebP stores data as mediaID's WebP image width px wide,
// atomically, and returns the path to record.
func (d Dir) WriteWebP(mediaID string, width int, data []byte) (string, error) {
	rel := WebPPath(mediaID, width)
	return rel, d.write(mediaID, rel, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteVideo stores what write writes as mediaID's video, atomically, and
// returns the path to record. When write fails, the video already there,
// if any, is left as it was.
func (d Dir) WriteVideo(mediaID string, write func(io.Writer) error) (string, error) {
	rel := VideoPath(mediaID)
	return rel, d.write(mediaID, rel, write)
}

func (d Dir) write(mediaID, rel string, write func(io.Writer) error) error {
	if !ValidMediaID(mediaID) {
		return fmt.Errorf("media id %q can't name a directory", mediaID)
	}
	path, _ := d.Resolve(rel) // a valid id makes it local
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	create := d.create
	if create == nil {
		create = CreateTemp
	}
	return writeFileAtomic(create, path, write)
}

// writeFileAtomic writes path's content through a temporary file beside
// it that is synced and renamed: a crash leaves the old file or the new
// one, never half an image. When write fails (a full disk among other
// reasons), the temporary file is removed and path is left as it was.
func writeFileAtomic(create CreateFunc, path string, write func(io.Writer) error) (err error) {
	f, err := create(filepath.Dir(path), TempPrefix)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// RemoveFile removes the file at a recorded path.
func (d Dir) RemoveFile(rel string) error {
	path, ok := d.Resolve(rel)
	if !ok {
		return fmt.Errorf("recorded path %q is outside the media directory", rel)
	}
	return os.Remove(path)
}

// RemoveMedia removes every file of mediaID.
func (d Dir) RemoveMedia(mediaID string) error {
	if !ValidMediaID(mediaID) {
		return fmt.Errorf("media id %q can't name a directory", mediaID)
	}
	return os.RemoveAll(filepath.Join(d.root, mediaID))
}

// RemoveAll removes the directory and everything in it.
func (d Dir) RemoveAll() error { return os.RemoveAll(d.root) }

// staleTempAge is how old a temporary file must be for RemoveStaleTemp to
// take it for a crash's leftover rather than a write in progress (of
// another process, such as a concurrent `vitrine sync`).
const staleTempAge = time.Minute

// RemoveStaleTemp deletes the temporary files a crash mid-write left
// behind, at the top and in each media id's directory. Only a crash leaves
// them, so once per process is enough.
func (d Dir) RemoveStaleTemp() {
	cutoff := time.Now().Add(-staleTempAge)
	_ = filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.IsDir() {
			if path != d.root && strings.Count(strings.TrimPrefix(path, d.root), string(filepath.Separator)) > 1 {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(e.Name(), TempPrefix) {
			if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
				_ = os.Remove(path)
			}
		}
		return nil
	})
}
