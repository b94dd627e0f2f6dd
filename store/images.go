package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Image is a mirrored copy of one Instagram image: a post's picture, a
// video's thumbnail or a carousel item, keyed by its media id; for a
// video, also the video itself once mirrored. The files live under the
// media directory (config.MediaDir) at Variants[i].Path and VideoPath.
type Image struct {
	MediaID string // the post's or carousel child's id
	PostID  string // top-level post it belongs to (== MediaID for the post itself)
	// Width and Height are the source image's size.
	Width, Height int
	// Color is the dominant colour ("#rrggbb"), a placeholder while the
	// file loads.
	Color      string
	Variants   []ImageVariant // ascending width
	MirroredAt time.Time
	// VideoPath is the mirrored MP4, relative to the media directory
	// ("1790…/video.mp4"), "" when there is none; VideoBytes its size.
	// SaveVideo records them: SaveImage leaves them as they are.
	VideoPath  string
	VideoBytes int64
}

// ImageVariant is one width of an image: its JPEG file and, once the
// mirror has made it (SaveWebP), a WebP of the same pixels beside it.
type ImageVariant struct {
	Width, Height int
	Bytes         int64
	Path          string // relative to the media directory, slash-separated, e.g. "1790…/640.jpg"
	// WebPPath is the WebP's path ("1790…/640.webp"), "" while there is
	// none; WebPBytes its size, or WebPLarger.
	WebPPath  string
	WebPBytes int64
}

// WebPLarger is the WebPBytes of an image whose WebP was made and found no
// smaller than its JPEG at some width (DeclineWebP): not kept, and not
// made again while the image's record stays.
const WebPLarger = -1

// HasWebP reports whether every width of the image has its WebP: only
// then may a page offer WebP for it, each width in both formats.
func (im Image) HasWebP() bool {
	for _, v := range im.Variants {
		if v.WebPPath == "" {
			return false
		}
	}
	return len(im.Variants) > 0
}

// WebPDeclined reports whether the image's WebP was made and not kept
// (WebPLarger).
func (im Image) WebPDeclined() bool {
	for _, v := range im.Variants {
		if v.WebPBytes == WebPLarger {
			return true
		}
	}
	return false
}

// Largest returns the widest variant; ok is false when there is none.
func (im Image) Largest() (ImageVariant, bool) {
	if len(im.Variants) == 0 {
		return ImageVariant{}, false
	}
	return im.Variants[len(im.Variants)-1], true
}

type imageRow struct {
	MediaID    string    `gorm:"primaryKey"`
	PostID     string    `gorm:"not null;index"`
	Width      int       `gorm:"not null"`
	Height     int       `gorm:"not null"`
	Color      string    `gorm:"not null"`
	MirroredAt time.Time `gorm:"not null"`
	// The defaults let AutoMigrate add these columns to the rows of a
	// database made before videos were mirrored.
	VideoPath  string `gorm:"not null;default:''"`
	VideoBytes int64  `gorm:"not null;default:0"`
	// Variants is here for the foreign key AutoMigrate creates; rows are
	// written and read explicitly.
	Variants []imageVariantRow `gorm:"foreignKey:MediaID;constraint:OnDelete:CASCADE"`
}

func (imageRow) TableName() string { return "images" }

// image is the record without its variants.
func (r imageRow) image() Image {
	return Image{MediaID: r.MediaID, PostID: r.PostID, Width: r.Width, Height: r.Height, Color: r.Color,
		MirroredAt: r.MirroredAt, VideoPath: r.VideoPath, VideoBytes: r.VideoBytes}
}

type imageVariantRow struct {
	MediaID string `gorm:"primaryKey"`
	Width   int    `gorm:"primaryKey;autoIncrement:false"`
	Height  int    `gorm:"not null"`
	Bytes   int64  `gorm:"not null"`
	Path    string `gorm:"not null"`
	// The defaults let AutoMigrate add these columns to the rows of a
	// database made before WebP files were mirrored: none yet.
	WebPPath  string `gorm:"column:webp_path;not null;default:''"`
	WebPBytes int64  `gorm:"column:webp_bytes;not null;default:0"`
}

