package config

import (
	"math"
	"time"
)

// Calibration is a fridge probe's calibration, from its certificate
// (gateway/coldchain applies and records it).
type Calibration struct {
	// Offset in °C is added to every reading of the probe (a probe that
	// reads 0.3 °C too warm has offset -0.3). Absent: no correction; an
	// explicit 0 says the probe was checked and reads true.
	Offset *float64 `yaml:"offset"`
	// Due is the next calibration date, YYYY-MM-DD; a minor alarm is
	// raised 30 days ahead and while it is overdue. Empty: none.
	Due string `yaml:"due"`
}

// maxCalibrationOffset bounds an offset: a probe that is off by more needs
// replacing, not correcting, and a typo (30 for 0.3) must not shift the
// record.
const maxCalibrationOffset = 5.0

// validateCalibration checks every device's calibration: section. Called
// from validate.
func (l *loader) validateCalibration() {
	for i, dev := range l.cfg.Devices {
		c := dev.Calibration
		if c == nil {
			continue
		}
		path := indexPath("devices", i) + ".calibration"
		if c.Offset != nil && (math.IsNaN(*c.Offset) || math.Abs(*c.Offset) > maxCalibrationOffset) {
			l.problem(path+".offset", "want an offset in °C between -%g and %g, got %g", maxCalibrationOffset, maxCalibrationOffset, *c.Offset)
		}
		if c.Due != "" {
			if _, err := time.Parse(time.DateOnly, c.Due); err != nil {
				l.problem(path+".due", "want a date YYYY-MM-DD, got %q", c.Due)
			}
		}
		if c.Offset == nil && c.Due == "" {
			l.problem(path, "set offset, due or both (or remove the section)")
		}
	}
}
