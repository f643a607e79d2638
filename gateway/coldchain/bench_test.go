package coldchain

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeYears writes days of records for a fridge as the recorder does —
// the day figures from the recorder's own accumulator fed one reading a
// minute, a daily check every day and an acknowledged alarm on the days
// the door was left open, chained, with the chain head — but straight to the files, since
// running the recorder's clock through five years would take most of the
// benchmark's time. It returns the bytes written.
func writeYears(tb testing.TB, dir, device string, days int, seed uint64) int64 {
	tb.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 5))
	b := band{low: 2, high: 8, hold: 3 * time.Minute}
	st := dayState{Device: device}
	start := time.Date(2021, 1, 1, 0, 0, 0, 0, berlin)
	years := map[string][]byte{}
	var head []byte
	for d := 0; d < days; d++ {
		ds := start.AddDate(0, 0, d)
		de := ds.AddDate(0, 0, 1)
		st.resetDay(ds.Format(time.DateOnly))
		door := -1
		if rng.IntN(10) == 0 {
			door = rng.IntN(1400) // a door left open for 20 minutes
		}
		i := 0
		for at := ds; at.Before(de); at = at.Add(time.Minute) {
			v := 4.5 + rng.Float64()
			if door >= 0 && i >= door && i < door+20 {
				v = 8.5 + rng.Float64()
			}
			v = float64(int(v*100)) / 100
			st.attribute(at, ds, de, b)
			st.add(at, v, b)
			i++
		}
		st.attribute(de, ds, de, b)
		// Every day a daily check; a door left open is acknowledged
		// with a comment. The probe has a calibration offset.
		tc := 5.1
		st.Checks = []DailyCheck{{At: ds.Add(8*time.Hour + 12*time.Minute).UTC(), User: "MW", Comment: "Thermometer abgelesen", TempC: &tc}}
		if door >= 0 {
			st.Acks = []Ack{{At: ds.Add(time.Duration(door+25) * time.Minute).UTC(), User: "Dr. Weber", Comment: "Tür war offen, Ware geprüft",
				Alarm: device + "/temperature.above", Kind: "threshold_high", Metric: "temperature", Message: "temperature 9.1 °C above 8 °C"}}
		}
		off := -0.2
		st.OffsetC, st.CalibrationDue = &off, "2027-03-01"
		rec := st.record("Europe/Berlin", b, de.Sub(ds))
		line, err := json.Marshal(rec)
		if err != nil {
			tb.Fatal(err)
		}
		y := rec.Date[:4]
		years[y] = append(append(years[y], line...), '\n')
		st.Prev = Hash(line)
		head = append(head, headLine(rec.Date, st.Prev)+"\n"...)
	}
	ddir := deviceDir(dir, device)
	if err := os.MkdirAll(ddir, 0o750); err != nil {
		tb.Fatal(err)
	}
	var total int64
	for y, b := range years {
		if err := os.WriteFile(filepath.Join(ddir, y+".jsonl"), b, 0o640); err != nil {
			tb.Fatal(err)
		}
		total += int64(len(b))
	}
	if err := os.WriteFile(headFile(dir, device), head, 0o640); err != nil {
		tb.Fatal(err)
	}
	return total + int64(len(head))
}

// BenchmarkVerify5Years checks five years of records of three fridges,
// what the daemon does at start and after every day, and what
// "praxisgate coldchain verify" does. It also reports the disk space the
// records take: five years of one-minute readings of three fridges.
func BenchmarkVerify5Years(b *testing.B) {
	dir := b.TempDir()
	const days = 5*365 + 1 // 2021–2025, 2024 a leap year
	fridges := []string{"impfstoff", "medikamente", "labor"}
	var bytes int64
	for i, f := range fridges {
		bytes += writeYears(b, dir, f, days, uint64(i+1))
	}
	b.ResetTimer()
	for b.Loop() {
		for _, f := range fridges {
			st, err := Check(dir, f)
			if err != nil || !st.Intact() || st.Days != days {
				b.Fatalf("%s: %+v %v", f, st, err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/verify-3x5y")
	b.ReportMetric(float64(bytes)/1e6, "MB-on-disk-3x5y")
	b.ReportMetric(float64(bytes)/float64(3*days), "bytes/day")
}
