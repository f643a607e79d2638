package nut

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

const testUsers = "[monuser]\n  password = \"pa ss\\\"word\"\n  upsmon secondary\n"

// readDump reads a NUT DDL .dev file: "name: value" lines, '#' lines are
// metadata.
func readDump(t *testing.T, path string) []Var {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vars []Var
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			name, value, ok = strings.Cut(line, ":")
		}
		if ok {
			vars = append(vars, Var{Name: strings.TrimSpace(name), Value: value})
		}
	}
	return vars
}

func newClient(t *testing.T, cfg Config) *Driver {
	t.Helper()
	d, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func pollNUT(t *testing.T, d *Driver) (drivers.Sample, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := d.Poll(ctx)
	if err == nil {
		if verr := s.Validate(); verr != nil {
			t.Fatalf("sample does not validate: %v", verr)
		}
	}
	return s, err
}

func metricOf(s drivers.Sample, name string) (drivers.Metric, bool) {
	for _, m := range s.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return drivers.Metric{}, false
}

// TestClientAgainstUpsd reads real dumps of several UPS models through a
// real upsd with the dummy-ups driver and checks that every variable of
// the dump arrives, with numbers and units where NUT names say so.
func TestClientAgainstUpsd(t *testing.T) {
	dumps := map[string]string{
		"eaton":   "Eaton__5P_650__usbhid-ups__2.7.4__01.dev",
		"apc":     "APC__Smart-UPS_SC450_RM__apcsmart__2.6.1__01.dev",
		"blazer":  "Energy_Technologies__DPK1_1-3__blazer_ser__2.7.4__01.dev",
		"riello":  "Riello__Sentinel_Pro_1000_UOD1-XL__riello_ser__2.6.5__01.dev",
		"cyberpw": "Cyber_Power_Systems__CP1500PFCLCD__usbhid-ups__2.7.4__01.dev",
	}
	paths := map[string]string{}
	for n, f := range dumps {
		paths[n] = sharedDump(t, f)
	}
	srv := startUpsd(t, paths, testUsers)
	units := map[string]string{"battery.charge": "%", "battery.runtime": "s", "input.voltage": "V",
		"ups.load": "%", "input.frequency": "Hz", "battery.voltage": "V", "ups.temperature": "°C"}
	for name, path := range paths {
		t.Run(name, func(t *testing.T) {
			d := newClient(t, Config{Host: srv.addr, UPS: name, Username: "monuser", Password: `pa ss"word`, Timeout: 5 * time.Second})
			s, err := pollNUT(t, d)
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			want := readDump(t, path)
			checked := 0
			for _, v := range want {
				if strings.HasPrefix(v.Name, "driver.") {
					continue // dummy-ups reports itself here
				}
				if strings.TrimSpace(v.Value) == "" {
					// dummy-ups cannot hold an empty value: its parser
					// takes the next token of the file instead.
					continue
				}
				m, ok := metricOf(s, v.Name)
				if !ok {
					t.Errorf("%s missing", v.Name)
					continue
				}
				checked++
				wantVal := strings.TrimSpace(v.Value)
				switch got := m.Value.(type) {
				case float64:
					f, err := strconv.ParseFloat(wantVal, 64)
					if err != nil || f != got {
						t.Errorf("%s = %v, want %q", v.Name, got, wantVal)
					}
				case string:
					if got != wantVal {
						t.Errorf("%s = %q, want %q", v.Name, got, wantVal)
					}
				}
				if u, ok := units[v.Name]; ok && m.Unit != u {
					t.Errorf("%s unit = %q, want %q", v.Name, m.Unit, u)
				}
			}
			if checked < 10 {
				t.Errorf("only %d variables compared", checked)
			}
			st, _ := metricOf(s, "ups.status")
			if st.Value != "OL" && st.Value != "OL CHRG" {
				t.Errorf("ups.status = %v", st.Value)
			}
			if len(s.Conditions) != 0 {
				t.Errorf("conditions on a UPS on line: %v", s.Conditions)
			}
		})
	}

	t.Run("only UPS needs a name when several are served", func(t *testing.T) {
		d := newClient(t, Config{Host: srv.addr})
		_, err := pollNUT(t, d)
		if !errors.Is(err, drivers.ErrProtocol) || !strings.Contains(err.Error(), "eaton") {
			t.Fatalf("err = %v, want ErrProtocol listing the UPSes", err)
		}
	})
	t.Run("unknown UPS", func(t *testing.T) {
		d := newClient(t, Config{Host: srv.addr, UPS: "nosuch"})
		_, err := pollNUT(t, d)
		var se *ServerError
		if !errors.Is(err, drivers.ErrProtocol) || !errors.As(err, &se) || se.Code != "UNKNOWN-UPS" {
			t.Fatalf("err = %v, want ERR UNKNOWN-UPS as ErrProtocol", err)
		}
	})
	t.Run("server gone", func(t *testing.T) {
		d := newClient(t, Config{Host: "127.0.0.1:" + strconv.Itoa(freePort(t)), UPS: "x", Timeout: time.Second})
		if _, err := pollNUT(t, d); !errors.Is(err, drivers.ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
	})
}

// TestClientStatusChanges rewrites the dump behind dummy-ups (which
// re-reads a changed file) to take a UPS through a mains failure and back,
// and checks conditions and events the driver derives from ups.status.
func TestClientStatusChanges(t *testing.T) {
	src, err := os.ReadFile(sharedDump(t, "Eaton__5P_650__usbhid-ups__2.7.4__01.dev"))
	if err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(t.TempDir(), "eaton.dev")
	write := func(status string) {
		var out []string
		for _, l := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(l, "ups.status:") {
				l = "ups.status: " + status
			}
			out = append(out, l)
		}
		if err := os.WriteFile(dev+".tmp", []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(dev+".tmp", dev); err != nil {
			t.Fatal(err)
		}
	}
	write("OL CHRG")
	srv := startUpsd(t, map[string]string{"ups": dev}, testUsers)
	d := newClient(t, Config{Host: srv.addr})
	steps := []struct {
		status string
		conds  []string
		events []string
	}{
		{"OL CHRG", nil, nil},
		{"OB DISCHRG", []string{"ups.on_battery"}, []string{"ups.power_lost"}},
		{"OB DISCHRG LB", []string{"ups.low_battery", "ups.on_battery"}, []string{"ups.battery_low"}},
		{"OL CHRG", nil, []string{"ups.power_restored"}},
		{"OL RB", []string{"ups.replace_battery"}, nil},
	}
	for _, st := range steps {
		write(st.status)
		var s drivers.Sample
		// dummy-ups notices the change within its poll interval (2 s).
		for range 100 {
			s, err = pollNUT(t, d)
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if m, _ := metricOf(s, "ups.status"); m.Value == st.status {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if m, _ := metricOf(s, "ups.status"); m.Value != st.status {
			t.Fatalf("ups.status never became %q (is %v)", st.status, m.Value)
		}
		var conds, events []string
		for _, c := range s.Conditions {
			conds = append(conds, c.Name)
		}
		for _, e := range s.Events {
			events = append(events, e.Type)
		}
		if !slices.Equal(conds, st.conds) || !slices.Equal(events, st.events) {
			t.Errorf("%s: conditions %v events %v, want %v %v", st.status, conds, events, st.conds, st.events)
		}
	}
}

func TestClientConfig(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		fields []string
		addr   string
	}{
		{"host only", Config{Host: "nas.praxis.lan"}, nil, "nas.praxis.lan:3493"},
		{"ipv6", Config{Host: "::1"}, nil, "[::1]:3493"},
		{"port", Config{Host: "10.0.0.2:4000", UPS: "ups"}, nil, "10.0.0.2:4000"},
		{"empty", Config{}, []string{"host"}, ""},
		{"bad", Config{Host: "x:99999", UPS: "a b", Password: "p"}, []string{"host", "ups", "username"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.cfg, nil)
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var fe *drivers.FieldError
					if !errors.As(e, &fe) {
						t.Fatalf("%v is not a FieldError", e)
					}
					got = append(got, fe.Field)
				}
			}
			if !slices.Equal(got, tc.fields) {
				t.Fatalf("fields = %v, want %v", got, tc.fields)
			}
			if d != nil && d.addr != tc.addr {
				t.Errorf("addr = %q, want %q", d.addr, tc.addr)
			}
		})
	}
	if _, ok := drivers.Lookup("nut"); !ok {
		t.Error("driver nut is not registered")
	}
}
