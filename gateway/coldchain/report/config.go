package report

import (
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// FromConfig returns the record directory of cfg (<state_dir>/coldchain)
// and the options for a month's report of its fridges: the practice as
// "site / gateway", the configured fridges with their names in config
// order, then any other fridge with a record in the directory (one
// removed from the config still has its months), and the config's time
// zone.
func FromConfig(cfg *config.Config, month string, now time.Time) (string, Options, error) {
	dir := filepath.Join(cfg.StateDir, coldchain.DirName)
	loc, err := coldchain.LoadTimezone(cfg.Timezone)
	if err != nil {
		return "", Options{}, err
	}
	o := Options{Month: month, Practice: cfg.Site + " / " + cfg.Gateway, Location: loc, Now: now, Fridges: []FridgeRef{}}
	seen := map[string]bool{}
	for _, d := range cfg.Devices {
		if d.Kind == config.FridgeKind && !d.Disabled {
			o.Fridges = append(o.Fridges, FridgeRef{ID: d.ID, Name: d.Name})
			seen[d.ID] = true
		}
	}
	ids, err := coldchain.Devices(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", Options{}, err
	}
	names := map[string]string{}
	for _, d := range cfg.Devices {
		names[d.ID] = d.Name
	}
	for _, id := range ids {
		if !seen[id] {
			o.Fridges = append(o.Fridges, FridgeRef{ID: id, Name: names[id]})
		}
	}
	return dir, o, nil
}

// WriteMonth writes the month's report of cfg's fridges (FromConfig) as
// a PDF: what the web page and the commands hand out.
func WriteMonth(w io.Writer, cfg *config.Config, month string, now time.Time) error {
	dir, o, err := FromConfig(cfg, month, now)
	if err != nil {
		return err
	}
	r, err := Collect(dir, o)
	if err != nil {
		return err
	}
	return Render(w, r)
}
