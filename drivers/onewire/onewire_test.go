package onewire

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/praxisgate/praxisgate/drivers"
)

const root = "testdata/sysfs"

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		id      string
		milliC  int
		wantErr error
	}{
		{"28-0316a2795fff", 23125, nil},
		{"28-03172137f1ff", 5875, nil},
		{"28-0417c1b2a3ff", -1500, nil},
		{"28-01193a5b6cff", 0, errPowerOn},
		{"28-0000075e2cd1", 0, errCRC},
		{"28-00000a1b2c3d", 0, errCRC},
		{"28-000005e2fdc3", 0, errNoProbe},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, tt.id, "w1_slave"))
			if err != nil {
				t.Fatal(err)
			}
			r, err := parseW1Slave(data)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("parse = %v, %v; want %v", r.milliC, err, tt.wantErr)
				}
				return
			}
			if err != nil || r.milliC != tt.milliC {
				t.Errorf("parse = %v, %v; want %v", r.milliC, err, tt.milliC)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	good := "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
	tests := map[string]string{
		"empty":              "",
		"one line":           "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n",
		"no crc marker":      strings.Replace(good, " : crc=", " ", 1),
		"bad verdict":        strings.Replace(good, "YES", "MAYBE", 1),
		"kernel YES but bad": strings.ReplaceAll(good, "10 57", "10 58"),
		"lines disagree":     strings.Replace(good, "10 57 t=", "10 56 t=", 1),
		"short scratchpad":   "72 01 4b 46 7f ff 0e 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 57 t=23125\n",
		"not hex":            strings.ReplaceAll(good, "4b", "zz"),
		"no temperature":     strings.Replace(good, " t=23125", "", 1),
		"temperature text":   strings.Replace(good, "t=23125", "t=warm", 1),
		"out of range":       strings.Replace(good, "t=23125", "t=130000", 1),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if r, err := parseW1Slave([]byte(in)); err == nil {
				t.Errorf("parse = %d m°C, want an error", r.milliC)
			}
		})
	}
	if _, err := parseW1Slave([]byte(good)); err != nil {
		t.Errorf("good input: %v", err)
	}
}

// TestFixtureCRCs guards the fixtures themselves: a YES verdict must go
// with a matching Dallas CRC, a NO with a mismatching one.
func TestFixtureCRCs(t *testing.T) {
	ids, err := Probes(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		data, _ := os.ReadFile(filepath.Join(root, id, "w1_slave"))
		sp, err := hexBytes([]byte(strings.SplitN(string(data), " :", 2)[0]))
		if err != nil {
			t.Fatal(id, err)
		}
		yes := strings.Contains(string(data), "YES")
		if (crc8(sp[:8]) == sp[8]) != yes {
			t.Errorf("%s: CRC %02x vs byte %02x disagrees with the verdict", id, crc8(sp[:8]), sp[8])
		}
	}
}

func TestProbes(t *testing.T) {
	ids, err := Probes(root)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := os.ReadFile(filepath.Join(root, "w1_bus_master1", "w1_master_slaves"))
	if want := strings.Fields(string(list)); !reflect.DeepEqual(ids, want) {
		t.Errorf("Probes = %v, want %v (the bus master's list)", ids, want)
	}
	if _, err := Probes(filepath.Join(root, "nope")); err == nil {
		t.Error("Probes of a missing directory succeeded")
	}
}

