package update

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	at := func(day time.Weekday, hm string) time.Time {
		// 2026-11-16 is a Monday.
		base := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (int(day)+6)%7)
		m, _ := parseClock(hm)
		return base.Add(time.Duration(m) * time.Minute)
	}
	cases := []struct {
		spec string
		day  time.Weekday
		hm   string
		in   bool
	}{
		{DefaultWindow, time.Monday, "21:00", true},
		{DefaultWindow, time.Tuesday, "05:59", true},
		{DefaultWindow, time.Tuesday, "06:00", false},
		{DefaultWindow, time.Wednesday, "10:00", false},
		{"Sat,Sun 00:00-24:00", time.Saturday, "10:00", true},
		{"Sat,Sun 00:00-24:00", time.Friday, "23:59", false},
		{"Mon-Fri 19:30-06:30; Sat 13:00-24:00", time.Saturday, "06:00", true}, // Friday night
		{"Mon-Fri 19:30-06:30; Sat 13:00-24:00", time.Sunday, "06:00", false},
		{"Mon-Fri 19:30-06:30; Sat 13:00-24:00", time.Saturday, "14:00", true},
		{"Fri-Mon 12:00-13:00", time.Sunday, "12:30", true},
		{"Fri-Mon 12:00-13:00", time.Wednesday, "12:30", false},
	}
	for _, c := range cases {
		w, err := ParseWindow(c.spec)
		if err != nil {
			t.Fatalf("%q: %v", c.spec, err)
		}
		if got := w.Contains(at(c.day, c.hm)); got != c.in {
			t.Errorf("%q at %s %s: %v, want %v", c.spec, c.day, c.hm, got, c.in)
		}
	}
	for _, bad := range []string{"", "20:00", "25:00-01:00", "10:00-10:00", "Xyz 10:00-11:00", "Mon 1:00-2:00", "24:00-01:00", "Mon;", "10:60-11:00"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{DefaultWindow, "Sat,Sun 00:00-24:00", "Mon-Fri 19:30-06:30; Sat 13:00-24:00", "Fri-Mon 12:00-13:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		w, err := ParseWindow(spec)
		if err != nil {
			return
		}
		// Every accepted window is open at some minute of the week and
		// Contains never panics.
		open := false
		base := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
		for m := 0; m < 7*24*60 && !open; m += 1 {
			open = w.Contains(base.Add(time.Duration(m) * time.Minute))
		}
		if !open {
			t.Fatalf("%q accepted but never open", spec)
		}
	})
}