func (r imageVariantRow) variant() ImageVariant {
	return ImageVariant{Width: r.Width, Height: r.Height, Bytes: r.Bytes, Path: r.Path, WebPPath: r.WebPPath, WebPBytes: r.WebPBytes}
}

func (imageVariantRow) TableName() string { return "image_variants" }

// imageColumns are what SaveImage writes over an earlier record: all but
// the video's.
var imageColumns = []string{"post_id", "width", "height", "color", "mirrored_at"}

// SaveImage records a mirrored image and its variants, replacing any
// earlier record for the same media id, in one transaction. The video
// recorded with the earlier one is kept: a picture mirrored again (its
// file went missing) does not make the video go.
func (s *Store) SaveImage(ctx context.Context, im Image) error {
	if im.MediaID == "" || im.PostID == "" {
		return errors.New("store: save image: empty media or post id")
	}
	if len(im.Variants) == 0 {
		return fmt.Errorf("store: save image %s: no variants", im.MediaID)
	}
	row := imageRow{
		MediaID: im.MediaID, PostID: im.PostID, Width: im.Width, Height: im.Height,
		Color: im.Color, MirroredAt: orNow(im.MirroredAt, s.now()),
	}
	vars := make([]imageVariantRow, len(im.Variants))
	for i, v := range im.Variants {
		vars[i] = imageVariantRow{MediaID: im.MediaID, Width: v.Width, Height: v.Height, Bytes: v.Bytes, Path: v.Path,
			WebPPath: v.WebPPath, WebPBytes: v.WebPBytes}
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		upsert := clause.OnConflict{Columns: []clause.Column{{Name: "media_id"}}, DoUpdates: clause.AssignmentColumns(imageColumns)}
		if err := tx.Omit(clause.Associations, "video_path", "video_bytes").Clauses(upsert).Create(&row).Error; err != nil {
			return err
		}
		if err := tx.Where("media_id = ?", im.MediaID).Delete(&imageVariantRow{}).Error; err != nil {
			return err
		}
		if err := tx.Create(&vars).Error; err != nil {
			return err
		}
		return bumpGeneration(tx)
	})
	if err != nil {
		return fmt.Errorf("store: save image %s: %w", im.MediaID, err)
	}
	return nil
}

// SaveVideo records the mirrored video of an image already saved (path
// relative to the media directory, its size in bytes), or forgets it when
// path is "". It is an error when there is no such image.
func (s *Store) SaveVideo(ctx context.Context, mediaID, path string, size int64) error {
	if path == "" {
		size = 0
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return updateImage(tx, &imageRow{}, mediaID, map[string]any{"video_path": path, "video_bytes": size})
	})
	if err != nil {
		return fmt.Errorf("store: save video %s: %w", mediaID, err)
	}
	return nil
}

var errNoSuchImage = errors.New("no such image")

// updateImage sets values on the rows of model (the image's, or its
// variants') for mediaID and moves the generation; errNoSuchImage when
// there are none.
func updateImage(tx *gorm.DB, model any, mediaID string, values map[string]any) error {
	res := tx.Model(model).Where("media_id = ?", mediaID).Updates(values)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errNoSuchImage
	}
	return bumpGeneration(tx)
}

// WebPFile is a WebP file the mirror wrote beside the JPEG of one width.
type WebPFile struct {
	Width int
	Path  string // relative to the media directory
	Bytes int64
}

// ErrVariantsChanged is SaveWebP's refusal of files made for widths the
// image's record no longer has, or not for all of them: it was mirrored
// again meanwhile (another replica, a file gone missing), and the WebP
// must be made again from its new files.
var ErrVariantsChanged = errors.New("store: the image's widths changed since its WebP files were made")

// DeclineWebP records that the image's WebP was made and found no smaller
// than its JPEG: none is offered, and none is made again until the image
// is mirrored again (SaveImage clears it). It forgets any WebP recorded.
func (s *Store) DeclineWebP(ctx context.Context, mediaID string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return updateImage(tx, &imageVariantRow{}, mediaID, map[string]any{"webp_path": "", "webp_bytes": WebPLarger})
	})
	if err != nil {
		return fmt.Errorf("store: decline webp %s: %w", mediaID, err)
	}
	return nil
}

