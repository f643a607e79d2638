package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
)

// TestColdchainVerify records three days with the real recorder, then
// runs the binary on the record: intact, then with a day edited.
func TestColdchainVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "coldchain")
	day0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	rec, err := coldchain.New(coldchain.Options{Dir: dir, Location: time.UTC, Now: func() time.Time { return day0 },
		Fridges: []coldchain.Fridge{{ID: "kuehlschrank", Low: 2, High: 8, Interval: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	for m := 0; m < 3*24*60; m += 10 {
		at := day0.Add(time.Duration(m) * time.Minute)
		rec.Tick(at)
		rec.Observe(drivers.Sample{Device: "kuehlschrank", Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", 5, "°C")}})
	}
	rec.Tick(day0.Add(72*time.Hour + time.Second))
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	r := runBin(t, time.Minute, "coldchain", "verify", "-dir", dir)
	if r.code != 0 || r.stdout != "kuehlschrank: Protokoll geprüft: intakt (3 Tage)\n" {
		t.Fatalf("intact record: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	year := filepath.Join(dir, "kuehlschrank", "2026.jsonl")
	b, err := os.ReadFile(year)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	lines[1] = strings.Replace(lines[1], `"max_c":5`, `"max_c":4`, 1)
	if err := os.WriteFile(year, []byte(strings.Join(lines, "")), 0o640); err != nil {
		t.Fatal(err)
	}
	r = runBin(t, time.Minute, "coldchain", "verify", "-dir", dir)
	want := "kuehlschrank: Protokoll geprüft: GEBROCHEN bei " + year + " Zeile 2, Tag 2026-11-21: Eintrag weicht vom Hash "
	if r.code != 1 || !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, "\n  "+year+" Zeile 3, Tag 2026-11-22: Verweis ") {
		t.Fatalf("edited record: exit %d, stdout %q, want it to start with %q", r.code, r.stdout, want)
	}

	if r := runBin(t, time.Minute, "coldchain", "verify", "-dir", t.TempDir()); r.code != 1 || !strings.Contains(r.stdout, "Keine Kühlketten-Protokolle") {
		t.Fatalf("empty dir: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := runBin(t, time.Minute, "coldchain", "check"); r.code != 2 {
		t.Fatalf("unknown subcommand: exit %d", r.code)
	}
}
