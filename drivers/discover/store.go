package discover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
)

// stateFile is the inventory's file name in the device's StateDir.
const stateFile = "inventory.json"

// stateVersion changes when the file's shape changes incompatibly.
const stateVersion = 1

// maxStateBytes bounds what is read back; a real inventory of a practice
// is tens of kilobytes.
const maxStateBytes = 32 << 20

type stateDoc struct {
	Version int       `json:"version"`
	Saved   time.Time `json:"saved"`
	Hosts   []Host    `json:"hosts"`
}

// store keeps the inventory in one JSON file, replaced atomically
// (write, fsync, rename) so a power cut leaves the old or the new file,
// never half of one.
type store struct {
	dir string // empty: nothing is persisted (one-shot CLI sweeps)
}

// load reads the inventory. A missing file is a fresh inventory. A
// corrupt one is moved aside and reported, and the sweep starts with an
// empty inventory that does not learn: a box that lost its memory should
// not silently accept whatever is on the network now.
func (s store) load() (inv *inventory, warn error, err error) {
	inv = &inventory{hosts: map[string]*Host{}, fresh: true}
	if s.dir == "" {
		return inv, nil, nil
	}
	path := filepath.Join(s.dir, stateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return inv, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read inventory: %w", err)
	}
	hosts, derr := decodeState(b)
	if derr != nil {
		aside := path + ".corrupt"
		if err := os.Rename(path, aside); err != nil {
			return nil, nil, fmt.Errorf("move corrupt inventory aside: %w", err)
		}
		inv.fresh = false
		return inv, fmt.Errorf("inventory %s unreadable, moved to %s, starting empty: %w", path, aside, derr), nil
	}
	inv.fresh = false
	for i := range hosts {
		h := hosts[i]
		inv.hosts[h.MAC] = &h
	}
	return inv, nil, nil
}

// decodeState parses and checks the state file.
func decodeState(b []byte) ([]Host, error) {
	if len(b) > maxStateBytes {
		return nil, fmt.Errorf("%d bytes is more than an inventory can be", len(b))
	}
	var doc stateDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if doc.Version != stateVersion {
		return nil, fmt.Errorf("version %d, want %d", doc.Version, stateVersion)
	}
	seen := map[string]bool{}
	for i, h := range doc.Hosts {
		hw, err := net.ParseMAC(h.MAC)
		if err != nil || len(hw) != 6 || hw.String() != h.MAC {
			return nil, fmt.Errorf("hosts[%d]: MAC %q", i, h.MAC)
		}
		if seen[h.MAC] {
			return nil, fmt.Errorf("hosts[%d]: MAC %s listed twice", i, h.MAC)
		}
		seen[h.MAC] = true
		if h.Missed < 0 {
			return nil, fmt.Errorf("hosts[%d]: negative missed_sweeps", i)
		}
	}
	return doc.Hosts, nil
}

func (s store) save(hosts []Host, now time.Time) error {
	if s.dir == "" {
		return nil
	}
	b, err := json.MarshalIndent(stateDoc{Version: stateVersion, Saved: now, Hosts: hosts}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode inventory: %w", err)
	}
	if err := renameio.WriteFile(filepath.Join(s.dir, stateFile), b, 0o640); err != nil {
		return fmt.Errorf("write inventory: %w", err)
	}
	return nil
}