// SaveWebP records the WebP file of each of the image's widths, in one
// transaction: files must name every width the record has, no more, or
// nothing is written (ErrVariantsChanged). With no files it forgets the
// image's WebP (they went missing from disk).
func (s *Store) SaveWebP(ctx context.Context, mediaID string, files []WebPFile) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var widths []int
		if err := tx.Model(&imageVariantRow{}).Where("media_id = ?", mediaID).Order("width").Pluck("width", &widths).Error; err != nil {
			return err
		}
		if len(widths) == 0 {
			return errNoSuchImage
		}
		if len(files) == 0 {
			if err := tx.Model(&imageVariantRow{}).Where("media_id = ?", mediaID).
				Updates(map[string]any{"webp_path": "", "webp_bytes": 0}).Error; err != nil {
				return err
			}
			return bumpGeneration(tx)
		}
		given := make([]int, len(files))
		for i, f := range files {
			if f.Path == "" {
				return fmt.Errorf("no path for the %d px WebP", f.Width)
			}
			given[i] = f.Width
		}
		slices.Sort(given)
		if !slices.Equal(given, widths) {
			return ErrVariantsChanged
		}
		for _, f := range files {
			if err := tx.Model(&imageVariantRow{}).Where("media_id = ? AND width = ?", mediaID, f.Width).
				Updates(map[string]any{"webp_path": f.Path, "webp_bytes": f.Bytes}).Error; err != nil {
				return err
			}
		}
		return bumpGeneration(tx)
	})
	if err != nil {
		return fmt.Errorf("store: save webp %s: %w", mediaID, err)
	}
	return nil
}

// Images returns every mirrored image with its variants, by media id.
func (s *Store) Images(ctx context.Context) ([]Image, error) {
	db := s.db.WithContext(ctx)
	var rows []imageRow
	if err := db.Order("media_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: images: %w", err)
	}
	var vars []imageVariantRow
	if err := db.Order("media_id, width").Find(&vars).Error; err != nil {
		return nil, fmt.Errorf("store: images: %w", err)
	}
	byID := make(map[string][]ImageVariant, len(rows))
	for _, v := range vars {
		byID[v.MediaID] = append(byID[v.MediaID], v.variant())
	}
	out := make([]Image, len(rows))
	for i, r := range rows {
		out[i] = r.image()
		out[i].Variants = byID[r.MediaID]
	}
	return out, nil
}

// Image returns the mirrored image with this media id; ok is false when
// there is none.
func (s *Store) Image(ctx context.Context, mediaID string) (im Image, ok bool, err error) {
	db := s.db.WithContext(ctx)
	var row imageRow
	err = db.Where("media_id = ?", mediaID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Image{}, false, nil
	}
	if err != nil {
		return Image{}, false, fmt.Errorf("store: image %s: %w", mediaID, err)
	}
	var vars []imageVariantRow
	if err := db.Where("media_id = ?", mediaID).Order("width").Find(&vars).Error; err != nil {
		return Image{}, false, fmt.Errorf("store: image %s: %w", mediaID, err)
	}
	im = row.image()
	for _, v := range vars {
		im.Variants = append(im.Variants, v.variant())
	}
	return im, true, nil
}

// DeleteImages forgets the records of these media ids (not the files: the
// caller removes those).
func (s *Store) DeleteImages(ctx context.Context, mediaIDs []string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var deleted int64
		for chunk := range slices.Chunk(mediaIDs, batchSize) {
			if err := tx.Where("media_id IN ?", chunk).Delete(&imageVariantRow{}).Error; err != nil {
				return err
			}
			res := tx.Where("media_id IN ?", chunk).Delete(&imageRow{})
			if res.Error != nil {
				return res.Error
			}
			deleted += res.RowsAffected
		}
		if deleted == 0 {
			return nil
		}
		return bumpGeneration(tx)
	})
	if err != nil {
		return fmt.Errorf("store: delete images: %w", err)
	}
	return nil
}
