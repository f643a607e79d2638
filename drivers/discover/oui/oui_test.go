package oui

import (
	"net"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		mac  string
		want string
	}{
		{"00:00:0c:12:34:56", "Cisco Systems, Inc"},
		{"00:11:32:aa:bb:cc", "Synology Incorporated"},
		{"00:c0:b7:01:02:03", "AMERICAN POWER CONVERSION CORP"},
		{"08:00:30:00:00:01", "NETWORK RESEARCH CORPORATION"}, // listed three times; first wins
		{"02:11:32:aa:bb:cc", ""},                             // locally administered
		{"ff:ff:ff:ff:ff:ff", ""},
		{"00:00", ""},
	}
	for _, tt := range tests {
		mac, err := net.ParseMAC(tt.mac)
		if err != nil {
			mac = net.HardwareAddr{0, 0}
		}
		if got := Lookup(mac); got != tt.want {
			t.Errorf("Lookup(%s) = %q, want %q", tt.mac, got, tt.want)
		}
	}
}

func TestTableSorted(t *testing.T) {
	if Len() < 30000 {
		t.Fatalf("table holds %d prefixes, want the full registry", Len())
	}
	for i := 1; i < len(prefixes); i++ {
		if prefixes[i-1] >= prefixes[i] {
			t.Fatalf("prefixes not strictly ascending at %d: %06x, %06x", i, prefixes[i-1], prefixes[i])
		}
	}
	if int(nameIndex[len(nameIndex)-1])+1 >= len(nameOffsets) {
		t.Fatal("name index out of range")
	}
}
