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

// csvHeader names the columns of WriteCSV. Temperatures are °C with a dot
// as decimal separator; record_sha256 lets an inspector match a printed
// day against the chain.
var csvHeader = []string{"date", "device", "tz", "low_c", "high_c", "samples", "min_c", "max_c", "mean_c", "mkt_c",
	"minutes_out_of_range", "minutes_no_data", "excursions", "excursion_details", "record_sha256"}

// WriteCSV writes a device's daily records with from ≤ date ≤ to
// (YYYY-MM-DD, empty: unbounded) as CSV, one row per day, for printing
// and inspections. Days without readings have empty temperature cells.
// The web page offers it as a download.
func WriteCSV(w io.Writer, dir, device, from, to string) error {
	lines, err := readLines(dir, device)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("coldchain: write CSV: %w", err)
	}
	for _, l := range lines {
		var r Record
		if err := json.Unmarshal(l.raw, &r); err != nil {
			return fmt.Errorf("coldchain: %s line %d: %w", l.file, l.no, err)
		}
		if (from != "" && r.Date < from) || (to != "" && r.Date > to) {
			continue
		}
		loc, err := time.LoadLocation(r.TZ)
		if err != nil {
			loc = time.UTC
		}
		row := []string{r.Date, r.Device, r.TZ, num(r.Low), num(r.High), strconv.Itoa(r.Samples),
			opt(r.Min), opt(r.Max), opt(r.Mean), opt(r.MKT), num(r.MinutesOut), num(r.MinutesNoData),
			strconv.Itoa(len(r.Excursions)), details(r.Excursions, loc), Hash(l.raw)}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("coldchain: write CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("coldchain: write CSV: %w", err)
	}
	return nil
}

// details renders excursions as "above 2026-11-20 19:02–19:40 peak 11.2 °C
// 38 min; ..." in the record's time zone.
func details(ex []Excursion, loc *time.Location) string {
	parts := make([]string, 0, len(ex))
	for _, e := range ex {
		end := "ongoing"
		if e.End != nil {
			end = e.End.In(loc).Format("2006-01-02 15:04")
		}
		parts = append(parts, fmt.Sprintf("%s %s – %s peak %s °C %s min", e.Direction, e.Start.In(loc).Format("2006-01-02 15:04"), end, num(e.Peak), num(e.Minutes)))
	}
	return strings.Join(parts, "; ")
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func opt(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}
