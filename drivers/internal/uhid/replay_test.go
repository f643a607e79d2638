package uhid

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const hidData = "../../testdata/third_party/hid"

// TestParseRealFiles reads every descriptor and report file of the real
// UPS data.
func TestParseRealFiles(t *testing.T) {
	descs, _ := filepath.Glob(filepath.Join(hidData, "*.rdesc.hex"))
	if len(descs) < 10 {
		t.Fatalf("found %d descriptors in %s", len(descs), hidData)
	}
	for _, p := range descs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParseDescriptor(b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		// Every UPS descriptor opens with Usage Page (Power Device) 0x84.
		if !bytes.HasPrefix(d, []byte{0x05, 0x84}) {
			t.Errorf("%s starts % x, not Usage Page 0x84", p, d[:2])
		}
		if n := len(strings.Fields(string(b))); n != len(d) {
			t.Errorf("%s: %d fields, %d bytes", p, n, len(d))
		}
	}
	reps, _ := filepath.Glob(filepath.Join(hidData, "*.reports.txt"))
	if len(reps) < 7 {
		t.Fatalf("found %d report files", len(reps))
	}
	for _, p := range reps {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		states, err := ParseReports(b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if len(states) == 0 || states[0].Name != "online" || len(states[0].Gets) == 0 {
			t.Errorf("%s: states %+v, want an online block first", p, states)
		}
	}
}

func TestParseReports(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(hidData, "apc-back-ups-bx1600mi.reports.txt"))
	if err != nil {
		t.Fatal(err)
	}
	states, err := ParseReports(b)
	if err != nil {
		t.Fatal(err)
	}
	r := states[0].Reports()
	for id, want := range map[byte][]byte{
		0x0c: {0x0c, 0x64},       // RemainingCapacity 100 %
		0x0f: {0x0f, 0xf8, 0x0c}, // RunTimeToEmpty 3320 s
		0x13: {0x13, 0x01},       // ACPresent
	} {
		if !bytes.Equal(r[id], want) {
			t.Errorf("report %#02x = % x, want % x", id, r[id], want)
		}
	}
	legrand, _ := os.ReadFile(filepath.Join(hidData, "legrand-keor-ups-1cb0-0032.reports.txt"))
	states, err = ParseReports(legrand)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 || states[1].Name != "on-battery" {
		t.Errorf("legrand states: %d, want online and on-battery", len(states))
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"odd digit", "get 0c 6"},
		{"not hex", "get 0c zz"},
		{"no bytes", "get"},
		{"unknown", "set 0c 01"},
		{"state without name", "state"},
	} {
		if _, err := ParseReports([]byte(tc.in)); err == nil {
			t.Errorf("%s: %q parsed without error", tc.name, tc.in)
		}
	}
	for _, in := range []string{"", "05 8", "05 zz", "0584"} {
		if _, err := ParseDescriptor([]byte(in)); err == nil {
			t.Errorf("descriptor %q parsed without error", in)
		}
	}
}

func FuzzParseReports(f *testing.F) {
	f.Add([]byte("state online\nget 0c 64\n  Feature x off=0 size=8 raw=100\n"))
	f.Add([]byte("get 01\n# c\nstate a # b\nget ff ff ff\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		states, err := ParseReports(b)
		if err != nil {
			return
		}
		for _, s := range states {
			for _, g := range s.Gets {
				if len(g) == 0 || len(g) > dataMax {
					t.Fatalf("report of %d bytes accepted", len(g))
				}
			}
			_ = s.Reports()
		}
	})
}

func FuzzParseDescriptor(f *testing.F) {
	f.Add([]byte("05 84 09 04 a1 01\n"))
	f.Add([]byte("0x05 0x84"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDescriptor(b)
		if err == nil && (len(d) == 0 || len(d) > descriptorMax) {
			t.Fatalf("descriptor of %d bytes accepted", len(d))
		}
		if err == nil {
			if _, err := create2(Config{Descriptor: d}); err != nil {
				t.Fatalf("parsed descriptor refused by create2: %v", err)
			}
		}
	})
}
