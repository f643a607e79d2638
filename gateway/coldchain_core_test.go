package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/schedule"
)

// The core applies a fridge probe's calibration to its readings (raw value
// beside the corrected one), raises the record's alarms (daily check,
// calibration due, a broken record) as the fridge's conditions and clears
// them, and writes acknowledgements of a fridge's alarms with the comment
// into its record.
func TestColdChainInTheCore(t *testing.T) {
	dir := t.TempDir()
	// A record of two days, edited afterwards: a break at start.
	cdir := filepath.Join(dir, coldchain.DirName)
	rec, err := coldchain.New(coldchain.Options{Dir: cdir, SaveEvery: time.Hour,
		Fridges: []coldchain.Fridge{{ID: "fridge", Low: 2, High: 8, Interval: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().AddDate(0, 0, -3).Truncate(24 * time.Hour)
	for at := day; at.Before(day.Add(48 * time.Hour)); at = at.Add(10 * time.Minute) {
		rec.Tick(at)
		rec.Observe(drivers.Sample{Device: "fridge", Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", 5, "°C")}})
	}
	rec.Tick(day.Add(48*time.Hour + time.Minute))
	rec.Close()
	files, _ := filepath.Glob(filepath.Join(cdir, "fridge", "*.jsonl"))
	b, _ := os.ReadFile(files[0])
	if err := os.WriteFile(files[0], []byte(strings.Replace(string(b), `"max_c":5`, `"max_c":4`, 1)), 0o640); err != nil {
		t.Fatal(err)
	}

	due := time.Now().AddDate(0, 0, 10).Format(time.DateOnly)
	cfg := load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: "tcp://127.0.0.1:1"}
fridge: {daily_check_by: "00:00"}
devices:
  - {id: fridge, driver: sim, kind: fridge, interval: 1m, calibration: {offset: -0.3, due: %q}, sim: {scenario: fridge}}
`, dir, due))
	g, err := New(cfg, Options{Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.closeAll()
	poll := func(v float64) {
		g.handle(schedule.Result{Sample: drivers.Sample{Device: "fridge", Kind: "fridge", Time: time.Now(),
			Metrics: []drivers.Metric{drivers.Num("temperature", v, "°C")}}})
	}
	alarms := func() map[string]string {
		m := map[string]string{}
		for _, a := range g.Alarms() {
			m[a.ID] = string(a.Severity)
		}
		return m
	}
	poll(5.5)
	l := g.Latest()[0].Sample.Metrics
	if len(l) != 2 || l[0].Value != 5.2 || l[1].Name != "temperature.raw" || l[1].Value != 5.5 {
		t.Fatalf("latest metrics %+v", l)
	}
	want := map[string]string{"fridge/coldchain.integrity": "major", "fridge/coldchain.daily_check": "minor", "fridge/coldchain.calibration": "minor"}
	if got := alarms(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("alarms %v, want %v", got, want)
	}
	// The daily check clears its alarm with the next reading.
	if _, err := g.ColdChain().ConfirmCheck("fridge", "MW", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	poll(5.4)
	if _, ok := alarms()["fridge/coldchain.daily_check"]; ok {
		t.Fatalf("daily-check alarm after the check: %v", alarms())
	}
	// An acknowledgement with a comment goes into the fridge's day.
	if err := g.AckAlarmComment(context.Background(), "fridge/coldchain.calibration", "MW", "Termin beim Kalibrierdienst vereinbart"); err != nil {
		t.Fatal(err)
	}
	for _, a := range g.Alarms() {
		if a.ID == "fridge/coldchain.calibration" && (!a.Acked || a.AckedBy != "MW" || a.AckComment != "Termin beim Kalibrierdienst vereinbart") {
			t.Fatalf("alarm %+v", a)
		}
	}
	today := g.ColdChain().Today(time.Now())
	if len(today) != 1 || len(today[0].Checks) != 1 || len(today[0].Acks) != 1 {
		t.Fatalf("today %+v", today)
	}
	if a := today[0].Acks[0]; a.User != "MW" || a.Comment != "Termin beim Kalibrierdienst vereinbart" || a.Kind != "condition" || a.Alarm != "fridge/coldchain.calibration" {
		t.Fatalf("ack in the record %+v", a)
	}
}
