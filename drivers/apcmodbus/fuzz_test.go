package apcmodbus

import (
	"encoding/binary"
	"testing"
)

// FuzzDecode: whatever the UPS puts into its registers, the sample must
// validate (finite numbers, a status string) and nothing may panic.
func FuzzDecode(f *testing.F) {
	f.Add(make([]byte, 2*(statusCount+dynCount+1)))
	f.Add([]byte{0x00, 0x00, 0x20, 0x02, 0x00, 0x08})
	f.Fuzz(func(t *testing.T, b []byte) {
		words := make([]uint16, statusCount+dynCount+1)
		for i := range words {
			if 2*i+1 < len(b) {
				words[i] = binary.BigEndian.Uint16(b[2*i:])
			}
		}
		s := decode(words[:statusCount], words[statusCount:statusCount+dynCount], words[statusCount+dynCount:])
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		if metricText(s, "ups.test.result") == "" {
			t.Fatal("no test result")
		}
	})
}
