//go:build unix

package buffer

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// dirSize is the disk space the files in dir occupy (allocated blocks, not
// apparent length). Badger preallocates its logs as sparse files (a 64 MiB
// value log, 16 MiB memtable logs) that use almost nothing until written,
// so the apparent size would hide whether space came back. Errors count as
// zero: this feeds a statistic only.
func dirSize(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		n += allocated(info)
	}
	return n
}

func allocated(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}

// diskSpace is what a file system offers the service user: blocks reserved
// for root (ext4 keeps 5% by default) are neither counted as capacity nor
// as free, since the daemon does not run as root and cannot use them.
type diskSpace struct {
	total, avail int64
}

// statDisk measures the file system holding dir.
func statDisk(dir string) (diskSpace, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return diskSpace{}, fmt.Errorf("statfs %s: %w", dir, err)
	}
	bs := int64(s.Bsize)
	rootOnly := int64(s.Bfree) - int64(s.Bavail)
	return diskSpace{
		total: (int64(s.Blocks) - rootOnly) * bs,
		avail: int64(s.Bavail) * bs,
	}, nil
}
