package coldchain

import (
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/plausible"
)

// Sensor error codes never reach the record: not its figures, not its
// excursions; each run of them is one invalid-reading event, and the time
// they cover beyond the hold time counts as no data.
func TestImplausibleReadingsRefused(t *testing.T) {
	dir := t.TempDir()
	r := newRec(t, dir)
	var evs []string
	r.Tick(day0)
	for i := 0; i < 24*60; i++ {
		at := day0.Add(time.Duration(i) * time.Minute)
		for _, e := range r.Tick(at) {
			evs = append(evs, e.Type)
		}
		v := 5.0
		switch {
		case i == 100:
			v = 85 // DS18B20 just powered
		case i == 200:
			v = -999
		case i >= 600 && i < 630:
			v = -127 // 1-Wire read errors for half an hour
		case i == 700:
			v = 61 // beyond the fridge's plausible range
		}
		r.Observe(temp(at, v))
	}
	for _, e := range r.Tick(day0.Add(24*time.Hour + time.Second)) {
		evs = append(evs, e.Type)
	}
	rs := records(t, dir)
	if len(rs) != 1 {
		t.Fatalf("%d records", len(rs))
	}
	d := rs[0]
	if d.Samples != 1440-33 || *d.Min != 5 || *d.Max != 5 || *d.Mean != 5 || *d.MKT != 5 || len(d.Excursions) != 0 || d.MinutesOut != 0 {
		t.Fatalf("record %+v", d)
	}
	// The reading of 09:59 holds three minutes, to 10:02; 10:02–10:30
	// has no data.
	if d.MinutesNoData != 28 {
		t.Fatalf("minutes without data %g, want 28", d.MinutesNoData)
	}
	invalid := 0
	for _, e := range evs {
		if e == plausible.InvalidEvent {
			invalid++
		}
	}
	if invalid != 4 {
		t.Fatalf("%d invalid-reading events, want 4 (one per run): %v", invalid, evs)
	}
}

// A device's own plausible range replaces the fridge default: an
// ultra-low freezer at −80 °C is recorded.
func TestOwnPlausibleRange(t *testing.T) {
	dir := t.TempDir()
	rg := plausible.Range{Min: -100, Max: 40}
	r, err := New(Options{Dir: dir, Location: time.UTC, Fridges: []Fridge{{ID: "kuehlschrank", Low: -90, High: -60, Interval: time.Minute, Plausible: &rg}}})
	if err != nil {
		t.Fatal(err)
	}
	r.Tick(day0)
	feed(r, day0, 60, func(i int) float64 {
		if i == 30 {
			return -127
		}
		return -80
	})
	r.Tick(day0.Add(24*time.Hour + time.Second))
	rs := records(t, dir)
	if len(rs) != 1 || rs[0].Samples != 59 || *rs[0].Min != -80 {
		t.Fatalf("records %+v", rs)
	}
}
