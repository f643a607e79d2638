package coldchain

import (
	"strings"
	"testing"
	"time"
)

// The month report holds what the record holds: per day the figures, the
// excursion over midnight as one with its acknowledgement, the daily
// checks, the day in progress, the days without a record, and the
// verification with the chain head's hash.
func TestMonth(t *testing.T) {
	dir := t.TempDir()
	r := auditRec(t, dir, ptr(-0.2), "2027-05-01")
	start := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	exFrom, exTo := time.Date(2026, 11, 28, 23, 50, 0, 0, time.UTC), time.Date(2026, 11, 29, 0, 20, 0, 0, time.UTC)
	r.Tick(start)
	n := int((3*24 + 12) * time.Hour / time.Minute)
	checkAt := int((24 + 8) * time.Hour / time.Minute)
	value := func(off int) func(i int) float64 {
		return func(i int) float64 {
			at := start.Add(time.Duration(off+i) * time.Minute)
			if !at.Before(exFrom) && at.Before(exTo) {
				return 10 + float64((off+i)%3)
			}
			return 5
		}
	}
	feed(r, start, checkAt, value(0))
	if _, err := r.ConfirmCheck("kuehlschrank", "AK", "5 °C abgelesen", start.Add(time.Duration(checkAt)*time.Minute)); err != nil {
		t.Fatal(err)
	}
	feed(r, start.Add(time.Duration(checkAt)*time.Minute), n-checkAt, value(checkAt))
	// Acknowledged after the temperature was back; a stale alarm's
	// acknowledgement is no answer to the excursion.
	for _, a := range []Ack{
		{At: exTo.Add(10 * time.Minute), User: "MW", Comment: "Tür war offen, Ware geprüft", Alarm: "kuehlschrank/temperature/above", Kind: "threshold_high", Metric: "temperature"},
		{At: exTo.Add(11 * time.Minute), User: "MW", Comment: "Fühler gesteckt", Alarm: "kuehlschrank/temperature.stale", Kind: "stale", Metric: "temperature"},
	} {
		if _, err := r.AddAck("kuehlschrank", a); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	now := start.Add(time.Duration(n) * time.Minute)
	m, err := Month(dir, "kuehlschrank", 2026, time.November, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Days) != 30 || m.TZ != "UTC" || m.Low != 2 || m.High != 8 || m.OffsetC == nil || *m.OffsetC != -0.2 || m.CalibrationDue != "2027-05-01" {
		t.Fatalf("month %+v", m)
	}
	for i, d := range m.Days {
		want := DayMissing
		switch {
		case i >= 26 && i <= 28:
			want = DayRecorded
		case i == 29:
			want = DayInProgress
		}
		if d.Status != want || d.Date != time.Date(2026, 11, i+1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly) {
			t.Fatalf("day %d: %+v, want %s", i+1, d, want)
		}
		if want == DayRecorded && (len(d.Hash) != 64 || d.Min == nil || *d.Min != 5 || d.MinutesNoData != 0) {
			t.Fatalf("day %s: %+v", d.Date, d)
		}
	}
	if d := m.Days[29]; d.Hash != "" || d.Samples != 12*60 || d.Max == nil || *d.Max != 5 {
		t.Fatalf("day in progress %+v", d)
	}
	if len(m.Excursions) != 1 {
		t.Fatalf("excursions %+v", m.Excursions)
	}
	ex := m.Excursions[0]
	if !ex.Start.Equal(exFrom) || ex.End == nil || !ex.End.Equal(exTo) || ex.Minutes != 30 || ex.Peak != 12 || ex.Direction != "above" {
		t.Fatalf("excursion %+v", ex)
	}
	if len(ex.Acks) != 1 || ex.Acks[0].Comment != "Tür war offen, Ware geprüft" || len(m.Acks) != 2 {
		t.Fatalf("acks %+v / %+v", ex.Acks, m.Acks)
	}
	if len(m.Checks) != 1 || m.Checks[0].User != "AK" || m.Checks[0].TempC == nil || *m.Checks[0].TempC != 5 {
		t.Fatalf("checks %+v", m.Checks)
	}
	head, _ := readHead(dir, "kuehlschrank")
	last, _ := head.last()
	if !m.Verification.Intact() || m.Verification.Days != 3 || m.HeadDate != "2026-11-29" || m.HeadHash != last.hash || m.HeadHash != m.Days[28].Hash {
		t.Fatalf("verification %+v head %s %s", m.Verification, m.HeadDate, m.HeadHash)
	}

	// Another month: no days, still the verification.
	m, err = Month(dir, "kuehlschrank", 2026, time.October, now)
	if err != nil || len(m.Days) != 0 || !m.Verification.Intact() || m.HeadHash == "" {
		t.Fatalf("October: %v %+v", err, m)
	}
	if _, err := Month(dir, "kuehlschrank", 2026, 13, now); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("month 13: %v", err)
	}
}
