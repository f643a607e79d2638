package nut

import (
	"math"
	"strconv"
	"strings"

	"github.com/praxisgate/praxisgate/drivers"
)

// unitOf returns the unit of a NUT variable and whether it is numeric.
// NUT sends every value as text; the variable name says what it is
// (docs/nut-names.txt in NUT), so the unit follows from the name's parts.
func unitOf(name string) (unit string, numeric bool) {
	parts := strings.Split(name, ".")
	has := func(p string) bool {
		for _, x := range parts {
			if x == p {
				return true
			}
		}
		return false
	}
	switch {
	case name == "input.transfer.reason", name == "battery.charger.status":
		return "", false
	case has("voltage"), strings.HasPrefix(name, "input.transfer."):
		return "V", true
	case has("current"):
		return "A", true
	case has("frequency"):
		return "Hz", true
	case has("temperature"):
		return "°C", true
	case has("realpower"):
		return "W", true
	case has("power") && !has("percent"):
		return "VA", true
	case strings.HasPrefix(name, "battery.charge"), has("load"), has("percent"), name == "ups.efficiency",
		strings.HasSuffix(name, ".autoswitch.charge.low"):
		return "%", true
	case strings.HasPrefix(name, "battery.runtime"), has("delay"), has("timer"), name == "ups.test.interval":
		return "s", true
	case name == "battery.capacity":
		return "Ah", true
	case name == "input.phases", name == "output.phases", name == "battery.packs", name == "battery.packs.bad",
		name == "output.powerfactor":
		return "", true
	}
	return "", false
}

// skipVar drops the NUT driver's own plumbing (its command-line
// parameters, debug level), which says nothing about the UPS and would
// only fill the provider's telemetry.
func skipVar(name string) bool {
	return strings.HasPrefix(name, "driver.parameter.") || strings.HasPrefix(name, "driver.flag.") ||
		strings.HasPrefix(name, "driver.version.") || name == "driver.debug" || name == "driver.state"
}

// SampleFromVars turns NUT variables into metrics: numbers with units
// where the name says so, text otherwise (values trimmed, since some
// drivers pad them, e.g. Riello's "UOD1-XL       "). A value that should
// be a number but is not (a driver's raw "NA") is kept as text.
func SampleFromVars(vars []Var) drivers.Sample {
	s := drivers.Sample{Kind: "ups"}
	for _, v := range vars {
		if skipVar(v.Name) || v.Name == "" {
			continue
		}
		val := strings.TrimSpace(v.Value)
		if unit, numeric := unitOf(v.Name); numeric {
			if f, err := strconv.ParseFloat(val, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				s.Metrics = append(s.Metrics, drivers.Num(v.Name, f, unit))
				continue
			}
		}
		s.Metrics = append(s.Metrics, drivers.Text(v.Name, val))
	}
	return s
}
