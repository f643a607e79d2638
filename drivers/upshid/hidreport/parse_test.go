package hidreport

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"truncated item", []byte{0x05}, "runs past the end"},
		{"report id 0", []byte{0x85, 0x00}, "Report ID 0"},
		{"pop without push", []byte{0xb4}, "Pop without Push"},
		{"end without collection", []byte{0xc0}, "End Collection without Collection"},
		{"reserved main", []byte{0xf0}, "reserved main"},
		{"huge variable", []byte{0x75, 0x40, 0x95, 0x01, 0x81, 0x02}, "at most 32"},
		{"id after unnumbered", []byte{0x75, 0x08, 0x95, 0x01, 0x81, 0x02, 0x85, 0x01}, "after items without one"},
	}
	for _, tc := range cases {
		_, err := Parse(tc.b)
		if err == nil || !errors.Is(err, ErrDescriptor) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestValueScaling(t *testing.T) {
	cases := []struct {
		f    Field
		raw  int64
		want float64
	}{
		{Field{Unit: UnitVolt, UnitExponent: 5, LogicalMax: 65535}, 1200, 12},                                         // APC battery
		{Field{Unit: UnitVolt, UnitExponent: 6, LogicalMax: 255}, 240, 24},                                            // CyberPower battery
		{Field{Unit: UnitVolt, UnitExponent: 7, LogicalMax: 255}, 237, 237},                                           // mains
		{Field{Unit: UnitSecond, LogicalMax: 65535}, 3320, 3320},                                                      // runtime
		{Field{LogicalMin: -1, LogicalMax: 32767, PhysicalMin: -60, PhysicalMax: 1966020, Unit: UnitSecond}, -1, -60}, // CyberPower delay
		{Field{LogicalMax: 100}, 64, 64},
	}
	for i, tc := range cases {
		if got := tc.f.Value(tc.raw); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("%d: %v, want %v", i, got, tc.want)
		}
	}
}

func TestLogicalMaxAsUnsigned(t *testing.T) {
	// APC Back-UPS BX1600MI: Logical Minimum 0, Logical Maximum 25 ff (-1).
	d, err := Parse([]byte{0x05, 0x85, 0x85, 0x0c, 0x09, 0x66, 0x15, 0x00, 0x25, 0xff, 0x75, 0x08, 0x95, 0x01, 0xb1, 0x02})
	if err != nil {
		t.Fatal(err)
	}
	f := d.Fields[0]
	if f.LogicalMax != 255 || !f.LogMaxFixed || f.Signed() {
		t.Fatalf("got %+v", f)
	}
	if v, _ := d.Raw([]byte{0x0c, 0x64}, &f); v != 100 {
		t.Errorf("raw %d", v)
	}
}
