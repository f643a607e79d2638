package report

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/praxisgate/praxisgate/gateway/coldchain"
)

// FridgeRef names a fridge to report on.
type FridgeRef struct {
	ID string
	// Name is the practice's label (config name); empty: ID.
	Name string
}

// Options choose what Collect puts into a report.
type Options struct {
	// Month is the month reported, "YYYY-MM". Required.
	Month string
	// Practice names the practice or box in the page head.
	Practice string
	// Fridges are reported in this order; nil: every fridge with a record
	// in the directory (coldchain.Devices).
	Fridges []FridgeRef
	// Location is the time zone of the record's days; default
	// coldchain.DefaultTimezone.
	Location *time.Location
	// Now is the generation time and decides which day is in progress;
	// default time.Now().
	Now time.Time
	// Checks returns a fridge's daily checks in [from, to); nil: the
	// checks written into the fridge's record (coldchain.Month).
	Checks func(device string, from, to time.Time) ([]Check, error)
	// Ack returns who acknowledged an excursion and why; nil: the first
	// acknowledgement the record ties to the excursion (coldchain.Month),
	// none when it has none.
	Ack func(device string, e Excursion) *Ack
}

var monthRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// ParseMonth reads "YYYY-MM" as the first instant of that month in loc.
func ParseMonth(s string, loc *time.Location) (time.Time, error) {
	if !monthRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("report: month %q: want YYYY-MM, e.g. 2026-11", s)
	}
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("report: month %q: %w", s, err)
	}
	return t, nil
}

