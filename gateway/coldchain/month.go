package coldchain

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// MonthReport is one fridge's month as the monthly report (the PDF an
// inspector is shown) needs it, read from the record files alone: it works
// with or without a running recorder, and what it shows is what Verify
// checked.
type MonthReport struct {
	Device string
	// Year and Month name the month; TZ is the zone its days follow.
	Year  int
	Month time.Month
	TZ    string
	// Low and High are the band of the newest day in the month.
	Low, High float64
	// Days has one entry for every day of the month up to the last one
	// recorded or in progress, oldest first; days with neither have
	// Status DayMissing.
	Days []ReportDay
	// Excursions of the month, oldest first; one that went on over
	// midnight is one entry (its minutes summed, its peak the extreme),
	// each with the acknowledgements of temperature alarms given while
	// it lasted or before the next began.
	Excursions []ReportExcursion
	// Checks are the month's confirmed daily checks, oldest first.
	Checks []DailyCheck
	// Acks are every acknowledgement of the month (also those tied to an
	// excursion), oldest first.
	Acks []Ack
	// Verification is the check of the whole record (not just this
	// month): an edit anywhere makes every report of the fridge suspect.
	Verification Status
	// HeadDate and HeadHash are the newest entry of the chain head, the
	// hash the provider also holds from the daily event; empty before the
	// first day was written.
	HeadDate, HeadHash string
	// OffsetC and CalibrationDue are the probe's calibration as the
	// newest day in the month recorded it.
	OffsetC        *float64
	CalibrationDue string
}

// Day states of a ReportDay.
const (
	DayRecorded   = "recorded"    // a chained record exists
	DayInProgress = "in_progress" // today: figures from the saved day state, still changing
	DayMissing    = "missing"     // no record (box not running yet, or removed: see Verification)
)

// ReportDay is one day of a MonthReport.
type ReportDay struct {
	Date   string
	Status string
	// Samples, Min, Max, Mean, MKT, MinutesOut and MinutesNoData are the
	// record's (nil temperatures: no readings that day).
	Samples       int
	Min, Max      *float64
	Mean, MKT     *float64
	MinutesOut    float64
	MinutesNoData float64
	// Hash is the day's chain hash (recorded days only).
	Hash string
}

// ReportExcursion is an excursion with its acknowledgements.
type ReportExcursion struct {
	Start time.Time
	// End is nil while it goes on (or when the record ends in it).
	End       *time.Time
	Direction string
	Peak      float64
	Minutes   float64
	Acks      []Ack
}

// Month builds the report of one fridge's month from the records in dir;
// now (the gateway clock) decides which day is in progress. An unreadable
// record file is an error; a broken chain is not (it is in Verification).
func Month(dir, device string, year int, month time.Month, now time.Time) (MonthReport, error) {
	if month < time.January || month > time.December || year < 2000 || year > 9999 {
		return MonthReport{}, fmt.Errorf("coldchain: month %d-%02d out of range", year, month)
	}
	rep := MonthReport{Device: device, Year: year, Month: month}
	first := fmt.Sprintf("%04d-%02d-01", year, int(month))
	last := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)

	lines, err := readLines(dir, device)
	if err != nil {
		return rep, err
	}
	var days []Record
	hashes := map[string]string{}
	for _, l := range lines {
		var r Record
		if err := json.Unmarshal(l.raw, &r); err != nil || r.Date < first || r.Date > last {
			// An unparsable line is a break Verification reports.
			continue
		}
		if _, dup := hashes[r.Date]; dup {
			continue
		}
		hashes[r.Date] = Hash(l.raw)
		days = append(days, r)
	}
	inProg := false
	if r, ok := inProgress(dir, device, now); ok && r.Date >= first && r.Date <= last {
		if _, done := hashes[r.Date]; !done {
			days = append(days, r)
			inProg = true
		}
	}
	sort.SliceStable(days, func(i, j int) bool { return days[i].Date < days[j].Date })

	byDate := map[string]Record{}
	for _, r := range days {
		byDate[r.Date] = r
		rep.TZ, rep.Low, rep.High = r.TZ, r.Low, r.High
		rep.OffsetC, rep.CalibrationDue = r.OffsetC, r.CalibrationDue
		rep.Checks = append(rep.Checks, r.Checks...)
		rep.Acks = append(rep.Acks, r.Acks...)
	}
	if len(days) > 0 {
		end := days[len(days)-1].Date
		for d := first; d <= end; d = nextDay(d) {
			r, ok := byDate[d]
			if !ok {
				rep.Days = append(rep.Days, ReportDay{Date: d, Status: DayMissing})
				continue
			}
			rd := ReportDay{Date: d, Status: DayRecorded, Samples: r.Samples, Min: r.Min, Max: r.Max, Mean: r.Mean, MKT: r.MKT,
				MinutesOut: r.MinutesOut, MinutesNoData: r.MinutesNoData, Hash: hashes[d]}
			if inProg && d == end {
				rd.Status, rd.Hash = DayInProgress, ""
			}
			rep.Days = append(rep.Days, rd)
		}
	}
	rep.Excursions = mergeExcursions(days)
	attachAcks(rep.Excursions, rep.Acks)

	if rep.Verification, err = Check(dir, device); err != nil {
		return rep, err
	}
	head, err := readHead(dir, device)
	if err != nil {
		return rep, err
	}
	if e, ok := head.last(); ok {
		rep.HeadDate, rep.HeadHash = e.date, e.hash
	}
	return rep, nil
}

// mergeExcursions joins the per-day parts of excursions (same start and
// direction) into one.
func mergeExcursions(days []Record) []ReportExcursion {
	var out []ReportExcursion
	for _, r := range days {
		for _, e := range r.Excursions {
			if n := len(out); n > 0 && out[n-1].Start.Equal(e.Start) && out[n-1].Direction == e.Direction {
				p := &out[n-1]
				p.Minutes = round(p.Minutes+e.Minutes, 1)
				p.End = e.End
				if (e.Direction == "above" && e.Peak > p.Peak) || (e.Direction == "below" && e.Peak < p.Peak) {
					p.Peak = e.Peak
				}
				continue
			}
			out = append(out, ReportExcursion{Start: e.Start, End: e.End, Direction: e.Direction, Peak: e.Peak, Minutes: e.Minutes})
		}
	}
	return out
}

// attachAcks gives each excursion the acknowledgements of threshold
// alarms (alarm.KindThresholdHigh and Low: the band alarm) made from its
// start until the next excursion starts: the alarm is raised after the
// fridge's delay and is often acknowledged after the temperature is back,
// while it is still shown.
func attachAcks(ex []ReportExcursion, acks []Ack) {
	if len(ex) == 0 {
		return
	}
	for _, a := range acks {
		if a.Kind != "threshold_high" && a.Kind != "threshold_low" {
			continue
		}
		i := sort.Search(len(ex), func(i int) bool { return ex[i].Start.After(a.At) }) - 1
		if i >= 0 {
			ex[i].Acks = append(ex[i].Acks, a)
		}
	}
}
