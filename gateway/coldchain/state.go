package coldchain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// stateFile holds a device's day in progress.
func stateFile(dir, device string) string { return filepath.Join(deviceDir(dir, device), "day.json") }

func loadState(dir, device string) (dayState, bool, error) {
	b, err := os.ReadFile(stateFile(dir, device))
	if errors.Is(err, fs.ErrNotExist) {
		return dayState{}, false, nil
	}
	if err != nil {
		return dayState{}, false, fmt.Errorf("coldchain: read day state of %s: %w", device, err)
	}
	var st dayState
	if err := json.Unmarshal(b, &st); err != nil {
		return dayState{}, false, fmt.Errorf("coldchain: day state of %s: %w", device, err)
	}
	return st, true, nil
}

// saveState writes the day in progress atomically.
func saveState(dir string, st *dayState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("coldchain: encode day state of %s: %w", st.Device, err)
	}
	if err := os.MkdirAll(deviceDir(dir, st.Device), 0o750); err != nil {
		return fmt.Errorf("coldchain: %w", err)
	}
	if err := renameio.WriteFile(stateFile(dir, st.Device), b, 0o640); err != nil {
		return fmt.Errorf("coldchain: save day state of %s: %w", st.Device, err)
	}
	return nil
}
