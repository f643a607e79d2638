package coldchain

import (
	"math"
	"time"
)

// dayState is a fridge's day in progress. It is persisted (state.go), so a
// restart in the middle of a day continues the same day's figures.
type dayState struct {
	Device string `json:"device"`
	// Date is the day being accumulated; empty before the first Tick or
	// reading ever.
	Date    string `json:"date"`
	Samples int    `json:"samples"`
	// SumSeconds is Σ value·seconds held and SumArrhenius is
	// Σ exp(−ΔH/(R·T))·seconds held (mkt.go) over the time readings
	// cover: the mean and the MKT weight each reading by the time it
	// stood for.
	SumSeconds   float64 `json:"sum_seconds"`
	SumArrhenius float64 `json:"sum_arrhenius_seconds"`
	// Min and Max are over the values that stood for some of the day,
	// including one held over from before midnight; HaveExt says they are
	// set.
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	HaveExt bool    `json:"have_ext"`
	// OutSeconds and CoveredSeconds are the day's time out of the band and
	// the time any reading stands for.
	OutSeconds     float64 `json:"out_seconds"`
	CoveredSeconds float64 `json:"covered_seconds"`
	// Excursions ended on this day; Open is the one going on.
	Excursions []Excursion `json:"excursions"`
	Open       *Excursion  `json:"open,omitempty"`
	// Checks and Acks are the day's audit entries so far (audit.go).
	Checks []DailyCheck `json:"checks,omitempty"`
	Acks   []Ack        `json:"acks,omitempty"`
	// LastAt and LastValue are the newest reading, possibly of an earlier
	// day; HaveLast says they are set.
	LastAt    time.Time `json:"last_at"`
	LastValue float64   `json:"last_value"`
	HaveLast  bool      `json:"have_last"`
	// TZ, Low, High and Hold are the recorder's settings, so the day in
	// progress can be shown without it (WriteCSV).
	TZ   string        `json:"tz"`
	Low  float64       `json:"low"`
	High float64       `json:"high"`
	Hold time.Duration `json:"hold"`
	// OffsetC and CalibrationDue are the probe's calibration
	// (calibrate.go), noted in the record.
	OffsetC        *float64 `json:"offset_c,omitempty"`
	CalibrationDue string   `json:"calibration_due,omitempty"`
	// Prev and LastDate describe the newest record written.
	Prev     string `json:"prev"`
	LastDate string `json:"last_date"`
}

// band is what a reading is judged against.
type band struct {
	low, high float64
	// hold is the longest time one reading stands for: a reading is
	// assumed to hold until the next one, but not across a long gap.
	hold time.Duration
}

func (b band) direction(v float64) string {
	switch {
	case v > b.high:
		return "above"
	case v < b.low:
		return "below"
	}
	return ""
}

// resetDay starts date with empty figures, keeping the newest reading and
// an excursion that goes on over midnight.
func (d *dayState) resetDay(date string) {
	d.Date = date
	d.Samples, d.SumSeconds, d.SumArrhenius, d.Min, d.Max, d.HaveExt = 0, 0, 0, 0, 0, false
	d.OutSeconds, d.CoveredSeconds = 0, 0
	d.Excursions, d.Checks, d.Acks = nil, nil, nil
	if d.Open != nil {
		d.Open = &Excursion{Start: d.Open.Start, Direction: d.Open.Direction, Peak: d.LastValue}
	}
}

// attribute credits the newest reading with the time from it up to "to",
// as far as that falls within [dayStart, dayEnd) and the hold time.
func (d *dayState) attribute(to, dayStart, dayEnd time.Time, b band) {
	if !d.HaveLast {
		return
	}
	from := d.LastAt
	to = minTime(to, d.LastAt.Add(b.hold))
	if from.Before(dayStart) {
		from = dayStart
	}
	to = minTime(to, dayEnd)
	if !to.After(from) {
		return
	}
	sec := to.Sub(from).Seconds()
	d.CoveredSeconds += sec
	d.SumSeconds += d.LastValue * sec
	d.SumArrhenius += arrhenius(d.LastValue) * sec
	d.extend(d.LastValue)
	if d.Open != nil {
		d.OutSeconds += sec
		d.Open.Minutes += sec / 60
	}
}

// add takes one reading of the day.
func (d *dayState) add(at time.Time, v float64, b band) {
	d.Samples++
	d.extend(v)

	dir := b.direction(v)
	if d.Open != nil && dir != d.Open.Direction {
		end := at
		d.Open.End = &end
		d.Excursions = append(d.Excursions, *d.Open)
		d.Open = nil
	}
	if dir != "" {
		if d.Open == nil {
			d.Open = &Excursion{Start: at, Direction: dir, Peak: v}
		}
		if (dir == "above" && v > d.Open.Peak) || (dir == "below" && v < d.Open.Peak) {
			d.Open.Peak = v
		}
	}
	d.LastAt, d.LastValue, d.HaveLast = at, v, true
}

func (d *dayState) extend(v float64) {
	if !d.HaveExt {
		d.Min, d.Max, d.HaveExt = v, v, true
	}
	d.Min = math.Min(d.Min, v)
	d.Max = math.Max(d.Max, v)
}

// record renders the finished day; dayLen is its length (23 to 25 hours
// around the clock changes).
func (d *dayState) record(tz string, b band, dayLen time.Duration) Record {
	r := Record{Date: d.Date, Device: d.Device, TZ: tz, Low: b.low, High: b.high, Samples: d.Samples,
		MinutesOut: round(d.OutSeconds/60, 1), MinutesNoData: round(math.Max(0, dayLen.Seconds()-d.CoveredSeconds)/60, 1),
		Excursions: []Excursion{}, Checks: d.Checks, Acks: d.Acks, OffsetC: d.OffsetC, CalibrationDue: d.CalibrationDue, Prev: d.Prev}
	if d.Samples > 0 && d.CoveredSeconds > 0 {
		mn, mx := round(d.Min, 2), round(d.Max, 2)
		mean := round(d.SumSeconds/d.CoveredSeconds, 2)
		mkt := round(mktFromWeighted(d.SumArrhenius, d.CoveredSeconds), 2)
		r.Min, r.Max, r.Mean, r.MKT = &mn, &mx, &mean, &mkt
	}
	for _, e := range d.Excursions {
		e.Minutes = round(e.Minutes, 1)
		r.Excursions = append(r.Excursions, e)
	}
	if d.Open != nil {
		e := *d.Open
		e.Minutes = round(e.Minutes, 1)
		r.Excursions = append(r.Excursions, e)
	}
	return r
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
