package upshid

import (
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
)

// FuzzReport feeds arbitrary reports, as Input and as Feature, to the
// mapping of every real descriptor: whatever comes, the metrics must
// validate (finite numbers, known types) and nothing may panic.
func FuzzReport(f *testing.F) {
	var maps []*Map
	for _, stem := range stems(f, ".rdesc.hex") {
		maps = append(maps, NewMap(loadDescriptor(f, stem)))
	}
	for _, stem := range stems(f, ".reports.txt") {
		for i, r := range loadRecording(f, stem) {
			if i%3 == 0 {
				f.Add(uint8(i), r.Bytes)
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, report []byte) {
		m := maps[int(which)%len(maps)]
		st := m.NewState()
		_, _ = st.Update(hidreport.Input, report)
		_, _ = st.Update(hidreport.Feature, report)
		s := drivers.Sample{Metrics: st.Metrics()}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		_ = st.Flags()
	})
}

// BenchmarkDecodeInputReport measures what one interrupt report costs from
// bytes to ups.status (the path of a mains-loss event).
func BenchmarkDecodeInputReport(b *testing.B) {
	m := NewMap(loadDescriptor(b, "apc-back-ups-bx1600mi"))
	st := m.NewState()
	on, off := []byte{0x16, 0x0c, 0x00, 0x00, 0x00}, []byte{0x16, 0x0a, 0x00, 0x00, 0x00}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := on
		if i%2 == 1 {
			r = off
		}
		if _, err := st.Update(hidreport.Input, r); err != nil {
			b.Fatal(err)
		}
		_ = st.Flags()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/report")
}

// BenchmarkParseDescriptor measures parsing the largest real descriptor
// (done once per connect).
func BenchmarkParseDescriptor(b *testing.B) {
	raw := loadRaw(b, "apc-back-ups-rs1000g")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := hidreport.Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(raw)), "descriptor-bytes")
}
