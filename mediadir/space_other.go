//go:build !linux && !darwin

package mediadir

import "errors"

// Space is not measured on this system: the disk metrics and alert are
// left out, and a full disk is still named when a write hits it.
func Space(dir string) (free, total uint64, err error) {
	return 0, 0, errors.New("free space is not measured on this system")
}
