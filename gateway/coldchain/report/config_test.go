package report

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// FromConfig reports the configured fridges with their names in config
// order, then a fridge that left the config but has a record, and
// nothing else; a box without any record yet still gets its report.
func TestFromConfig(t *testing.T) {
	state := t.TempDir()
	cfg := &config.Config{Site: "praxis-test", Gateway: "gw-01", StateDir: state, Timezone: "Europe/Berlin", Devices: []config.Device{
		{ID: "usv", Kind: "ups"},
		{ID: "labor", Kind: config.FridgeKind, Name: "Labor"},
		{ID: "alt", Kind: config.FridgeKind, Name: "Alter Kühlschrank", Disabled: true},
		{ID: "impfstoff", Kind: config.FridgeKind, Name: "Impfstoffe"},
	}}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	dir, o, err := FromConfig(cfg, "2026-11", now)
	if err != nil {
		t.Fatal(err)
	}
	want := []FridgeRef{{ID: "labor", Name: "Labor"}, {ID: "impfstoff", Name: "Impfstoffe"}}
	if dir != filepath.Join(state, coldchain.DirName) || o.Practice != "praxis-test / gw-01" || o.Location.String() != "Europe/Berlin" ||
		!reflect.DeepEqual(o.Fridges, want) {
		t.Fatalf("no record yet: dir %s, options %+v", dir, o)
	}
	var buf bytes.Buffer
	if err := WriteMonth(&buf, cfg, "2026-11", now); err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("report without a record: %v, %.20q", err, buf.Bytes())
	}

	// The disabled fridge and one no longer configured have records.
	loc := berlin(t)
	record(t, dir, loc, []string{"alt", "weg", "labor"}, time.Date(2026, 11, 19, 0, 0, 0, 0, loc), now, 10*time.Minute,
		func(string, time.Time) (float64, bool) { return 5, true })
	_, o, err = FromConfig(cfg, "2026-11", now)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, FridgeRef{ID: "alt", Name: "Alter Kühlschrank"}, FridgeRef{ID: "weg"})
	if !reflect.DeepEqual(o.Fridges, want) {
		t.Fatalf("fridges %+v, want %+v", o.Fridges, want)
	}
	if _, _, err := FromConfig(&config.Config{StateDir: state, Timezone: "Mars/Olympus"}, "2026-11", now); err == nil {
		t.Fatal("an unknown time zone was accepted")
	}
}
