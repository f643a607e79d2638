package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/coldchain"
)

// november records 1 to 20 November 2026 (Berlin) of two fridges, a
// reading every 10 minutes: the vaccine fridge has a warm hour on the 5th,
// a cold spell over midnight from the 10th to the 11th and a silent
// sensor on the 15th from 08:00 to 12:00; the other fridge holds 4 °C.
func november(t testing.TB, dir string) (loc *time.Location, now time.Time) {
	t.Helper()
	loc = berlin(t)
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
	to := time.Date(2026, 11, 20, 10, 0, 0, 0, loc)
	record(t, dir, loc, []string{"impfstoff", "medikamente"}, from, to, 10*time.Minute, func(dev string, at time.Time) (float64, bool) {
		if dev == "medikamente" {
			return 4, true
		}
		l := at.In(loc)
		switch {
		case l.Day() == 5 && l.Hour() == 19:
			return 11.2, true
		case (l.Day() == 10 && l.Hour() == 23 && l.Minute() >= 30) || (l.Day() == 11 && l.Hour() == 0 && l.Minute() <= 30):
			return 0.5, true
		case l.Day() == 15 && l.Hour() >= 8 && l.Hour() < 12:
			return 0, false
		}
		return 5, true
	})
	return loc, to.Add(5 * time.Minute)
}

// copyDir copies the record directory, so each case can damage its own.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o750)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o640)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// editDay rewrites the stored line of date with edit; edit returning ""
// removes the day.
func editDay(t *testing.T, dir, device, date string, edit func(string) string) {
	t.Helper()
	p := filepath.Join(dir, device, date[:4]+".jsonl")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	found := false
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if strings.Contains(l, `"date":"`+date+`"`) {
			found = true
			if l = edit(l); l == "" {
				continue
			}
		}
		out = append(out, l)
	}
	if !found {
		t.Fatalf("no record of %s", date)
	}
	if err := os.WriteFile(p, []byte(strings.Join(out, "")), 0o640); err != nil {
		t.Fatal(err)
	}
}

// lineWith returns the text line holding all of parts, squashed.
func lineWith(text string, parts ...string) (string, bool) {
	for _, l := range strings.Split(text, "\n") {
		l = squash(l)
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l, true
		}
	}
	return "", false
}

var names = []FridgeRef{{ID: "impfstoff", Name: "Impfstoff-Kühlschrank"}, {ID: "medikamente", Name: "Medikamente Labor"}}

