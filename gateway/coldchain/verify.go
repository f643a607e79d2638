package coldchain

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Break is a place where a device's record chain does not hold.
type Break struct {
	File string
	Line int
	Date string
	// Reason says what is wrong, in English (logs, events); Grund says
	// it in German (the verdict for the practice and the inspector).
	Reason string
	Grund  string
}

// grund holds the German wording of every break reason, by its English
// format.
var grund = map[string]string{
	"not a record: %s":     "kein gültiger Eintrag: %s",
	"date %q is not a day": "Datum %q ist kein Tag",
	"record of device %q":  "Eintrag des Geräts %q",
	"day is not in the chain head (added after it was written)":                              "Tag fehlt in der Kettenspitze (nachträglich hinzugefügt)",
	"record differs from the chain head's hash %.12s… (changed after it was written)":        "Eintrag weicht vom Hash %.12s… der Kettenspitze ab (nachträglich geändert)",
	"first record refers to a predecessor %.12s… (earlier records removed?)":                 "erster Eintrag verweist auf einen Vorgänger %.12s… (frühere Einträge entfernt?)",
	"prev %.12s… is not the hash %.12s… of the record before (changed, removed or inserted)": "Verweis %.12s… ist nicht der Hash %.12s… des vorigen Eintrags (geändert, entfernt oder eingefügt)",
	"date does not follow %s (days reordered or repeated)":                                   "Datum folgt nicht auf %s (Tage vertauscht oder doppelt)",
	"days %s to %s missing":                                          "Tage %s bis %s fehlen",
	"record in the wrong year's file":                                "Eintrag in der Datei des falschen Jahres",
	"chain head file missing: the days cannot be checked against it": "Kettenspitze fehlt: die Tage können nicht gegen sie geprüft werden",
	"not a chain head line: %.40q":                                   "keine Zeile der Kettenspitze: %.40q",
	"chain head dates out of order":                                  "Daten der Kettenspitze nicht in Reihenfolge",
	"day in the chain head has no record (removed)":                  "Tag der Kettenspitze ohne Eintrag (entfernt)",
	"record unreadable: %s":                                          "Protokoll nicht lesbar: %s",
}

// newBreak builds a Break with both wordings.
func newBreak(file string, line int, date, format string, args ...any) Break {
	de, ok := grund[format]
	if !ok {
		de = format
	}
	return Break{File: file, Line: line, Date: date, Reason: fmt.Sprintf(format, args...), Grund: fmt.Sprintf(de, args...)}
}

func (b Break) String() string {
	return fmt.Sprintf("%s:%d (%s): %s", b.File, b.Line, b.Date, b.Reason)
}

// German says where and what in German, for the practice and the
// inspector.
func (b Break) German() string {
	where := b.File
	if b.Line > 0 {
		where = fmt.Sprintf("%s Zeile %d", b.File, b.Line)
	}
	if b.Date != "" {
		where += ", Tag " + b.Date
	}
	why := b.Grund
	if why == "" {
		why = b.Reason
	}
	return where + ": " + why
}

// Verify checks a device's whole record: every line parses, belongs to the
// device, dates follow day by day without a gap, each Prev is the hash of
// the line before (the first is empty), and every record matches its line
// in the chain head (head.go) and the other way round — so a changed,
// removed, inserted or reordered day, a removed first or newest day and a
// missing day are all found, whatever the day files say about themselves.
// It returns every break found, day files first in file order, then the
// chain head's; an error only when the files cannot be read.
func Verify(dir, device string) ([]Break, error) {
	breaks, _, err := verify(dir, device)
	return breaks, err
}

