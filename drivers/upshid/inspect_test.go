package upshid

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
)

func TestInspectRealDump(t *testing.T) {
	var out bytes.Buffer
	if err := Inspect(&out, loadRaw(t, "apc-back-ups-bx1600mi"), loadRecording(t, "apc-back-ups-bx1600mi")); err != nil {
		t.Fatal(err)
	}
	s := squeeze(out.String())
	for _, want := range []string{
		"745 bytes", "HID Power Device", "quirk: Logical Maximum written as a negative byte",
		"UPS.PowerSummary.PresentStatus.ACPresent", "ups.status (ACPresent)",
		"battery.charge ← UPS.PowerSummary.RemainingCapacity",
		"VALUES (from", "battery.runtime 3320", "ups.status OL",
		"NOT UNDERSTOOD", "vendor page 0xff86", "no usage found for output.voltage",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

func TestInspectWithoutReportsAndGarbage(t *testing.T) {
	var out bytes.Buffer
	if err := Inspect(&out, loadRaw(t, "legrand-keor-ups-1cb0-0032"), nil); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "VALUES: none") || !strings.Contains(s, "Legrand style") {
		t.Errorf("output:\n%s", s)
	}
	out.Reset()
	if err := Inspect(&out, []byte{0x05, 0x84, 0xc0}, nil); err == nil || !strings.Contains(out.String(), "NOT UNDERSTOOD") {
		t.Errorf("broken descriptor: %v\n%s", err, out.String())
	}
}

func TestInspectLiveFindsSimulatedUPS(t *testing.T) {
	bus := newBus(t)
	bus.Attach(simUPS(t, "eaton-3s-700", "E700"))
	// A keyboard: a HID device that is no UPS must not be listed.
	kbd := filepath.Join(bus.Roots.Sys, "devices", "kbd", "1-2:1.0", "0003:046D:C31C.0009")
	os.MkdirAll(kbd, 0o755)
	os.WriteFile(filepath.Join(kbd, "uevent"), []byte("HID_ID=0003:0000046D:0000C31C\nHID_NAME=Logitech Keyboard\n"), 0o644)
	os.WriteFile(filepath.Join(kbd, "report_descriptor"), []byte{0x05, 0x01, 0x09, 0x06, 0xa1, 0x01, 0x05, 0x07, 0x19, 0xe0, 0x29, 0xe7, 0x15, 0x00, 0x25, 0x01, 0x75, 0x01, 0x95, 0x08, 0x81, 0x02, 0xc0}, 0o644)
	os.MkdirAll(filepath.Join(bus.Roots.Sys, "class", "hidraw", "hidraw7"), 0o755)
	os.Symlink(kbd, filepath.Join(bus.Roots.Sys, "class", "hidraw", "hidraw7", "device"))

	var out bytes.Buffer
	n, err := InspectLive(t.Context(), &out, bus.Roots)
	if err != nil || n != 1 {
		t.Fatalf("found %d, %v\n%s", n, err, out.String())
	}
	s := out.String()
	// The simulated node is a plain file, not a hidraw device: the
	// ioctls fail and the command says so, but still describes the UPS.
	for _, want := range []string{"051d:0002", `serial "E700"`, "no values read", "UPS.PowerSummary.RemainingCapacity", "VALUES: none"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "Logitech") {
		t.Errorf("keyboard listed as a UPS:\n%s", s)
	}
}

// squeeze collapses runs of spaces (tabwriter padding).
func squeeze(s string) string {
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return s
}

func TestSuggestions(t *testing.T) {
	bus := newBus(t)
	bus.Attach(simUPS(t, "apc-back-ups-es850g2", "4B1948P07984"))
	got, err := Suggestions(bus.Roots)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	s := got[0]
	if s.ID != "usv-4b1948p07984" || s.Driver != "upshid" || s.Config["serial"] != "4B1948P07984" ||
		s.Title != "Simulated Back-UPS SIM FW:1.0 (051d:0002, USB)" || s.Problem != "" {
		t.Errorf("%+v", s)
	}
}

// TestAttached: the adoption list says which configured device reads
// each UPS, through the registered finder as the web page calls it.
func TestAttached(t *testing.T) {
	bus := newBus(t)
	bus.Attach(simUPS(t, "apc-back-ups-es850g2", "AAA1"))
	roots := func(serial string) *Config {
		c := DefaultConfig()
		c.SysRoot, c.DevRoot, c.Serial = bus.Roots.Sys, bus.Roots.Dev, serial
		return &c
	}
	find := func(cfgs ...drivers.Configured) map[string]string {
		t.Helper()
		got, err := drivers.FindAttached(map[string][]drivers.Configured{"upshid": cfgs})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, a := range got {
			if a.Adopt.Driver != "upshid" || a.Adopt.Kind != "ups" || a.Adopt.Settings["serial"] != a.Key {
				t.Errorf("adoption %+v", a)
			}
			out[a.Key] = a.Adopted
		}
		return out
	}
	// With the only UPS, a device without a serial reads it.
	if got := find(drivers.Configured{ID: "usv", Config: roots("")}); got["AAA1"] != "usv" {
		t.Errorf("only UPS, device without serial: %v", got)
	}
	bus.Attach(simUPS(t, "eaton-3s-700", "BBB2"))
	for _, tc := range []struct {
		name string
		cfgs []drivers.Configured
		want map[string]string
	}{
		{"none configured", []drivers.Configured{{ID: "x", Config: roots("ZZZ")}}, map[string]string{"AAA1": "", "BBB2": ""}},
		{"by serial", []drivers.Configured{{ID: "usv-b", Config: roots("BBB2")}}, map[string]string{"AAA1": "", "BBB2": "usv-b"}},
		{"no serial with two UPSes", []drivers.Configured{{ID: "usv", Config: roots("")}}, map[string]string{"AAA1": "", "BBB2": ""}},
	} {
		if got := find(tc.cfgs...); !maps.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
