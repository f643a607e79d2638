package buffer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// MoveAside renames a buffer directory that Open rejected with ErrCorrupt
// to "<dir>.corrupt-<YYYYMMDD-HHMMSS>" (UTC) and returns the new path. The
// daemon then starts with an empty buffer instead of crash-looping, and the
// damaged files stay for a technician to inspect. If that name is taken
// (two failures in one second) a counter is appended.
func MoveAside(dir string, now time.Time) (string, error) {
	clean := filepath.Clean(dir)
	base := clean + ".corrupt-" + now.UTC().Format("20060102-150405")
	for i := 0; i < 100; i++ {
		target := base
		if i > 0 {
			target = fmt.Sprintf("%s-%d", base, i)
		}
		if _, err := os.Lstat(target); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("buffer: move aside %s: check %s: %w", clean, target, err)
		}
		if err := os.Rename(clean, target); err != nil {
			return "", fmt.Errorf("buffer: move aside %s: %w", clean, err)
		}
		return target, nil
	}
	return "", fmt.Errorf("buffer: move aside %s: no free name after 100 tries", clean)
}
