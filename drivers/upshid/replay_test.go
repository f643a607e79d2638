package upshid

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
)

// hidData is where the real descriptors are; the VM harness, which runs
// the test binary elsewhere, sets PRAXISGATE_HID_TESTDATA.
var hidData = "../testdata/third_party/hid"

func loadRaw(t testing.TB, stem string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(hidData, stem+".rdesc.hex"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := hidreport.ParseHex(f)
	if err != nil {
		t.Fatalf("%s: %v", stem, err)
	}
	return b
}

func loadDescriptor(t testing.TB, stem string) *hidreport.Descriptor {
	t.Helper()
	d, err := hidreport.Parse(loadRaw(t, stem))
	if err != nil {
		t.Fatalf("%s: %v", stem, err)
	}
	return d
}

func loadRecording(t testing.TB, stem string) []hidreport.Recorded {
	t.Helper()
	f, err := os.Open(filepath.Join(hidData, stem+".reports.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := hidreport.ParseRecording(f)
	if err != nil {
		t.Fatalf("%s: %v", stem, err)
	}
	return r
}

func stems(t testing.TB, suffix string) []string {
	files, err := filepath.Glob(filepath.Join(hidData, "*"+suffix))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s files in %s: %v", suffix, hidData, err)
	}
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimSuffix(filepath.Base(f), suffix))
	}
	return out
}

// TestDescriptorsParse parses every real descriptor and checks that it is
// recognised as a UPS and yields the core metrics.
func TestDescriptorsParse(t *testing.T) {
	for _, stem := range stems(t, ".rdesc.hex") {
		t.Run(stem, func(t *testing.T) {
			d := loadDescriptor(t, stem)
			m := NewMap(d)
			if !m.PowerDevice {
				t.Errorf("not recognised as a Power Device")
			}
			for _, name := range []string{"battery.charge", "battery.runtime", "flag.ACPresent", "flag.Discharging"} {
				if _, ok := m.Binding(name); !ok {
					t.Errorf("no field for %s", name)
				}
			}
			if len(m.FeatureReports()) == 0 {
				t.Errorf("no Feature report to poll")
			}
		})
	}
}

// TestReplayRawValues checks every decoded line of every recording: the
// report has the length the descriptor gives it, a field exists at that
// report, offset and size with NUT's usage path, and raw= equals what we
// read from the bytes.
func TestReplayRawValues(t *testing.T) {
	total := 0
	for _, stem := range stems(t, ".reports.txt") {
		t.Run(stem, func(t *testing.T) {
			d := loadDescriptor(t, stem)
			for _, r := range loadRecording(t, stem) {
				if n := d.Sizes[hidreport.Key{Type: hidreport.Feature, ID: r.Bytes[0]}]; n != len(r.Bytes) {
					t.Errorf("line %d: Feature report %#x has %d bytes, descriptor says %d", r.Line, r.Bytes[0], len(r.Bytes), n)
				}
				for _, note := range r.Notes {
					w := strings.Fields(note)
					if len(w) < 5 {
						t.Fatalf("line %d: short note %q", r.Line, note)
					}
					typ := map[string]hidreport.ReportType{"Input": hidreport.Input, "Feature": hidreport.Feature}[w[0]]
					off, _ := strconv.Atoi(strings.TrimPrefix(w[2], "off="))
					size, _ := strconv.Atoi(strings.TrimPrefix(w[3], "size="))
					var field *hidreport.Field
					for i := range d.Fields {
						f := &d.Fields[i]
						if f.Type == typ && f.ReportID == r.Bytes[0] && f.BitOffset == off && f.BitSize == size {
							field = f
							break
						}
					}
					if field == nil {
						t.Errorf("line %d: no %s field at report %#x off=%d size=%d (%s)", r.Line, w[0], r.Bytes[0], off, size, w[1])
						continue
					}
					if got := PathName(field); !samePath(got, w[1]) {
						t.Errorf("line %d: field is %s, NUT says %s", r.Line, got, w[1])
					}
					if !strings.HasPrefix(w[4], "raw=") {
						continue
					}
					want, err := strconv.ParseInt(strings.TrimPrefix(w[4], "raw="), 10, 64)
					if err != nil {
						t.Fatalf("line %d: %v", r.Line, err)
					}
					// NUT read Input items from the Feature answer.
					got, err := d.Raw(r.Bytes, field)
					if err != nil {
						t.Errorf("line %d: %v", r.Line, err)
						continue
					}
					total++
					if got != want {
						t.Errorf("line %d: %s raw %d, recording says %d", r.Line, w[1], got, want)
					}
				}
			}
		})
	}
	if total < 400 {
		t.Errorf("checked only %d raw values; the recordings hold over 400", total)
	}
}

// samePath compares our path with NUT's, part by part: NUT inserts
// "[n]" for indexed collections and names vendor usages from its own
// tables, which we print as 8 hex digits.
func samePath(ours, nut string) bool {
	var n []string
	for _, p := range strings.Split(nut, ".") {
		if !strings.HasPrefix(p, "[") {
			n = append(n, p)
		}
	}
	o := strings.Split(ours, ".")
	if len(n) == 1 { // a short name from a hand-written source
		o = o[len(o)-1:]
	}
	if len(o) != len(n) {
		return false
	}
	for i := range o {
		if len(o[i]) == 8 && !known(hexUsage(o[i])) {
			continue
		}
		if o[i] != n[i] {
			return false
		}
	}
	return true
}

