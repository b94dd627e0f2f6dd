package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The gallery's generation is a counter the store increments, in the same
// transaction, with every write that changes what the public gallery shows:
// the posts a sync replaces, the mirrored images' records, the owner's
// moderation, and the connected account (connect, disconnect, a new name).
// Several processes serving one database each poll it, one indexed row, and
// rebuild when it moved, so a change made through any of them reaches the
// visitors of all.
type generationRow struct {
	ID    int   `gorm:"primaryKey;autoIncrement:false;check:gallery_generation_single_row,id = 1"`
	Value int64 `gorm:"not null"`
}

func (generationRow) TableName() string { return "gallery_generation" }

const generationRowID = 1

// Generation returns the gallery's generation: 0 before the first change,
// then a number that grows with every change the gallery shows.
func (s *Store) Generation(ctx context.Context) (int64, error) {
	var row generationRow
	err := s.db.WithContext(ctx).Where("id = ?", generationRowID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: generation: %w", err)
	}
	return row.Value, nil
}

// bumpGeneration increments the generation inside tx, the transaction of
// the change it announces: no process sees the change without the new
// number, nor the number without the change. One upsert, so the row needs
// no seeding and two writers cannot lose an increment.
func bumpGeneration(tx *gorm.DB) error {
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.Assignments(map[string]any{"value": gorm.Expr("gallery_generation.value + 1")}),
	}).Create(&generationRow{ID: generationRowID, Value: 1}).Error
}