func newDriver(t *testing.T, cfg Config) *Driver {
	t.Helper()
	d, err := New(drivers.Device{ID: "kuehlschrank"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d.(*Driver)
}

func TestPoll(t *testing.T) {
	cfg := defaults()
	cfg.SysfsRoot = root
	cfg.Probes = []Probe{
		{ID: "28-03172137F1FF", Name: "temperature", Offset: 0.2},
		{ID: "28-0417c1b2a3ff", Name: "temperature.bottom"},
		{ID: "28-01193a5b6cff", Name: "temperature.top"},
		{ID: "28-0000075e2cd1", Name: "temperature.door"},
		{ID: "28-0123456789ab", Name: "temperature.gone"},
	}
	s, err := newDriver(t, cfg).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []drivers.Metric{
		drivers.Num("temperature", 6.075, "°C"),
		drivers.Num("temperature.bottom", -1.5, "°C"),
	}
	if len(s.Metrics) != len(want) {
		t.Fatalf("metrics = %v, want %v", s.Metrics, want)
	}
	for i := range want {
		g, _ := s.Metrics[i].Float()
		w, _ := want[i].Float()
		if s.Metrics[i].Name != want[i].Name || g-w > 1e-9 || w-g > 1e-9 {
			t.Errorf("metric %d = %v, want %v", i, s.Metrics[i], want[i])
		}
	}
	var conds []string
	for _, c := range s.Conditions {
		conds = append(conds, c.Name+"/"+string(c.Severity))
	}
	wantConds := []string{
		"onewire.temperature.top.invalid/minor",
		"onewire.temperature.door.invalid/minor",
		"onewire.temperature.gone.missing/major",
	}
	if !reflect.DeepEqual(conds, wantConds) {
		t.Errorf("conditions = %v, want %v", conds, wantConds)
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}

func TestPollWithoutBus(t *testing.T) {
	cfg := defaults()
	cfg.SysfsRoot = filepath.Join(t.TempDir(), "w1")
	cfg.Probes = []Probe{{ID: "28-03172137f1ff"}}
	if _, err := newDriver(t, cfg).Poll(context.Background()); !errors.Is(err, drivers.ErrUnreachable) {
		t.Errorf("Poll = %v, want ErrUnreachable", err)
	}
}

// flakyFS serves a sequence of w1_slave contents, one per read, as a probe
// on a noisy cable or just after a brown-out does.
type flakyFS struct {
	fstest.MapFS
	reads []string
	n     int
}

func (f *flakyFS) ReadFile(name string) ([]byte, error) {
	if !strings.HasSuffix(name, "/w1_slave") {
		return f.MapFS.ReadFile(name)
	}
	i := min(f.n, len(f.reads)-1)
	f.n++
	return []byte(f.reads[i]), nil
}

var _ fs.ReadFileFS = (*flakyFS)(nil)

func TestRetries(t *testing.T) {
	read := func(id string) string {
		b, err := os.ReadFile(filepath.Join(root, id, "w1_slave"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	powerOn, crcNo, good := read("28-01193a5b6cff"), read("28-0000075e2cd1"), read("28-03172137f1ff")
	tests := []struct {
		name    string
		retries int
		reads   []string
		wantOK  bool
		wantN   int
	}{
		{"power-on then good", 2, []string{powerOn, good}, true, 2},
		{"two CRC errors then good", 2, []string{crcNo, crcNo, good}, true, 3},
		{"three CRC errors exhaust two retries", 2, []string{crcNo, crcNo, crcNo, good}, false, 3},
		{"no retries", 0, []string{crcNo, good}, false, 1},
		{"all-zero is not retried", 2, []string{read("28-000005e2fdc3"), good}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaults()
			cfg.Retries = tt.retries
			cfg.Probes = []Probe{{ID: "28-03172137f1ff"}}
			d := newDriver(t, cfg)
			ffs := &flakyFS{MapFS: fstest.MapFS{"28-03172137f1ff/w1_slave": {}}, reads: tt.reads}
			d.fsys = ffs
			s, err := d.Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := len(s.Metrics) == 1; got != tt.wantOK {
				t.Errorf("metrics = %v, conditions = %v; want a reading: %v", s.Metrics, s.Conditions, tt.wantOK)
			}
			if ffs.n != tt.wantN {
				t.Errorf("read the probe %d times, want %d", ffs.n, tt.wantN)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no probes", Config{SysfsRoot: DefaultRoot}, "probes"},
		{"bad id", Config{SysfsRoot: DefaultRoot, Probes: []Probe{{ID: "28-xyz"}}}, "probes[0].id"},
		{"not a thermometer", Config{SysfsRoot: DefaultRoot, Probes: []Probe{{ID: "01-0000012345ab"}}}, "probes[0].id"},
		{"twice", Config{SysfsRoot: DefaultRoot, Probes: []Probe{{ID: "28-0316a2795fff", Name: "a"}, {ID: "28-0316a2795fff", Name: "b"}}}, "probes[1].id"},
		{"same name", Config{SysfsRoot: DefaultRoot, Probes: []Probe{{ID: "28-0316a2795fff", Name: "a"}, {ID: "28-03172137f1ff", Name: "a"}}}, "probes[1].name"},
		{"retries", Config{SysfsRoot: DefaultRoot, Retries: 9, Probes: []Probe{{ID: "28-0316a2795fff"}}}, "retries"},
		{"root", Config{Probes: []Probe{{ID: "28-0316a2795fff"}}}, "sysfs_root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(drivers.Device{}, tt.cfg, nil)
			var fe *drivers.FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("New = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}

func TestDefaultNames(t *testing.T) {
	cfg := defaults()
	cfg.SysfsRoot = root
	cfg.Probes = []Probe{{ID: "28-0316a2795fff"}, {ID: "28-03172137f1ff"}}
	d := newDriver(t, cfg)
	if d.cfg.Probes[0].Name != "temperature.28-0316a2795fff" {
		t.Errorf("default name = %q", d.cfg.Probes[0].Name)
	}
	cfg.Probes = []Probe{{ID: "28-0316a2795fff"}}
	if d := newDriver(t, cfg); d.cfg.Probes[0].Name != "temperature" {
		t.Errorf("single probe default name = %q", d.cfg.Probes[0].Name)
	}
}

// FuzzParseW1Slave: the file comes from the kernel, but a flaky bus can put
// anything in it; the parser must never panic nor accept an unchecked value.
func FuzzParseW1Slave(f *testing.F) {
	ids, _ := Probes(root)
	for _, id := range ids {
		b, _ := os.ReadFile(filepath.Join(root, id, "w1_slave"))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseW1Slave(data)
		if err != nil {
			return
		}
		if crc8(r.scratchpad[:8]) != r.scratchpad[8] || r.milliC == 85000 || r.milliC < -55000 || r.milliC > 125000 {
			t.Errorf("accepted %q as %d", data, r.milliC)
		}
	})
}