func hexUsage(s string) hidreport.Usage {
	v, _ := strconv.ParseUint(s, 16, 32)
	return hidreport.Usage(v)
}

// replayState feeds all reports of one state of a recording (Feature
// answers, also decoded as the Input reports of the same ID, as NUT does).
func replayState(t testing.TB, stem, state string) *State {
	t.Helper()
	d := loadDescriptor(t, stem)
	st := NewMap(d).NewState()
	n := 0
	recs := loadRecording(t, stem)
	last := -1
	for i, r := range recs {
		if r.State == state {
			last = i
		}
	}
	// A state is what the device reported up to its last report: a poll
	// reads only some reports, the others keep their earlier value.
	for _, r := range recs[:last+1] {
		n++
		if _, err := st.Update(hidreport.Feature, r.Bytes); err != nil {
			t.Fatalf("line %d: %v", r.Line, err)
		}
		if _, ok := d.Sizes[hidreport.Key{Type: hidreport.Input, ID: r.Bytes[0]}]; ok {
			if _, err := st.Update(hidreport.Input, r.Bytes); err != nil && len(r.Bytes) >= d.Sizes[hidreport.Key{Type: hidreport.Input, ID: r.Bytes[0]}] {
				t.Fatalf("line %d as Input: %v", r.Line, err)
			}
		}
	}
	if n == 0 {
		t.Fatalf("%s has no state %q", stem, state)
	}
	return st
}

// TestReplayMetrics checks the mapped metrics of every recording against
// what the source says the UPS was doing and the scaled values derived by
// hand from the descriptor (unit, exponent, vendor quirks).
func TestReplayMetrics(t *testing.T) {
	cases := []struct {
		stem, state string
		want        map[string]any
	}{
		{"apc-back-ups-bx1600mi", "online", map[string]any{
			"ups.status": "OL", "battery.charge": 100.0, "battery.runtime": 3320.0, "input.voltage": 237.0,
			"ups.load": 10.0, "battery.voltage.nominal": 24.0, "battery.voltage": 27.3,
			"input.voltage.nominal": 230.0, "ups.test.result": "Done and passed", "battery.date": "2001-01-01",
			"battery.charge.low": 20.0, "battery.runtime.low": 180.0, "ups.beeper.status": "enabled"}},
		{"apc-back-ups-es850g2", "online", map[string]any{
			"ups.status": "OL", "battery.charge": 100.0, "battery.runtime": 868.0, "input.voltage": 228.0,
			"ups.load": 34.0, "ups.test.result": "No test initiated"}},
		{"apc-smart-ups-3000", "online", map[string]any{
			"battery.charge": 100.0, "battery.runtime": 1212.0, "battery.voltage.nominal": 48.0}},
		{"eaton-3s-700", "online", map[string]any{
			"ups.status": "OL CHRG", "battery.charge": 92.0, "battery.runtime": 2737.0, "output.voltage": 230.0}},
		{"cyberpower-cp1500pfclcd", "online", map[string]any{
			"ups.status": "OL", "battery.charge": 100.0, "battery.runtime": 9180.0, "input.voltage": 121.0,
			"output.voltage": 121.0, "ups.load": 3.0, "battery.voltage": 24.0, "battery.voltage.nominal": 24.0}},
		{"legrand-keor-ups-1cb0-0032", "online", map[string]any{
			"ups.status": "OL CHRG", "battery.charge": 100.0, "input.voltage": 241.4, "output.voltage": 240.8,
			"battery.voltage": 13.6, "output.current": 0.2, "battery.voltage.nominal": 12.0}},
		{"legrand-keor-ups-1cb0-0032", "on-battery", map[string]any{
			"ups.status": "OB DISCHRG", "input.voltage": 0.0}},
		{"santak-tg-box-850", "online", map[string]any{"ups.status": "OL CHRG"}},
	}
	for _, tc := range cases {
		t.Run(tc.stem+"/"+tc.state, func(t *testing.T) {
			st := replayState(t, tc.stem, tc.state)
			got := map[string]any{}
			for _, m := range st.Metrics() {
				got[m.Name] = m.Value
			}
			for k, want := range tc.want {
				if fmt.Sprint(got[k]) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", k, got[k], want)
				}
			}
			s := drivers.Sample{Metrics: st.Metrics()}
			if err := s.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestInterruptCopiesOfStatus: APC Back-UPS declare ACPresent three times;
// an interrupt report with any Input copy must move ups.status, whichever
// copy the poll reads.
func TestInterruptCopiesOfStatus(t *testing.T) {
	st := replayState(t, "apc-back-ups-bx1600mi", "online")
	if got := st.Flags(); !slices.Equal(got, []string{"OL"}) {
		t.Fatalf("online: %v", got)
	}
	// Report 0x13 is UPS.PowerSummary.ACPresent as an 8-bit Input item.
	if _, err := st.Update(hidreport.Input, []byte{0x13, 0x00}); err != nil {
		t.Fatal(err)
	}
	if got := st.Flags(); !slices.Equal(got, []string{"OB"}) {
		t.Errorf("after ACPresent=0 in report 0x13: %v", got)
	}
	// Report 0x14 is BelowRemainingCapacityLimit.
	st.Update(hidreport.Input, []byte{0x14, 0x01})
	if got := st.Flags(); !slices.Equal(got, []string{"OB", "LB"}) {
		t.Errorf("after BelowRemainingCapacityLimit in report 0x14: %v", got)
	}
}
