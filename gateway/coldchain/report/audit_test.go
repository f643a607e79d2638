package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
)

// TestReportFromAuditTrail: the daily checks and the acknowledgement that
// staff gave through the recorder (the web page's path) are in the PDF
// without any callback: the report reads them from the hash-chained record.
func TestReportFromAuditTrail(t *testing.T) {
	dir := t.TempDir()
	loc := berlin(t)
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, loc)
	to := time.Date(2026, 11, 4, 12, 0, 0, 0, loc)
	step := 10 * time.Minute
	rec, err := coldchain.New(coldchain.Options{Dir: dir, Location: loc, SaveEvery: 6 * time.Hour,
		Fridges: []coldchain.Fridge{{ID: "impfstoff", Metric: "temperature", Low: 2, High: 8, Interval: step}},
		Now:     func() time.Time { return from }})
	if err != nil {
		t.Fatal(err)
	}
	for at := from; !at.After(to); at = at.Add(step) {
		l := at.In(loc)
		v := 5.0
		if l.Day() == 3 && l.Hour() == 19 {
			v = 11.2 // the door stood open
		}
		rec.Observe(drivers.Sample{Device: "impfstoff", Kind: "fridge", Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", v, "°C")}})
		if l.Hour() == 8 && l.Minute() == 0 {
			comment := ""
			if l.Day() == 2 {
				comment = "Thermometer abgelesen"
			}
			if _, err := rec.ConfirmCheck("impfstoff", "AB", comment, at); err != nil {
				t.Fatal(err)
			}
		}
		if l.Day() == 3 && l.Hour() == 19 && l.Minute() == 30 {
			if _, err := rec.AddAck("impfstoff", coldchain.Ack{At: at, User: "MW", Comment: "Tür war offen, Ware geprüft",
				Alarm: "impfstoff/threshold_high/temperature", Kind: "threshold_high", Metric: "temperature"}); err != nil {
				t.Fatal(err)
			}
		}
		rec.Tick(at)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := Collect(dir, Options{Month: "2026-11", Practice: "praxis / gw", Location: loc, Now: to.Add(time.Minute),
		Fridges: []FridgeRef{{ID: "impfstoff", Name: "Impfstoff-Kühlschrank"}}})
	if err != nil {
		t.Fatal(err)
	}
	f := r.Fridges[0]
	if len(f.Checks) != 3 {
		t.Errorf("checks: got %d, want 3 (one a day): %+v", len(f.Checks), f.Checks)
	}
	if len(f.Excursions) != 1 || f.Excursions[0].Ack == nil || f.Excursions[0].Ack.By != "MW" {
		t.Fatalf("the warm hour's acknowledgement is not tied to it: %+v", f.Excursions)
	}
	var pdf bytes.Buffer
	if err := Render(&pdf, r); err != nil {
		t.Fatal(err)
	}
	text := squash(pdfText(t, pdf.Bytes()))
	for _, want := range []string{"MW", "Tür war offen, Ware geprüft", "AB", "Thermometer abgelesen"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q", want)
		}
	}
	if strings.Contains(text, "nicht quittiert") {
		t.Error("the acknowledged excursion reads as not acknowledged")
	}
}
