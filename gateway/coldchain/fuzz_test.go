package coldchain

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary day-file and chain-head bytes (a damaged disk,
// a clumsy forgery) to Verify and to a recorder starting on them: neither
// may panic or fail, and the recorder must start and write the next day.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"date":"2026-11-20","device":"kuehlschrank","tz":"UTC","low_c":2,"high_c":8,"samples":0,"min_c":null,"max_c":null,"mean_c":null,"mkt_c":null,"minutes_out":0,"minutes_no_data":1440,"excursions":[],"prev":""}`+"\n"),
		[]byte("2026-11-20 9f3c7b0f8b3f4f5e2b1e7a7b1c9d0e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d\n"))
	f.Add([]byte("{not json\n"), []byte("! chain head file was missing\n"))
	f.Add([]byte(`{"date":"2026-1`), []byte("2026-11-2"))
	f.Add([]byte(`{"date":"x","device":"kuehlschrank","prev":"ab"}`+"\n"+`{"date":"","device":""}`+"\n"), []byte("2026-13-45 zz\n\n"))
	f.Fuzz(func(t *testing.T, records, head []byte) {
		dir := t.TempDir()
		ddir := filepath.Join(dir, "kuehlschrank")
		if err := os.MkdirAll(ddir, 0o750); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(ddir, "2026.jsonl"), records, 0o640)
		os.WriteFile(filepath.Join(ddir, headName), head, 0o640)
		if _, err := Verify(dir, "kuehlschrank"); err != nil {
			t.Fatalf("verify: %v", err)
		}
		r, err := New(Options{Dir: dir, Location: time.UTC, Now: func() time.Time { return day0 }, Log: slog.New(slog.DiscardHandler),
			Fridges: []Fridge{{ID: "kuehlschrank", Low: 2, High: 8, Interval: time.Minute}}})
		if err != nil {
			t.Fatalf("start on damaged files: %v", err)
		}
		r.Tick(day0)
		r.Observe(temp(day0.Add(time.Minute), 5))
		r.Tick(day0.Add(24*time.Hour + time.Second))
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(dir, "kuehlschrank"); err != nil {
			t.Fatalf("verify after a day: %v", err)
		}
	})
}
