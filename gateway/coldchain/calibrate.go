package coldchain

import (
	"fmt"
	"math"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Probe calibration. A calibration certificate states how far a probe reads
// off (e.g. −0.3 °C); the offset is added to every reading before alarms
// and the record see it, and the raw value travels beside the corrected
// one (metric "<metric>.raw"), so the provider's telemetry keeps both. A
// probe's next calibration date raises a minor alarm CalibrationWarn ahead
// and stays while it is overdue.

// CalibrationWarn is how long before its due date a probe's calibration
// is reported.
const CalibrationWarn = 30 * 24 * time.Hour

// RawSuffix names the metric that carries the uncorrected reading.
const RawSuffix = ".raw"

// Calibration is a probe's calibration as the page shows it.
type Calibration struct {
	// Offset is added to each reading; nil: none configured.
	Offset *float64
	// Due is the next calibration date (YYYY-MM-DD); empty: none set.
	Due string
	// DaysLeft is the days from today to Due (negative: overdue); only
	// meaningful with Due set.
	DaysLeft int
	// Soon says Due is within CalibrationWarn or past.
	Soon bool
}

// calib is a fridge's configured calibration.
type calib struct {
	offset *float64
	due    string
}

func (c calib) state(today string) Calibration {
	s := Calibration{Offset: c.offset, Due: c.due}
	if c.due == "" {
		return s
	}
	d, err1 := time.Parse(time.DateOnly, c.due)
	t, err2 := time.Parse(time.DateOnly, today)
	if err1 != nil || err2 != nil {
		return s
	}
	s.DaysLeft = int(math.Round(d.Sub(t).Hours() / 24))
	s.Soon = d.Sub(t) <= CalibrationWarn
	return s
}

// Calibrate applies the device's calibration offset to its temperature
// metric and adds the raw reading as "<metric>.raw". Samples of other
// devices, of fridges without an offset and without the metric are
// returned as they are; the caller's slice is never changed in place.
// Call it after the plausibility check (which judges the probe's own
// value, where the sentinels are) and before alarms and Observe.
func (r *Recorder) Calibrate(s drivers.Sample) drivers.Sample {
	r.mu.Lock()
	t, ok := r.fridges[s.Device]
	var off *float64
	metric := ""
	if ok {
		off, metric = t.cal.offset, t.metric
	}
	r.mu.Unlock()
	if off == nil {
		return s
	}
	for i, m := range s.Metrics {
		if m.Name != metric {
			continue
		}
		v, ok := m.Float()
		if !ok {
			return s
		}
		ms := make([]drivers.Metric, 0, len(s.Metrics)+1)
		ms = append(ms, s.Metrics...)
		// Rounded to a thousandth: 4.2 + 0.3 should read 4.5, not
		// 4.499999999.
		ms[i].Value = round(v+*off, 3)
		ms = append(ms, drivers.Num(metric+RawSuffix, v, m.Unit))
		s.Metrics = ms
		return s
	}
	return s
}

// Condition names of the alarms the record raises through the fridge's
// samples (Conditions).
const (
	// ConditionIntegrity: the record does not verify (major).
	ConditionIntegrity = "coldchain.integrity"
	// ConditionDailyCheck: no daily check confirmed by the configured
	// time (minor); it clears when one is.
	ConditionDailyCheck = "coldchain.daily_check"
	// ConditionCalibration: the probe's calibration is due within
	// CalibrationWarn or overdue (minor).
	ConditionCalibration = "coldchain.calibration"
)

// Conditions returns the record's alarms of a fridge at now, as driver
// conditions: the gateway adds them to each of the fridge's good samples,
// so the alarm engine raises them, keeps them while they hold and clears
// them with the first sample without them. Nil for other devices.
func (r *Recorder) Conditions(device string, now time.Time) []drivers.Condition {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.fridges[device]
	if !ok {
		return nil
	}
	var out []drivers.Condition
	if !t.status.Intact() {
		out = append(out, drivers.Condition{Name: ConditionIntegrity, Severity: drivers.Major,
			Message: fmt.Sprintf("cold-chain record does not verify: %s (%d break(s))", t.status.Breaks[0].String(), len(t.status.Breaks))})
	}
	if due, ok := r.checkDue(now); ok && !now.Before(due) {
		done := t.st.Date == r.date(now) && len(t.st.Checks) > 0
		if !done {
			out = append(out, drivers.Condition{Name: ConditionDailyCheck, Severity: drivers.Minor,
				Message: fmt.Sprintf("daily check not confirmed by %s", due.Format("15:04"))})
		}
	}
	if c := t.cal.state(r.date(now)); c.Soon {
		msg := fmt.Sprintf("probe calibration due on %s (in %d days)", c.Due, c.DaysLeft)
		if c.DaysLeft < 0 {
			msg = fmt.Sprintf("probe calibration overdue since %s", c.Due)
		}
		out = append(out, drivers.Condition{Name: ConditionCalibration, Severity: drivers.Minor, Message: msg})
	}
	return out
}
