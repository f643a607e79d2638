package upshid

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/renameio/v2"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/ups"
)

// wear follows the runtime a full battery gives at the present load. A
// battery's energy is roughly runtime × load, so that product, measured
// on mains with a full battery, is compared with the best seen for this
// unit. Lead-acid batteries lose capacity slowly over years; when the
// product stays below ratio of the best the battery is wearing out,
// usually long before the UPS sets its own replace-battery flag.
type wear struct {
	ratio float64
	dir   string
	log   *slog.Logger

	Best    float64   `json:"best"`
	BestAt  time.Time `json:"best_at"`
	Avg     float64   `json:"avg"`
	Samples int       `json:"samples"`
}

// Observations needed before a ratio is reported: one day of 1-minute
// polls is far more than needed to smooth the UPS's own runtime jitter.
const wearMinSamples = 30

func (w *wear) file() string {
	if w.dir == "" {
		return ""
	}
	return filepath.Join(w.dir, "upshid-wear.json")
}

func (w *wear) load() {
	p := w.file()
	if p == "" {
		return
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return
	}
	var saved wear
	if err := json.Unmarshal(b, &saved); err != nil {
		w.log.Warn("upshid: battery wear history unreadable; starting anew", "file", p, "err", err)
		return
	}
	w.Best, w.BestAt, w.Avg, w.Samples = saved.Best, saved.BestAt, saved.Avg, saved.Samples
}

func (w *wear) save() error {
	p := w.file()
	if p == "" || w.Samples == 0 {
		return nil
	}
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(p, b, 0o600); err != nil {
		return fmt.Errorf("upshid: save battery wear history: %w", err)
	}
	return nil
}

// observe takes one reading and returns the wear condition when it holds.
func (w *wear) observe(s *State, flags []string, now time.Time) (drivers.Condition, bool) {
	if w.ratio <= 0 {
		return drivers.Condition{}, false
	}
	rt, ok1 := s.value("battery.runtime")
	load, ok2 := s.value("ups.load")
	charge, ok3 := s.value("battery.charge")
	if ok1 && ok2 && ok3 && slices.Contains(flags, ups.FlagOnLine) && !slices.Contains(flags, ups.FlagDischarging) &&
		charge >= 99 && load >= 5 && rt > 0 {
		e := rt * load
		if w.Samples == 0 {
			w.Avg = e
		} else {
			w.Avg += (e - w.Avg) / 20
		}
		w.Samples++
		if w.Avg > w.Best {
			w.Best, w.BestAt = w.Avg, now
		}
		if w.Samples%60 == 0 {
			if err := w.save(); err != nil {
				w.log.Warn("upshid: battery wear history", "err", err)
			}
		}
	}
	return w.condition()
}

// condition returns the wear condition when it holds, learning nothing:
// a sample between polls (an interrupt report) must carry it too, since
// a sample's conditions are the complete set.
func (w *wear) condition() (drivers.Condition, bool) {
	r, ok := w.ratioNow()
	if !ok || r >= w.ratio {
		return drivers.Condition{}, false
	}
	return drivers.Condition{Name: "ups.battery_worn", Severity: drivers.Minor,
		Message: fmt.Sprintf("UPS runtime at the present load is down to %.0f %% of its best; the battery is wearing out", 100*r)}, true
}

func (w *wear) ratioNow() (float64, bool) {
	if w.ratio <= 0 || w.Samples < wearMinSamples || w.Best <= 0 {
		return 0, false
	}
	return w.Avg / w.Best, true
}

// value returns a binding's scaled value.
func (s *State) value(name string) (float64, bool) {
	raw, ok := s.raw[name]
	if !ok {
		return 0, false
	}
	b, _ := s.m.Binding(name)
	return s.m.scale(b.Fields[0], raw), true
}