func TestMonthlyReportPDF(t *testing.T) {
	base := t.TempDir()
	loc, now := november(t, base)
	hashes, err := coldchain.HashedRecords(base, "impfstoff", "", "")
	if err != nil {
		t.Fatal(err)
	}
	hashOf := map[string]string{}
	for _, h := range hashes {
		hashOf[h.Date] = h.Hash
	}
	_, head, err := coldchain.Head(base, "impfstoff")
	ok := head != ""
	if err != nil || !ok {
		t.Fatalf("chain head: %v %v", ok, err)
	}
	checks := func(dev string, from, to time.Time) ([]Check, error) {
		if dev != "impfstoff" {
			return nil, nil
		}
		return []Check{
			{At: time.Date(2026, 11, 6, 8, 5, 0, 0, loc), By: "Jörg Weiß", Comment: "Anzeige 5,0 °C, Tür dicht"},
			{At: time.Date(2026, 11, 5, 8, 12, 0, 0, loc), By: "AÖ", Comment: strings.Repeat("Sehr lange Bemerkung über die Überprüfung des Geräts. ", 5)},
		}, nil
	}
	ack := func(dev string, e Excursion) *Ack {
		if !e.Above {
			return nil
		}
		return &Ack{By: "Dr. Müller", At: e.Start.Add(20 * time.Minute), Comment: "Tür war offen, Ware geprüft"}
	}

	tests := []struct {
		name   string
		month  string
		damage func(t *testing.T, dir string)
		refs   []FridgeRef
		want   []string
		// rows are table lines that must hold all their parts.
		rows [][]string
		// absent must not appear.
		absent []string
	}{
		{
			name: "month with excursions, acknowledgement and daily checks", month: "2026-11", refs: names,
			want: []string{"Kühlketten-Monatsbericht November 2026", "Praxis Dr. Müller / gw-01",
				"Kühlschrank: Impfstoff-Kühlschrank (impfstoff)", "Kühlschrank: Medikamente Labor (medikamente)",
				"Sollbereich: 2,0 °C bis 8,0 °C", "Zeitzone: Europe/Berlin",
				"Abweichungen vom Sollbereich", "Tageskontrollen", "Prüfung des Protokolls",
				"Protokoll geprüft: intakt (19 Tage)", head, "Dr. Müller am 05.11.2026 19:20: Tür war offen, Ware geprüft",
				"nicht quittiert", "Anzeige 5,0 °C, Tür dicht", "Überprüfung des Geräts",
				// Computed apart from the code: 27 745 covered minutes, 60 at
				// 11.2 °C, 70 at 0.5 °C, the rest at 5 °C, ΔH/R 10 000 K.
				"Monat: Minimum 0,5 °C, Maximum 11,2 °C, Mittelwert 5,00 °C, MKT 5,01 °C", "2 Abweichungen", "Keine Abweichungen in diesem Monat.",
				"Erstellt am 20.11.2026 10:05 (Zeitzone Europe/Berlin)", "mittlere kinetische Temperatur"},
			rows: [][]string{
				{"Do 05.11.2026", "5,0 11,2", "60", " 1 ", "08:12 AÖ", hashOf["2026-11-05"][:12]},
				{"Fr 06.11.2026", "5,0 5,0 5,00 5,00 0 0 0", "08:05 Jörg Weiß", hashOf["2026-11-06"][:12]},
				{"So 15.11.2026", "5,0 5,0 5,00 5,00 0 220 0"},
				{"Fr 20.11.2026", "unvollständig"},
				{"05.11.2026 19:00", "05.11.2026 20:00", "1 h 00 min", "zu warm", "11,2 °C"},
				{"10.11.2026 23:30", "11.11.2026 00:40", "1 h 10 min", "zu kalt", "0,5 °C", "nicht quittiert"},
				{"Seite 1 von"},
			},
			absent: []string{"Sa 21.11.2026", "kein Eintrag", "GEBROCHEN"},
		},
		{
			name: "month before the record began", month: "2026-10", refs: names,
			want: []string{"Kühlketten-Monatsbericht Oktober 2026", "Für diesen Monat gibt es keine Tage im Protokoll.",
				"Keine Abweichungen in diesem Monat.", "Keine Tageskontrollen im Protokoll für diesen Monat.",
				"Protokoll geprüft: intakt (19 Tage)", head, "Sollbereich: unbekannt"},
			absent: []string{"unvollständig", "GEBROCHEN", "Monat: Minimum"},
		},
		{
			name: "edited day breaks the chain", month: "2026-11", refs: names[:1],
			damage: func(t *testing.T, dir string) {
				editDay(t, dir, "impfstoff", "2026-11-05", func(l string) string { return strings.Replace(l, `"max_c":11.2`, `"max_c":7.9`, 1) })
			},
			want: []string{"Protokoll geprüft: GEBROCHEN bei", "Tag 2026-11-05", "nachträglich geändert", head},
			rows: [][]string{{"Do 05.11.2026", "5,0 7,9"}},
		},
		{
			name: "removed day breaks the chain", month: "2026-11", refs: names[:1],
			damage: func(t *testing.T, dir string) {
				editDay(t, dir, "impfstoff", "2026-11-12", func(string) string { return "" })
			},
			want: []string{"Protokoll geprüft: GEBROCHEN bei", "entfernt", head},
			rows: [][]string{{"Do 12.11.2026", "kein Eintrag"}, {"Fr 13.11.2026", hashOf["2026-11-13"][:12]}},
		},
		{
			name: "a fridge without any record yet", month: "2026-11", refs: []FridgeRef{{ID: "neu", Name: "Neuer Kühlschrank"}},
			want: []string{"Kühlschrank: Neuer Kühlschrank (neu)", "Für diesen Monat gibt es keine Tage im Protokoll.",
				"Protokoll geprüft: intakt (0 Tage)", "Kettenspitze: noch kein Tag geschrieben."},
		},
		{
			name: "no fridges", month: "2026-11", refs: []FridgeRef{},
			want: []string{"Keine Kühlschränke mit Kühlketten-Protokoll.", "Seite 1 von 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := base
			if tt.damage != nil {
				dir = copyDir(t, base)
				tt.damage(t, dir)
			}
			r, err := Collect(dir, Options{Month: tt.month, Practice: "Praxis Dr. Müller / gw-01", Fridges: tt.refs,
				Location: loc, Now: now, Checks: checks, Ack: ack})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Render(&buf, r); err != nil {
				t.Fatal(err)
			}
			info := pdfInfo(t, buf.Bytes())
			if !strings.Contains(info, "(A4)") {
				t.Errorf("not A4:\n%s", info)
			}
			pages := regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`).FindStringSubmatch(info)
			if pages == nil {
				t.Fatalf("pdfinfo names no page count:\n%s", info)
			}
			text := pdfText(t, buf.Bytes())
			flat := squash(text)
			for _, w := range tt.want {
				if !strings.Contains(flat, squash(w)) {
					t.Errorf("text lacks %q", w)
				}
			}
			for _, row := range tt.rows {
				if _, ok := lineWith(text, row...); !ok {
					t.Errorf("no line holds %q", row)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(flat, a) {
					t.Errorf("text holds %q", a)
				}
			}
			if last := fmt.Sprintf("Seite %s von %s", pages[1], pages[1]); !strings.Contains(flat, last) {
				t.Errorf("no %q on the last page", last)
			}
			if t.Failed() {
				t.Logf("extracted text:\n%s", text)
			}
		})
	}
}

// Collect refuses what it cannot report on: a malformed month and one
// that has not begun.
func TestCollectRefuses(t *testing.T) {
	loc := berlin(t)
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, loc)
	for _, tt := range []struct{ month, want string }{
		{"2026-13", "want YYYY-MM"}, {"2026-1", "want YYYY-MM"}, {"November", "want YYYY-MM"}, {"", "want YYYY-MM"},
		{"2026-12", "has not begun"}, {"2027-01", "has not begun"},
	} {
		_, err := Collect(t.TempDir(), Options{Month: tt.month, Location: loc, Now: now, Fridges: names})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("month %q: error %v, want %q", tt.month, err, tt.want)
		}
	}
}

// Collect's figures, without a PDF: the days' status, the time readings
// covered (which weights the month's MKT), an excursion over midnight
// joined, the daily checks in order.
func TestCollectDays(t *testing.T) {
	dir := t.TempDir()
	loc, now := november(t, dir)
	editDay(t, dir, "impfstoff", "2026-11-12", func(string) string { return "" })
	later := time.Date(2026, 11, 6, 8, 0, 0, 0, loc)
	r, err := Collect(dir, Options{Month: "2026-11", Fridges: names[:1], Location: loc, Now: now,
		Checks: func(string, time.Time, time.Time) ([]Check, error) {
			return []Check{{At: later, By: "B"}, {At: later.Add(-24 * time.Hour), By: "A"}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	f := r.Fridges[0]
	if len(f.Days) != 20 || f.Days[0].Date != "2026-11-01" || f.Days[19].Date != "2026-11-20" {
		t.Fatalf("days %+v", f.Days)
	}
	for _, d := range f.Days {
		want := Complete
		switch d.Date {
		case "2026-11-12":
			want = Missing
		case "2026-11-20":
			want = Incomplete
		}
		if d.Status != want || (want == Complete) != (len(d.Hash) == 64) {
			t.Errorf("%s: status %d hash %q, want status %d", d.Date, d.Status, d.Hash, want)
		}
	}
	if d := f.Days[14]; d.CoveredMinutes != 1440-220 || d.MinutesNoData != 220 {
		t.Errorf("15 November: covered %v, no data %v", d.CoveredMinutes, d.MinutesNoData)
	}
	if d := f.Days[19]; d.CoveredMinutes != 10*60+5 || d.MinutesNoData != 0 {
		t.Errorf("20 November up to 10:05: covered %v, no data %v", d.CoveredMinutes, d.MinutesNoData)
	}
	if len(f.Excursions) != 2 {
		t.Fatalf("excursions %+v", f.Excursions)
	}
	cold := f.Excursions[1]
	if cold.Above || cold.Minutes != 70 || cold.Peak != 0.5 || cold.End == nil ||
		!cold.Start.Equal(time.Date(2026, 11, 10, 23, 30, 0, 0, loc)) || !cold.End.Equal(time.Date(2026, 11, 11, 0, 40, 0, 0, loc)) {
		t.Errorf("the cold spell over midnight is not one excursion: %+v", cold)
	}
	if len(f.Checks) != 2 || f.Checks[0].By != "A" {
		t.Errorf("checks not in order: %+v", f.Checks)
	}
	if f.Verification.Intact || !strings.Contains(f.Verification.Verdict, "GEBROCHEN") || len(f.Verification.HeadHash) != 64 {
		t.Errorf("verification %+v", f.Verification)
	}
	// Without a day in progress (the recorder has not run today) today
	// gets no row: it cannot have an entry before midnight.
	if err := os.Remove(filepath.Join(dir, "impfstoff", "day.json")); err != nil {
		t.Fatal(err)
	}
	r, err = Collect(dir, Options{Month: "2026-11", Fridges: names[:1], Location: loc, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if days := r.Fridges[0].Days; len(days) != 19 || days[18].Date != "2026-11-19" || days[18].Status != Complete {
		t.Errorf("without a day in progress: %+v", days)
	}
}

func TestNumbers(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{number(5.25, 1), "5,2"}, {number(-0.04, 1), "0,0"}, {number(-1.5, 1), "-1,5"}, {number(1440, 0), "1440"},
		{celsius(2, 1), "2,0 °C"}, {duration(38.4), "38 min"}, {duration(70), "1 h 10 min"}, {duration(1500), "25 h 00 min"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// A comment longer than a page is cut with "…" after 30 lines, so its row
// still fits on one page instead of running off its bottom.
func TestLongCommentFitsPage(t *testing.T) {
	at := time.Date(2026, 11, 5, 8, 0, 0, 0, time.UTC)
	long := "Anfang " + strings.Repeat("Temperatur geprüft und Ware kontrolliert. ", 400) + "Ende"
	r := Report{Practice: "Praxis", Month: at, Generated: at, Fridges: []Fridge{{ID: "f",
		Checks: []Check{{At: at, By: "AB", Comment: long}, {At: at.Add(time.Hour), By: "CD", Comment: long}}}}}
	var buf bytes.Buffer
	if err := Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	text := squash(pdfText(t, buf.Bytes()))
	if !strings.Contains(text, "AB Anfang Temperatur") || !strings.Contains(text, "CD Anfang Temperatur") || strings.Contains(text, "Ende") ||
		strings.Count(text, "…") < 2 {
		t.Fatalf("long comments not cut:\n%s", text)
	}
	if !regexp.MustCompile(`(?m)^Pages:\s+2$`).MatchString(pdfInfo(t, buf.Bytes())) {
		t.Errorf("two long comments do not take two pages:\n%s", pdfInfo(t, buf.Bytes()))
	}
}

// The day the clocks go back has 25 hours: the report weights it so, and
// finds no minute without data in it.
func TestCollectClockChange(t *testing.T) {
	dir := t.TempDir()
	loc := berlin(t)
	from, to := time.Date(2026, 10, 24, 0, 0, 0, 0, loc), time.Date(2026, 10, 26, 12, 0, 0, 0, loc)
	record(t, dir, loc, []string{"f"}, from, to, 10*time.Minute, func(string, time.Time) (float64, bool) { return 5, true })
	r, err := Collect(dir, Options{Month: "2026-10", Fridges: []FridgeRef{{ID: "f"}}, Location: loc, Now: to})
	if err != nil {
		t.Fatal(err)
	}
	days := r.Fridges[0].Days
	if len(days) != 3 || days[1].Date != "2026-10-25" || days[1].CoveredMinutes != 25*60 || days[1].MinutesNoData != 0 ||
		days[0].CoveredMinutes != 24*60 || days[2].Status != Incomplete || days[2].CoveredMinutes != 12*60 {
		t.Fatalf("days around the clock change: %+v", days)
	}
}
