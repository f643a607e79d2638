//go:build unix

package buffer

import (
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