// Collect reads the month's record of each fridge below dir (the
// recorder's <state_dir>/coldchain) and checks each whole chain. A month
// after the one of Now is refused; a fridge whose record cannot be read
// is reported with that as its verdict rather than failing the report.
func Collect(dir string, o Options) (Report, error) {
	if o.Location == nil {
		loc, err := coldchain.LoadTimezone("")
		if err != nil {
			return Report{}, err
		}
		o.Location = loc
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	start, err := ParseMonth(o.Month, o.Location)
	if err != nil {
		return Report{}, err
	}
	now := o.Now.In(o.Location)
	if start.After(now) {
		return Report{}, fmt.Errorf("report: month %s has not begun (today is %s)", o.Month, now.Format(time.DateOnly))
	}
	refs := o.Fridges
	if refs == nil {
		ids, err := coldchain.Devices(dir)
		if err != nil {
			return Report{}, err
		}
		for _, id := range ids {
			refs = append(refs, FridgeRef{ID: id})
		}
	}
	r := Report{Practice: o.Practice, Month: start, Generated: o.Now, Location: o.Location}
	for _, ref := range refs {
		f, err := collectFridge(dir, ref, start, o)
		if err != nil {
			return Report{}, err
		}
		r.Fridges = append(r.Fridges, f)
	}
	return r, nil
}

func collectFridge(dir string, ref FridgeRef, start time.Time, o Options) (Fridge, error) {
	f := Fridge{ID: ref.ID, Name: ref.Name}
	end := start.AddDate(0, 1, 0)
	from, to := start.Format(time.DateOnly), end.AddDate(0, 0, -1).Format(time.DateOnly)
	today := o.Now.In(o.Location).Format(time.DateOnly)

	st, cerr := coldchain.Check(dir, ref.ID)
	f.Verification.Intact = cerr == nil && st.Intact()
	if cerr == nil {
		f.Verification.Verdict = st.German()
	}
	for _, b := range st.Breaks {
		f.Verification.Breaks = append(f.Verification.Breaks, b.German())
	}
	hd, hh, herr := coldchain.Head(dir, ref.ID)
	f.Verification.HeadDate, f.Verification.HeadHash = hd, hh
	if err := errors.Join(cerr, herr); err != nil {
		f.Verification.Error = err.Error()
	}

	all, err := coldchain.HashedRecords(dir, ref.ID, "", "")
	if err != nil {
		// A line that is no record: Check has reported it as a break; the
		// days cannot be shown.
		f.Verification.Intact = false
		if f.Verification.Error == "" {
			f.Verification.Breaks = append(f.Verification.Breaks, "Tageswerte nicht lesbar: "+err.Error())
		}
		return f, nil
	}
	first, last := "", ""
	byDate := map[string]coldchain.HashedRecord{}
	var month []coldchain.Record
	for _, h := range all {
		if first == "" || h.Date < first {
			first = h.Date
		}
		if h.Date > last {
			last = h.Date
		}
		if h.Date < from || h.Date > to {
			continue
		}
		if _, dup := byDate[h.Date]; !dup {
			byDate[h.Date] = h
			month = append(month, h.Record)
		}
	}
	prog, hasProg := coldchain.CurrentDay(dir, ref.ID, o.Now)
	hasProg = hasProg && prog.Date > last && prog.Date >= from && prog.Date <= to
	if hasProg {
		month = append(month, prog)
		if first == "" {
			first = prog.Date
		}
	}

	for _, rec := range month {
		b := Band{Low: rec.Low, High: rec.High}
		known := false
		for _, x := range f.Bands {
			known = known || x == b
		}
		if !known {
			f.Bands = append(f.Bands, b)
		}
	}

	if first != "" {
		for d := max(from, first); d <= to && d <= today; d = nextDate(d) {
			day := collectDay(d, byDate, prog, hasProg, o)
			if day.Status == Missing && d == today {
				// Today has no entry before midnight; with no day in
				// progress either, the recorder has not run today.
				continue
			}
			f.Days = append(f.Days, day)
		}
	}
	f.Excursions = mergeExcursions(month)
	if o.Ack == nil || o.Checks == nil {
		ack, checks, err := recordAudit(dir, ref.ID, start, o.Now)
		if err != nil {
			return Fridge{}, err
		}
		if o.Ack == nil {
			o.Ack = ack
		}
		if o.Checks == nil {
			o.Checks = checks
		}
	}
	if o.Ack != nil {
		for i := range f.Excursions {
			f.Excursions[i].Ack = o.Ack(ref.ID, f.Excursions[i])
		}
	}
	if o.Checks != nil {
		checks, err := o.Checks(ref.ID, start, end)
		if err != nil {
			return Fridge{}, fmt.Errorf("report: daily checks of %s: %w", ref.ID, err)
		}
		sort.SliceStable(checks, func(i, j int) bool { return checks[i].At.Before(checks[j].At) })
		f.Checks = checks
	}
	return f, nil
}

func collectDay(date string, byDate map[string]coldchain.HashedRecord, prog coldchain.Record, hasProg bool, o Options) Day {
	dayStart, err := time.ParseInLocation(time.DateOnly, date, o.Location)
	if err != nil {
		return Day{Date: date, Status: Missing}
	}
	dayEnd := dayStart.AddDate(0, 0, 1)
	var rec coldchain.Record
	day := Day{Date: date}
	if h, ok := byDate[date]; ok {
		rec, day.Hash = h.Record, h.Hash
	} else if hasProg && prog.Date == date {
		rec, day.Status = prog, Incomplete
		if o.Now.Before(dayEnd) {
			dayEnd = o.Now
		}
	} else {
		day.Status = Missing
		return day
	}
	day.Samples, day.Min, day.Max, day.Mean, day.MKT = rec.Samples, rec.Min, rec.Max, rec.Mean, rec.MKT
	day.MinutesOut, day.MinutesNoData, day.Excursions = rec.MinutesOut, rec.MinutesNoData, len(rec.Excursions)
	day.CoveredMinutes = max(0, dayEnd.Sub(dayStart).Minutes()-rec.MinutesNoData)
	return day
}

// mergeExcursions joins the pieces of an excursion that went on over
// midnight (each day's record holds the part on that day, with the same
// start) and orders them by start.
func mergeExcursions(days []coldchain.Record) []Excursion {
	var out []Excursion
	idx := map[string]int{}
	for _, rec := range days {
		for _, e := range rec.Excursions {
			above := e.Direction == "above"
			key := fmt.Sprintf("%d/%t", e.Start.UnixNano(), above)
			i, ok := idx[key]
			if !ok {
				idx[key] = len(out)
				out = append(out, Excursion{Start: e.Start, End: e.End, Above: above, Peak: e.Peak, Minutes: e.Minutes})
				continue
			}
			x := &out[i]
			x.Minutes += e.Minutes
			x.End = e.End
			if (above && e.Peak > x.Peak) || (!above && e.Peak < x.Peak) {
				x.Peak = e.Peak
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

func nextDate(date string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return "9999-12-31" // ends the loop; dates come from ParseMonth
	}
	return t.AddDate(0, 0, 1).Format(time.DateOnly)
}

// recordAudit reads the audit trail the recorder wrote into device's
// record for the month that begins at start: the daily checks, and the
// acknowledgements coldchain.Month ties to each excursion (matched here by
// the excursion's first reading out of the band, which both read from the
// same day records).
func recordAudit(dir, device string, start, now time.Time) (func(string, Excursion) *Ack, func(string, time.Time, time.Time) ([]Check, error), error) {
	mr, err := coldchain.Month(dir, device, start.Year(), start.Month(), now)
	if err != nil {
		return nil, nil, fmt.Errorf("report: audit trail of %s: %w", device, err)
	}
	ack := func(_ string, e Excursion) *Ack {
		for _, x := range mr.Excursions {
			if x.Start.Equal(e.Start) && len(x.Acks) > 0 {
				a := x.Acks[0]
				return &Ack{By: a.User, At: a.At, Comment: a.Comment}
			}
		}
		return nil
	}
	checks := func(_ string, from, to time.Time) ([]Check, error) {
		var out []Check
		for _, c := range mr.Checks {
			if !c.At.Before(from) && c.At.Before(to) {
				out = append(out, Check{At: c.At, By: c.User, Comment: c.Comment})
			}
		}
		return out, nil
	}
	return ack, checks, nil
}
