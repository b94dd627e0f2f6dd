package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The owner's gallery settings (the dashboard's Appearance page) are kept
// as key/value text, one row per option the owner set away from the config
// file's value. The store does not read them: the options table
// (appearance) owns their meaning, so a version that adds an option needs
// no schema change.
type gallerySettingRow struct {
	Key       string    `gorm:"primaryKey"`
	Value     string    `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

func (gallerySettingRow) TableName() string { return "gallery_settings" }

// GallerySettings returns the saved settings; none saved is an empty map.
func (s *Store) GallerySettings(ctx context.Context) (map[string]string, error) {
	var rows []gallerySettingRow
	if err := s.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: gallery settings: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Key] = r.Value
	}
	return out, nil
}

// SaveGallerySettings replaces the saved settings with values (an empty map
// forgets them all: the config file's values apply again) and moves the
// gallery's generation in the same transaction, so every process serving
// the database rebuilds with them.
func (s *Store) SaveGallerySettings(ctx context.Context, values map[string]string) error {
	now := s.now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("1 = 1").Delete(&gallerySettingRow{}).Error; err != nil {
			return err
		}
		for key, value := range values {
			if key == "" {
				return fmt.Errorf("empty key")
			}
			if err := tx.Create(&gallerySettingRow{Key: key, Value: value, UpdatedAt: now}).Error; err != nil {
				return err
			}
		}
		return bumpGeneration(tx)
	})
	if err != nil {
		return fmt.Errorf("store: save gallery settings: %w", err)
	}
	return nil
}