// verify is Verify that also counts the days recorded.
func verify(dir, device string) ([]Break, int, error) {
	lines, err := readLines(dir, device)
	if err != nil {
		return nil, 0, err
	}
	head, err := readHead(dir, device)
	if err != nil {
		return nil, 0, err
	}
	var breaks []Break
	type seen struct {
		l    line
		hash string
	}
	byDate := map[string]seen{}
	prevHash, prevDate := "", ""
	for i, l := range lines {
		h := Hash(l.raw)
		var r Record
		if err := json.Unmarshal(l.raw, &r); err != nil {
			breaks = append(breaks, newBreak(l.file, l.no, "", "not a record: %s", err.Error()))
			prevHash = h
			continue
		}
		add := func(format string, args ...any) {
			breaks = append(breaks, newBreak(l.file, l.no, r.Date, format, args...))
		}
		if _, err := time.Parse(time.DateOnly, r.Date); err != nil {
			add("date %q is not a day", r.Date)
		}
		if r.Device != device {
			add("record of device %q", r.Device)
		}
		if e, ok := head.find(r.Date); head.exists && !ok {
			add("day is not in the chain head (added after it was written)")
		} else if ok && e.hash != h {
			add("record differs from the chain head's hash %.12s… (changed after it was written)", e.hash)
		}
		if r.Prev != prevHash {
			if i == 0 {
				add("first record refers to a predecessor %.12s… (earlier records removed?)", r.Prev)
			} else {
				add("prev %.12s… is not the hash %.12s… of the record before (changed, removed or inserted)", r.Prev, prevHash)
			}
		}
		if prevDate != "" {
			if r.Date <= prevDate {
				add("date does not follow %s (days reordered or repeated)", prevDate)
			} else if want := nextDay(prevDate); r.Date != want {
				add("days %s to %s missing", want, prevDay(r.Date))
			}
		}
		if !strings.HasSuffix(l.file, r.Date[:min(4, len(r.Date))]+".jsonl") {
			add("record in the wrong year's file")
		}
		if _, dup := byDate[r.Date]; !dup {
			byDate[r.Date] = seen{l: l, hash: h}
		}
		prevHash, prevDate = h, r.Date
	}
	hf := headFile(dir, device)
	switch {
	case !head.exists && len(lines) > 0:
		breaks = append(breaks, newBreak(hf, 0, "", "chain head file missing: the days cannot be checked against it"))
	case head.exists:
		for _, n := range head.notes {
			breaks = append(breaks, Break{File: hf, Line: n.line, Reason: n.text, Grund: "Vermerk der Kettenspitze: " + n.text})
		}
		for _, n := range head.bad {
			breaks = append(breaks, newBreak(hf, n.line, "", "not a chain head line: %.40q", n.text))
		}
		last := ""
		for _, e := range head.entries {
			if e.date <= last {
				breaks = append(breaks, newBreak(hf, e.line, e.date, "chain head dates out of order"))
			}
			last = e.date
			if _, ok := byDate[e.date]; !ok {
				breaks = append(breaks, newBreak(hf, e.line, e.date, "day in the chain head has no record (removed)"))
			}
		}
	}
	sort.SliceStable(breaks, func(i, j int) bool {
		a, b := breaks[i], breaks[j]
		if (a.File == hf) != (b.File == hf) {
			return b.File == hf
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return breaks, len(byDate), nil
}

func (h headLog) find(date string) (headEntry, bool) {
	i := sort.Search(len(h.entries), func(i int) bool { return h.entries[i].date >= date })
	if i < len(h.entries) && h.entries[i].date == date {
		return h.entries[i], true
	}
	// Out of order entries (a break of their own): fall back to a scan.
	for _, e := range h.entries {
		if e.date == date {
			return e, true
		}
	}
	return headEntry{}, false
}

// nextDay and prevDay step calendar dates; the time zone does not matter.
func nextDay(date string) string { return addDays(date, 1) }
func prevDay(date string) string { return addDays(date, -1) }

func addDays(date string, n int) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return t.AddDate(0, 0, n).Format(time.DateOnly)
}

// Status is the result of checking one fridge's record, as the inspector
// sees it.
type Status struct {
	Device string
	// Days is the number of days recorded.
	Days   int
	Breaks []Break
}

// Intact says the record held everywhere.
func (s Status) Intact() bool { return len(s.Breaks) == 0 }

// German is the one-line verdict for the practice and the inspector:
// "Protokoll geprüft: intakt (N Tage)" or where the record first breaks.
func (s Status) German() string {
	if s.Intact() {
		return fmt.Sprintf("Protokoll geprüft: intakt (%d %s)", s.Days, plural(s.Days, "Tag", "Tage"))
	}
	more := ""
	if len(s.Breaks) > 1 {
		more = fmt.Sprintf(" (und %d weitere Stelle(n))", len(s.Breaks)-1)
	}
	return fmt.Sprintf("Protokoll geprüft: GEBROCHEN bei %s%s", s.Breaks[0].German(), more)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Check verifies a device's record and counts its days.
func Check(dir, device string) (Status, error) {
	breaks, days, err := verify(dir, device)
	if err != nil {
		return Status{}, err
	}
	return Status{Device: device, Days: days, Breaks: breaks}, nil
}

// Devices lists the fridges that have a record (day files or a chain head)
// in dir, sorted.
func Devices(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("coldchain: list %s: %w", dir, err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		files, err := yearFiles(dir, e.Name())
		if err != nil {
			return nil, err
		}
		if _, herr := os.Stat(headFile(dir, e.Name())); len(files) > 0 || herr == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// English is the verdict in English (the page's English switch, the
// provider's command reply).
func (s Status) English() string {
	if s.Intact() {
		return fmt.Sprintf("Record verified: intact (%d %s)", s.Days, plural(s.Days, "day", "days"))
	}
	more := ""
	if len(s.Breaks) > 1 {
		more = fmt.Sprintf(" (and %d more place(s))", len(s.Breaks)-1)
	}
	return fmt.Sprintf("Record verified: BROKEN at %s%s", s.Breaks[0].String(), more)
}
