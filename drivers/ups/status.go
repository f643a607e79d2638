package ups

import (
	"slices"
	"strings"

	"github.com/praxisgate/praxisgate/drivers"
)

// The NUT ups.status flags the gateway understands. Both serial protocols
// are mapped onto these so that a UPS read over RS-232 and one read from a
// NAS through NUT raise the same alarms.
const (
	FlagOnLine      = "OL"
	FlagOnBattery   = "OB"
	FlagLowBattery  = "LB"
	FlagReplaceBatt = "RB"
	FlagCharging    = "CHRG"
	FlagDischarging = "DISCHRG"
	FlagBypass      = "BYPASS"
	FlagOverload    = "OVER"
	FlagTrim        = "TRIM"
	FlagBoost       = "BOOST"
	FlagCalibrating = "CAL"
	FlagOff         = "OFF"
	FlagForcedShut  = "FSD"
	FlagAlarm       = "ALARM"
)

// conditionFor maps a status flag to the alarm it stands for. Severities
// follow the provider's SLA levels: losing mains is major (the practice
// still works), a low battery is critical (shutdown is minutes away), a
// worn battery is minor (book a visit).
var conditionFor = map[string]drivers.Condition{
	FlagOnBattery:   {Name: "ups.on_battery", Severity: drivers.Major, Message: "UPS is running on battery (mains failure)"},
	FlagLowBattery:  {Name: "ups.low_battery", Severity: drivers.Critical, Message: "UPS battery is low; shutdown is imminent"},
	FlagReplaceBatt: {Name: "ups.replace_battery", Severity: drivers.Minor, Message: "UPS asks for its battery to be replaced"},
	FlagOverload:    {Name: "ups.overload", Severity: drivers.Major, Message: "UPS output is overloaded"},
	FlagBypass:      {Name: "ups.bypass", Severity: drivers.Major, Message: "UPS is on bypass; the load is not protected"},
	FlagForcedShut:  {Name: "ups.forced_shutdown", Severity: drivers.Critical, Message: "UPS shutdown is in progress"},
	FlagOff:         {Name: "ups.output_off", Severity: drivers.Critical, Message: "UPS output is switched off"},
	FlagAlarm:       {Name: "ups.alarm", Severity: drivers.Major, Message: "UPS reports an internal fault"},
}

// ParseStatus splits a NUT ups.status value ("OL CHRG") into its flags.
func ParseStatus(s string) []string { return strings.Fields(s) }

// Conditions returns the alarm conditions that the given ups.status flags
// stand for, in a stable order.
func Conditions(flags []string) []drivers.Condition {
	var out []drivers.Condition
	for _, f := range []string{FlagLowBattery, FlagForcedShut, FlagOff, FlagOnBattery, FlagOverload, FlagBypass, FlagAlarm, FlagReplaceBatt} {
		if slices.Contains(flags, f) {
			out = append(out, conditionFor[f])
		}
	}
	return out
}

// Transitions returns the one-off events between two consecutive status
// readings. Alarms come from Conditions; these events record the edges
// an operator wants in the log, above all "back on line", which no alarm
// carries. prev == nil (first reading, or after a reconnect) yields none,
// so a gateway restart does not report a power change that did not happen.
func Transitions(prev, cur []string) []drivers.Event {
	if prev == nil {
		return nil
	}
	had := func(f string) bool { return slices.Contains(prev, f) }
	has := func(f string) bool { return slices.Contains(cur, f) }
	var ev []drivers.Event
	edge := func(typ, msg string) {
		ev = append(ev, drivers.Event{Type: typ, Severity: drivers.Info, Message: msg,
			Attrs: map[string]any{"ups.status": strings.Join(cur, " ")}})
	}
	if !had(FlagOnBattery) && has(FlagOnBattery) {
		edge("ups.power_lost", "UPS switched to battery")
	}
	if had(FlagOnBattery) && !has(FlagOnBattery) && has(FlagOnLine) {
		edge("ups.power_restored", "UPS is back on line")
	}
	if !had(FlagLowBattery) && has(FlagLowBattery) {
		edge("ups.battery_low", "UPS battery went low")
	}
	if had(FlagReplaceBatt) && !has(FlagReplaceBatt) {
		edge("ups.battery_replaced", "UPS no longer asks for a battery replacement")
	}
	if had(FlagOverload) && !has(FlagOverload) {
		edge("ups.overload_cleared", "UPS overload cleared")
	}
	return ev
}
