package config

import (
	"fmt"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Fridge is the profile of every device of kind fridge. Vaccines and many
// drugs must stay between 2 and 8 °C, and freezing spoils them as surely as
// warming, so a fridge gets a two-sided band without anyone writing a rule.
// A rule in alarms: for the fridge's device and metric replaces the default
// rule (the cold-chain record still uses the band below).
type Fridge struct {
	// Metric is the temperature metric. Default temperature.
	Metric string `yaml:"metric"`
	// Low and High are the band in °C. Defaults 2 and 8.
	Low  *float64 `yaml:"low"`
	High *float64 `yaml:"high"`
	// Delay tolerates a door opening: the temperature must stay out of the
	// band this long before the alarm is raised. Default 15m; an explicit
	// 0s raises it at the first reading outside (nil: not written).
	Delay *time.Duration `yaml:"delay"`
	// Hysteresis is how far back inside the band the temperature must come
	// before the alarm clears. Default 0.5.
	Hysteresis *float64 `yaml:"hysteresis"`
	// Severity of the band alarm. Default critical.
	Severity drivers.Severity `yaml:"severity"`
	// StaleAfter raises "sensor offline" when no temperature arrived for
	// this long. Default: 3 × the device's interval, at least 5m.
	StaleAfter time.Duration `yaml:"stale_after"`
	// DailyCheckBy is the local time (HH:MM) by which staff must have
	// confirmed the daily check on the web page; later, a minor alarm
	// is raised until they do. Empty (absent): no such alarm; "00:00" is
	// a time like any other (due from midnight).
	DailyCheckBy string `yaml:"daily_check_by"`
}

// Fridge profile defaults (docs/config.md, section fridge).
const (
	DefaultFridgeMetric     = "temperature"
	DefaultFridgeLow        = 2.0
	DefaultFridgeHigh       = 8.0
	DefaultFridgeDelay      = 15 * time.Minute
	DefaultFridgeHysteresis = 0.5
	DefaultFridgeSeverity   = drivers.Critical
	minFridgeStaleAfter     = 5 * time.Minute
)

// FridgeKind is the device kind that gets the fridge profile.
const FridgeKind = "fridge"

// Effective returns the profile with every unset value replaced by its
// default, so the alarm engine and the cold-chain record agree on the band
// whether or not Load filled the defaults in.
func (f Fridge) Effective() Fridge {
	setStr(&f.Metric, DefaultFridgeMetric)
	if f.Low == nil {
		v := DefaultFridgeLow
		f.Low = &v
	}
	if f.High == nil {
		v := DefaultFridgeHigh
		f.High = &v
	}
	if f.Delay == nil {
		v := DefaultFridgeDelay
		f.Delay = &v
	}
	if f.Hysteresis == nil {
		v := DefaultFridgeHysteresis
		f.Hysteresis = &v
	}
	if f.Severity == "" {
		f.Severity = DefaultFridgeSeverity
	}
	return f
}

// StaleFor returns how long a fridge polled every interval may stay
// silent before its sensor counts as offline.
func (f Fridge) StaleFor(interval time.Duration) time.Duration {
	if f.StaleAfter > 0 {
		return f.StaleAfter
	}
	return max(3*interval, minFridgeStaleAfter)
}

// validateFridge checks the fridge: section. Called from validate.
func (l *loader) validateFridge() {
	f := l.cfg.Fridge
	if f.Low != nil && f.High != nil && *f.High <= *f.Low {
		l.problem("fridge.high", "must be greater than low (%g), got %g", *f.Low, *f.High)
	}
	if f.Delay != nil && *f.Delay < 0 {
		l.problem("fridge.delay", "must be ≥ 0, got %s", fmtDur(*f.Delay))
	}
	if f.Hysteresis != nil && *f.Hysteresis < 0 {
		l.problem("fridge.hysteresis", "must be ≥ 0, got %g", *f.Hysteresis)
	}
	if f.Severity != "" && f.Severity.Rank() < drivers.Minor.Rank() {
		l.problem("fridge.severity", "want critical, major or minor, got %q", f.Severity)
	}
	l.atLeast("fridge.stale_after", f.StaleAfter, time.Second)
	if _, err := parseClock(f.DailyCheckBy); f.DailyCheckBy != "" && err != nil {
		l.problem("fridge.daily_check_by", "want a time of day HH:MM, got %q", f.DailyCheckBy)
	}
}

// CheckBy returns daily_check_by as the wall-clock time since local
// midnight; false when it is not set (or not valid, which Load refuses).
func (f Fridge) CheckBy() (time.Duration, bool) {
	if f.DailyCheckBy == "" {
		return 0, false
	}
	d, err := parseClock(f.DailyCheckBy)
	return d, err == nil
}

// parseClock reads HH:MM (00:00 to 23:59).
func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != len("15:04") {
		return 0, fmt.Errorf("time of day %q: want HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// validateStale checks the stale_after of every alarm rule. Called from
// validate.
func (l *loader) validateStale() {
	for i, a := range l.cfg.Alarms {
		l.atLeast(indexPath("alarms", i)+".stale_after", a.StaleAfter, time.Second)
	}
}
