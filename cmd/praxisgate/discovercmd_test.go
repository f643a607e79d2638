package main

import (
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
)

func TestWriteAttached(t *testing.T) {
	tests := []struct {
		name string
		in   []drivers.Attached
		want []string
	}{
		{"nothing plugged in", nil, nil},
		{"a USB UPS", []drivers.Attached{{Key: "4B19", Title: "APC Back-UPS ES 850G2 (051d:0002, USB)", ID: "usv-4b19",
			Adopt: drivers.Adoption{Driver: "upshid", Settings: map[string]string{"serial": "4B19"}}, Problem: "permission denied"}},
			[]string{"Plugged into this box:", "APC Back-UPS ES 850G2", "driver upshid, proposed id usv-4b19, serial: 4B19", "cannot be read yet: permission denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			writeAttached(&b, tt.in)
			if tt.want == nil && b.Len() != 0 {
				t.Fatalf("printed %q for nothing", b.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
