//go:build linux || darwin

package mediadir

import "syscall"

// Space is the free and total bytes of the file system dir is on; free
// counts what an unprivileged process may still write (root's reserve is
// not Vitrine's to use).
func Space(dir string) (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), uint64(st.Blocks) * uint64(st.Bsize), nil
}
