package config

import (
	"math"
	"sort"
)

// Plausible bounds what a device's metric can really read (see
// gateway/plausible): readings outside, and known sensor error codes, are
// refused before alarms and the cold-chain record see them. An absent
// bound keeps the built-in one of the device's kind.
type Plausible struct {
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
}

// validatePlausible checks every device's plausible: entries. Called from
// validate.
func (l *loader) validatePlausible() {
	for i, dev := range l.cfg.Devices {
		metrics := make([]string, 0, len(dev.Plausible))
		for m := range dev.Plausible {
			metrics = append(metrics, m)
		}
		sort.Strings(metrics)
		for _, m := range metrics {
			p := dev.Plausible[m]
			path := indexPath("devices", i) + ".plausible." + m
			for _, b := range []struct {
				name string
				v    *float64
			}{{"min", p.Min}, {"max", p.Max}} {
				if b.v != nil && (math.IsNaN(*b.v) || math.IsInf(*b.v, 0)) {
					l.problem(path+"."+b.name, "must be a finite number")
				}
			}
			if p.Min != nil && p.Max != nil && *p.Max <= *p.Min {
				l.problem(path+".max", "must be greater than min (%g), got %g", *p.Min, *p.Max)
			}
		}
	}
}
