package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzRender renders what staff type (names, comments) and what a record
// may hold (any fridge name, break text): whatever the bytes, the report
// is a PDF, never an error or a panic.
func FuzzRender(f *testing.F) {
	f.Add("Impfstoff-Kühlschrank", "Tür war offen, Ware geprüft", "Dr. Müller", 11.2)
	f.Add("", "", "", -0.0)
	f.Add("\x00\xff\xfe", "😀 ≤ 2 °C\n\n\r\t", strings.Repeat("ß", 300), 1e300)
	f.Fuzz(func(t *testing.T, name, comment, by string, peak float64) {
		at := time.Date(2026, 11, 5, 19, 0, 0, 0, time.UTC)
		end := at.Add(time.Hour)
		v := peak
		r := Report{Practice: name, Month: at, Generated: at, Fridges: []Fridge{{
			ID: "f", Name: name, Bands: []Band{{Low: 2, High: 8}},
			Days:         []Day{{Date: "2026-11-05", Min: &v, Max: &v, Mean: &v, MKT: &v, CoveredMinutes: 1440, Hash: comment}},
			Excursions:   []Excursion{{Start: at, End: &end, Above: true, Peak: peak, Minutes: 60, Ack: &Ack{By: by, At: at, Comment: comment}}},
			Checks:       []Check{{At: at, By: by, Comment: comment}},
			Verification: Verification{Verdict: comment, Breaks: []string{name, comment}, HeadDate: name, HeadHash: by},
		}}}
		var buf bytes.Buffer
		if err := Render(&buf, r); err != nil {
			t.Fatalf("render: %v", err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) || !bytes.Contains(buf.Bytes(), []byte("%%EOF")) {
			t.Fatalf("not a PDF: %.40q", buf.Bytes())
		}
	})
}

// FuzzParseMonth: a month from a web form or the command line is either
// refused or names exactly the month it says.
func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2026-11", "2026-13", "0000-01", "9999-12", "2026-1", " 2026-11", "2026-11\n", "２０２６-11"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMonth(s, time.UTC)
		if err != nil {
			return
		}
		if got := m.Format("2006-01"); got != s || m.Day() != 1 || m.Hour() != 0 {
			t.Fatalf("ParseMonth(%q) = %v", s, m)
		}
	})
}
