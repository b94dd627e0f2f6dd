package store

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// SchemaVersion is the version of the tables this binary makes and reads.
// It grows with every release whose migration changes them (CHANGELOG.md
// says what each upgrade does); TestSchemaIsRecorded fails until a changed
// schema comes with a new number (or, before that number's release, with
// its record updated).
//
//   - 1: the tables of the first release, which recorded no version.
//   - 2: gallery_settings (the Appearance page's saved settings), the
//     posts' like and comment counts, the account's biography, each
//     post's link (post_moderation), each image width's WebP file
//     (image_variants.webp_path, webp_bytes), and the version recorded
//     in schema_version.
const SchemaVersion = 2

// schemaRow records which version the tables are at: one row, written by
// the migration that brought them there, in the same transaction.
type schemaRow struct {
	ID         int       `gorm:"primaryKey;autoIncrement:false;check:schema_version_single_row,id = 1"`
	Version    int       `gorm:"not null"`
	MigratedAt time.Time `gorm:"not null"`
}

func (schemaRow) TableName() string { return "schema_version" }

const schemaRowID = 1

// NewerSchemaError is Open's refusal of a database a newer Vitrine has
// migrated: this binary does not know its tables, and migrating them down
// could lose what the newer one keeps there. Nothing was changed.
type NewerSchemaError struct {
	Found, Known int
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("store: the database's schema is version %d, newer than version %d, the newest this binary knows: "+
		"a newer Vitrine has upgraded it; run that version or a later one (or restore the backup made before the upgrade); "+
		"nothing was changed", e.Found, e.Known)
}

// OlderSchemaError is an inspecting Open's refusal of a database this
// binary would migrate (0: one with no tables yet). Nothing was changed.
type OlderSchemaError struct {
	Found, Known int
}

func (e *OlderSchemaError) Error() string {
	if e.Found == 0 {
		return "store: the database has no tables yet: start the server (vitrine serve) once to make them"
	}
	return fmt.Sprintf("store: the database's schema is version %d, older than version %d, this binary's: "+
		"start this version's server (vitrine serve) to upgrade it, after a backup (vitrine backup); nothing was changed", e.Found, e.Known)
}

// schemaVersion reads the recorded version: 0 for a database without
// tables, 1 for one the first release made (its tables, no record).
func schemaVersion(tx *gorm.DB) (int, error) {
	m := tx.Migrator()
	if !m.HasTable(&schemaRow{}) {
		if m.HasTable(&tokenRow{}) {
			return 1, nil
		}
		return 0, nil
	}
	var row schemaRow
	err := tx.Where("id = ?", schemaRowID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// The table without its row: a migration that made it cannot have
		// committed without the row, so someone else made the table.
		return 0, errors.New("schema_version has no row; was the database changed by hand?")
	}
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return row.Version, nil
}
