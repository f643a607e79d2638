// Package plausible refuses readings no working sensor produces: values
// outside what the sensor kind can physically report, and the fixed codes
// sensors and bus adapters send instead of a measurement (85.0 from a
// DS18B20 that was just powered, −127 from a 1-Wire read error, −999,
// int16/uint16 limits from Modbus and BLE sensors with nothing to report).
//
// Such a value must not enter the cold-chain record or raise a band alarm:
// one −999 reading gives a day's MKT of −1258 °C, one 85.0 a recorded
// excursion. It is refused before anything else sees the sample, becomes
// an invalid-reading event, and the metric counts as missing, so a sensor
// that only sends junk goes stale like a silent one.
//
// Only metrics with a plausible range are checked (temperature and
// humidity by default, plus whatever a device configures); counters and
// other values pass untouched, since 65535 is a fine page count.
package plausible

import (
	"fmt"
	"math"
)

// Range is an inclusive plausible interval.
type Range struct{ Min, Max float64 }

// Contains says v lies in the range.
func (r Range) Contains(v float64) bool { return v >= r.Min && v <= r.Max }

// FridgeTemperature is the default plausible range of a fridge's
// temperature in °C. −40 °C leaves room for pharmacy freezers (−15 to
// −25 °C) and a compressor stuck on in a freezer compartment; +60 °C for a
// fridge that lost power in a hot room or in the sun, with the probe near
// the condenser. Outside it a reading is a fault, not a temperature: the
// 1-Wire codes 85 and −127 and every int16 code lie beyond it. An
// ultra-low freezer (mRNA vaccines, −90 to −60 °C) needs its own range in
// the device's plausible: setting.
var FridgeTemperature = Range{Min: -40, Max: 60}

// byKind are the default ranges per device kind and metric; byMetric the
// ones for a metric on any other kind.
var (
	byKind = map[string]map[string]Range{
		"fridge": {"temperature": FridgeTemperature},
	}
	byMetric = map[string]Range{
		// The rated range of common digital probes (DS18B20, SHT3x,
		// DHT22): −55 to +125 °C.
		"temperature": {Min: -55, Max: 125},
		"humidity":    {Min: 0, Max: 100},
	}
)

// Default returns the built-in range of a metric on a device kind.
func Default(kind, metric string) (Range, bool) {
	if r, ok := byKind[kind][metric]; ok {
		return r, true
	}
	r, ok := byMetric[metric]
	return r, ok
}

// sentinels are codes sensors send instead of a value. Each also appears
// scaled by 1/10 and 1/100, as drivers that divide a raw register pass it
// on.
var sentinels = []float64{-127, -999, -32768, 32767, 65535}

// temperatureSentinel is the DS18B20's power-on register value: a probe
// read before its first conversion reports exactly 85.0 °C.
const temperatureSentinel = 85.0

// Sentinel names the code v is, or "" when it is none. 85.0 counts only
// for temperatures.
func Sentinel(metric string, v float64) string {
	if metric == "temperature" && v == temperatureSentinel {
		return "85.0 (DS18B20 power-on value)"
	}
	for _, s := range sentinels {
		for _, scale := range []float64{1, 10, 100} {
			if v == s/scale {
				return fmt.Sprintf("%g (sensor error code)", v)
			}
		}
	}
	return ""
}

// Check returns why v is no plausible reading of metric in range r, or ""
// when it is one.
func Check(metric string, v float64, r Range) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprintf("%g is not a number", v)
	case Sentinel(metric, v) != "":
		return "sentinel " + Sentinel(metric, v)
	case !r.Contains(v):
		return fmt.Sprintf("%g outside the plausible range %g…%g", v, r.Min, r.Max)
	}
	return ""
}
