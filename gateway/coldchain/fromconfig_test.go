package coldchain

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// FromConfig takes the time zone, the fridge profile's stale time as the
// hold time and each device's plausible range from the config.
func TestFromConfig(t *testing.T) {
	lo := -100.0
	for _, tt := range []struct {
		tz, want string
	}{{"", "Europe/Berlin"}, {"Europe/Vienna", "Europe/Vienna"}} {
		cfg := &config.Config{StateDir: t.TempDir(), Timezone: tt.tz, Devices: []config.Device{
			{ID: "kuehlschrank", Kind: config.FridgeKind, Interval: time.Minute},
			{ID: "tiefkuehl", Kind: config.FridgeKind, Interval: 10 * time.Minute, Plausible: map[string]config.Plausible{"temperature": {Min: &lo}}},
			{ID: "aus", Kind: config.FridgeKind, Interval: time.Minute, Disabled: true},
			{ID: "usv", Kind: "ups", Interval: time.Minute},
		}}
		r, err := FromConfig(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.o.Location.String() != tt.want || r.Dir() != filepath.Join(cfg.StateDir, DirName) || len(r.Fridges()) != 2 {
			t.Fatalf("tz %q: location %v, dir %s, fridges %v", tt.tz, r.o.Location, r.Dir(), r.Fridges())
		}
		k, f := r.fridges["kuehlschrank"], r.fridges["tiefkuehl"]
		if k.b.hold != 5*time.Minute || f.b.hold != 30*time.Minute || k.plaus.Min != -40 || f.plaus.Min != -100 || f.plaus.Max != 60 {
			t.Fatalf("hold %v / %v, plausible %v / %v", k.b.hold, f.b.hold, k.plaus, f.plaus)
		}
	}
	if _, err := FromConfig(&config.Config{StateDir: t.TempDir(), Timezone: "Mars/Olympus"}, nil); err == nil {
		t.Fatal("an unknown time zone was taken")
	}
}
