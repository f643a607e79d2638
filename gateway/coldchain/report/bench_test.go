package report

import (
	"bytes"
	"testing"
	"time"
)

// BenchmarkMonthlyReport makes the monthly PDF of three fridges whose
// recorder took one reading a minute through November 2026 (30 days of
// 1440 readings each): what a click on the web page's download link or
// `praxisgate coldchain report` costs, reading the record files, checking
// each whole chain and rendering. The target is at most 1 s.
func BenchmarkMonthlyReport(b *testing.B) {
	dir := b.TempDir()
	loc := berlin(b)
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
	to := time.Date(2026, 12, 1, 0, 5, 0, 0, loc)
	ids := []string{"impfstoff", "medikamente", "labor"}
	record(b, dir, loc, ids, from, to, time.Minute, func(dev string, at time.Time) (float64, bool) {
		l := at.In(loc)
		if dev == "impfstoff" && l.Day()%7 == 3 && l.Hour() == 9 && l.Minute() < 25 {
			return 9.5, true // the door stood open
		}
		return 4.5 + float64(l.Minute()%10)/10, true
	})
	refs := []FridgeRef{{ID: "impfstoff", Name: "Impfstoffe"}, {ID: "medikamente", Name: "Medikamente"}, {ID: "labor", Name: "Labor"}}
	var size int
	b.ResetTimer()
	for b.Loop() {
		r, err := Collect(dir, Options{Month: "2026-11", Practice: "Praxis Beispiel / gw-01", Fridges: refs, Location: loc, Now: to})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Fridges) != 3 || len(r.Fridges[0].Days) != 30 || len(r.Fridges[0].Excursions) != 4 || !r.Fridges[2].Verification.Intact {
			b.Fatalf("unexpected report: %d fridges, %d days, %d excursions, %+v", len(r.Fridges), len(r.Fridges[0].Days),
				len(r.Fridges[0].Excursions), r.Fridges[2].Verification)
		}
		var buf bytes.Buffer
		if err := Render(&buf, r); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/report")
	b.ReportMetric(float64(size), "pdf-bytes")
}
