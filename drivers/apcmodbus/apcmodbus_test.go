package apcmodbus

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/internal/doccheck"
)

const frames = "../testdata/third_party/apc-modbus/nut-issue139-prplhaz4.frames.txt"

// realRegisters parses the published answers into register values: the
// status block at 0 and the dynamic block at 128 (as far as published).
func realRegisters(t *testing.T) map[uint16][]uint16 {
	t.Helper()
	f, err := os.Open(frames)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[uint16][]uint16{}
	var start uint16
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "req "):
			var b []byte
			for _, h := range strings.Split(strings.Trim(line[4:], "[]"), "][") {
				v, _ := strconv.ParseUint(h, 16, 8)
				b = append(b, byte(v))
			}
			start = uint16(b[8])<<8 | uint16(b[9])
			n := int(b[10])<<8 | int(b[11])
			out[start] = make([]uint16, 0, n)
		case strings.HasPrefix(line, "<"):
			var b []byte
			for _, h := range strings.Split(strings.Trim(line, "<>"), "><") {
				v, err := strconv.ParseUint(h, 16, 8)
				if err != nil {
					t.Fatalf("%q: %v", h, err)
				}
				b = append(b, byte(v))
			}
			data := b[9:]
			want := cap(out[start])
			for i := 0; i+1 < len(data) && len(out[start]) < want; i += 2 {
				out[start] = append(out[start], uint16(data[i])<<8|uint16(data[i+1]))
			}
		}
	}
	if len(out[0]) != 27 || len(out[128]) != 23 {
		t.Fatalf("parsed %d status and %d dynamic registers, want 27 and 23", len(out[0]), len(out[128]))
	}
	return out
}

func TestDecodeRealUnit(t *testing.T) {
	regs := realRegisters(t)
	s := decode(regs[0], regs[128], nil)
	got := map[string]any{}
	for _, m := range s.Metrics {
		got[m.Name] = m.Value
	}
	want := map[string]any{
		"battery.runtime": 20561.0, "battery.charge": 100.0, "battery.voltage": 54.5,
		"battery.temperature": 29.4765625, "ups.load": 13.09765625, "output.current": 1.28125,
		"output.voltage": 121.375, "output.frequency": 60.015625, "battery.date.maintenance": "2028-01-28",
		"ups.status": "OL", "ups.test.result": "Done and passed", // register 23 = 0x44: Passed, started over the protocol
	}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}

func TestDecodeStates(t *testing.T) {
	regs := realRegisters(t)
	cases := []struct {
		name string
		set  func(st, dyn []uint16)
		want string
		test string
	}{
		{"on battery, shutdown imminent", func(st, dyn []uint16) { st[1] = 1 << 2; st[18] = 1 << 1 }, "OB LB DISCHRG", ""},
		{"replace battery", func(st, dyn []uint16) { st[22] = 1 << 2 }, "OL RB", ""},
		{"overload and trim", func(st, dyn []uint16) { st[0] = 1 << 5; dyn[22] |= 1 << 6 }, "OL OVER TRIM", ""},
		{"test failed", func(st, dyn []uint16) { st[23] = 1<<3 | 1<<6 }, "OL", "Done and error"},
	}
	for _, tc := range cases {
		st := append([]uint16(nil), regs[0]...)
		dyn := append([]uint16(nil), regs[128]...)
		tc.set(st, dyn)
		s := decode(st, dyn, nil)
		if got := metricText(s, "ups.status"); got != tc.want {
			t.Errorf("%s: status %q, want %q", tc.name, got, tc.want)
		}
		if tc.test != "" && metricText(s, "ups.test.result") != tc.test {
			t.Errorf("%s: test %q", tc.name, metricText(s, "ups.test.result"))
		}
	}
}

// TestPollRTUAgainstPymodbus serves the real unit's registers from
// pymodbus on a pseudo-terminal and polls them through the Modbus stack.
func TestPollRTUAgainstPymodbus(t *testing.T) {
	regs := realRegisters(t)
	peer, gw := testpeer.PTYPair(t)
	tables := map[string]map[string][]uint16{"holding": {"0": regs[0], "128": regs[128]}}
	testpeer.StartModbusRTU(t, peer, 1, tables)
	cfg := defaults()
	cfg.Device, cfg.StopBits = gw, 2
	d, err := New(drivers.Device{ID: "usv-smt"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := d.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		if metricText(s, "ups.status") != "OL" || metricText(s, "device.mfr") != "APC" {
			t.Errorf("poll %d: %v", i, s.Metrics)
		}
		for _, m := range s.Metrics {
			if m.Name == "battery.charge" && m.Value != 100.0 {
				t.Errorf("charge %v", m.Value)
			}
			if m.Name == "input.voltage" {
				t.Errorf("input.voltage %v although the unit's register 151 is not served", m.Value)
			}
		}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	// Another unit id: nobody answers, the UPS is unreachable.
	cfg.UnitID, cfg.Timeout = 9, 300*time.Millisecond
	d.Close()
	d2, _ := New(drivers.Device{ID: "x"}, cfg, nil)
	defer d2.Close()
	if _, err := d2.Poll(context.Background()); !errors.Is(err, drivers.ErrUnreachable) {
		t.Errorf("absent unit: %v, want ErrUnreachable", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{{}, {Device: "/dev/x", Baud: 1234, UnitID: 1}, {Device: "/dev/x", UnitID: 0}, {Device: "/dev/x", UnitID: 1, Parity: "mark"}} {
		if _, err := New(drivers.Device{}, c, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestDocsListEveryKey(t *testing.T) {
	doccheck.Keys(t, "../../docs/drivers/apcmodbus.md", Config{})
}
