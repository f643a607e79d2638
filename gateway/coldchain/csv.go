package coldchain

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVFormat chooses the CSV dialect.
type CSVFormat int

const (
	// German is what German Excel and LibreOffice open without an import
	// dialog: a UTF-8 byte order mark, semicolons, decimal commas, dates
	// as DD.MM.YYYY, German column names, CRLF line ends. The default.
	German CSVFormat = iota
	// ISO is for programs: no BOM, commas, decimal dots, ISO 8601 dates,
	// English column names.
	ISO
)

// column is one CSV column in both dialects.
type column struct{ de, en string }

var csvColumns = []column{
	{"Datum", "date"}, {"Gerät", "device"}, {"Zeitzone", "tz"},
	{"Sollbereich von (°C)", "low_c"}, {"Sollbereich bis (°C)", "high_c"},
	{"Messwerte", "samples"}, {"Minimum (°C)", "min_c"}, {"Maximum (°C)", "max_c"},
	{"Mittelwert (°C)", "mean_c"}, {"MKT (°C)", "mkt_c"},
	{"Minuten außerhalb", "minutes_out_of_range"}, {"Minuten ohne Daten", "minutes_no_data"},
	{"Abweichungen", "excursions"}, {"Details der Abweichungen", "excursion_details"},
	{"Status", "status"}, {"SHA-256 des Eintrags", "record_sha256"},
}

// CSVHeader returns the column names of a dialect.
func CSVHeader(f CSVFormat) []string {
	out := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		out[i] = c.en
		if f == German {
			out[i] = c.de
		}
	}
	return out
}

// CSVOptions select the days and the dialect of WriteCSVWith.
type CSVOptions struct {
	// From and To bound the days (YYYY-MM-DD, inclusive; empty:
	// unbounded).
	From, To string
	Format   CSVFormat
	// Now is the clock for the day in progress; default time.Now.
	Now time.Time
}

// WriteCSV writes a device's daily records with from ≤ date ≤ to
// (YYYY-MM-DD, empty: unbounded) as German CSV (see German), one row per
// day, for printing and inspections; the web page offers it as a
// download.
func WriteCSV(w io.Writer, dir, device, from, to string) error {
	return WriteCSVWith(w, dir, device, CSVOptions{From: from, To: to})
}

// WriteCSVWith writes the records like WriteCSV in the chosen dialect.
// Days without readings have empty temperature cells. The day in progress
// (from the recorder's day state, as last saved) is the last row, marked
// "unvollständig" (incomplete) and without a hash: its figures still
// change.
func WriteCSVWith(w io.Writer, dir, device string, o CSVOptions) error {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	lines, err := readLines(dir, device)
	if err != nil {
		return err
	}
	in := func(date string) bool { return (o.From == "" || date >= o.From) && (o.To == "" || date <= o.To) }
	if o.Format == German {
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return fmt.Errorf("coldchain: write CSV: %w", err)
		}
	}
	cw := csv.NewWriter(w)
	if o.Format == German {
		cw.Comma, cw.UseCRLF = ';', true
	}
	if err := cw.Write(CSVHeader(o.Format)); err != nil {
		return fmt.Errorf("coldchain: write CSV: %w", err)
	}
	last := ""
	for _, l := range lines {
		var r Record
		if err := json.Unmarshal(l.raw, &r); err != nil {
			return fmt.Errorf("coldchain: %s line %d: %w", l.file, l.no, err)
		}
		if r.Date > last {
			last = r.Date
		}
		if !in(r.Date) {
			continue
		}
		if err := cw.Write(csvRow(r, o.Format, true, Hash(l.raw))); err != nil {
			return fmt.Errorf("coldchain: write CSV: %w", err)
		}
	}
	if r, ok := inProgress(dir, device, o.Now); ok && r.Date > last && in(r.Date) {
		if err := cw.Write(csvRow(r, o.Format, false, "")); err != nil {
			return fmt.Errorf("coldchain: write CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("coldchain: write CSV: %w", err)
	}
	return nil
}

// inProgress renders the saved day in progress up to now.
func inProgress(dir, device string, now time.Time) (Record, bool) {
	st, ok, err := loadState(dir, device)
	if err != nil || !ok || st.Date == "" || st.TZ == "" {
		return Record{}, false
	}
	loc, err := time.LoadLocation(st.TZ)
	if err != nil {
		return Record{}, false
	}
	start, err := time.ParseInLocation(time.DateOnly, st.Date, loc)
	if err != nil {
		return Record{}, false
	}
	end := start.AddDate(0, 0, 1)
	upTo := minTime(now, end)
	if upTo.Before(start) {
		upTo = start
	}
	b := band{low: st.Low, high: st.High, hold: st.Hold}
	st.attribute(upTo, start, end, b)
	return st.record(st.TZ, b, upTo.Sub(start)), true
}

func csvRow(r Record, f CSVFormat, complete bool, hash string) []string {
	loc, err := time.LoadLocation(r.TZ)
	if err != nil {
		loc = time.UTC
	}
	num := func(v float64) string {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if f == German {
			s = strings.Replace(s, ".", ",", 1)
		}
		return s
	}
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return num(*v)
	}
	date, status := r.Date, "complete"
	if !complete {
		status = "incomplete"
	}
	if f == German {
		if t, err := time.Parse(time.DateOnly, r.Date); err == nil {
			date = t.Format("02.01.2006")
		}
		status = "vollständig"
		if !complete {
			status = "unvollständig"
		}
	}
	return []string{date, r.Device, r.TZ, num(r.Low), num(r.High), strconv.Itoa(r.Samples),
		opt(r.Min), opt(r.Max), opt(r.Mean), opt(r.MKT), num(r.MinutesOut), num(r.MinutesNoData),
		strconv.Itoa(len(r.Excursions)), details(r.Excursions, loc, f, num), status, hash}
}

// details renders excursions in the record's time zone: "zu warm
// 20.11.2026 19:02 – 20.11.2026 19:40, Spitze 11,2 °C, 38 min" (German) or
// "above 2026-11-20 19:02 – 2026-11-20 19:40 peak 11.2 °C 38 min".
func details(ex []Excursion, loc *time.Location, f CSVFormat, num func(float64) string) string {
	parts := make([]string, 0, len(ex))
	for _, e := range ex {
		if f == German {
			end := "andauernd"
			if e.End != nil {
				end = e.End.In(loc).Format("02.01.2006 15:04")
			}
			dir := map[string]string{"above": "zu warm", "below": "zu kalt"}[e.Direction]
			parts = append(parts, fmt.Sprintf("%s %s – %s, Spitze %s °C, %s min", dir, e.Start.In(loc).Format("02.01.2006 15:04"), end, num(e.Peak), num(e.Minutes)))
			continue
		}
		end := "ongoing"
		if e.End != nil {
			end = e.End.In(loc).Format("2006-01-02 15:04")
		}
		parts = append(parts, fmt.Sprintf("%s %s – %s peak %s °C %s min", e.Direction, e.Start.In(loc).Format("2006-01-02 15:04"), end, num(e.Peak), num(e.Minutes)))
	}
	return strings.Join(parts, "; ")
}
