//go:build !unix

package buffer

import (
	"errors"
	"os"
)

// dirSize is the total apparent size of the files in dir; see the unix
// version for why allocated blocks are preferred where available.
func dirSize(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

// diskSpace is what a file system offers the service user.
type diskSpace struct {
	total, avail int64
}

// statDisk is not available here: report an error, and the buffer runs
// without a free-space reserve.
func statDisk(dir string) (diskSpace, error) {
	return diskSpace{}, errors.New("statfs not supported on this system")
}
