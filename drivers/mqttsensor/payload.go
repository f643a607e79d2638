package mqttsensor

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/internal/jsonpath"
)

// reading is what one payload yields.
type reading struct {
	metrics    []drivers.Metric
	conditions []drivers.Condition
}

// tasmotaFields maps the fields Tasmota's sensor drivers use inside a
// sensor object to metric names, units and a factor to SI.
var tasmotaFields = []struct {
	key, name, unit string
	factor          float64
	temperature     bool // follows TempUnit
}{
	{"Temperature", "temperature", "°C", 1, true},
	{"Humidity", "humidity", "%", 1, false},
	{"DewPoint", "dewpoint", "°C", 1, true},
	{"Pressure", "pressure", "Pa", 100, false}, // Tasmota sends hPa
}

// parseTasmota reads a tele/<topic>/SENSOR payload, e.g.
//
//	{"Time":"2024-03-08T14:12:31","DS18B20":{"Id":"3C01D607C2F4","Temperature":4.8},"TempUnit":"C"}
//
// Every object-valued key is one sensor (DS18B20, AM2301, BME280,
// DS18B20-1...) plus ENERGY for power-metering plugs. With a single
// temperature sensor the metric is "temperature"; with several it is
// "temperature.<sensor>" so each probe keeps its own name.
func parseTasmota(payload []byte) (reading, error) {
	doc, err := jsonpath.Decode(payload)
	if err != nil {
		return reading{}, fmt.Errorf("decode Tasmota SENSOR payload: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return reading{}, fmt.Errorf("Tasmota SENSOR payload is a %T, not an object", doc)
	}
	fahrenheit := obj["TempUnit"] == "F"
	var sensors []string
	for k, v := range obj {
		if _, ok := v.(map[string]any); ok && k != "ENERGY" {
			sensors = append(sensors, k)
		}
	}
	sort.Strings(sensors)
	var r reading
	count := map[string]int{}
	for _, s := range sensors {
		for _, f := range tasmotaFields {
			if _, ok := obj[s].(map[string]any)[f.key]; ok {
				count[f.name]++
			}
		}
	}
	for _, s := range sensors {
		so := obj[s].(map[string]any)
		for _, f := range tasmotaFields {
			raw, ok := so[f.key]
			if !ok {
				continue
			}
			v, err := jsonpath.Number(raw)
			if err != nil {
				return reading{}, fmt.Errorf("%s.%s: %w", s, f.key, err)
			}
			if f.temperature && fahrenheit {
				v = (v - 32) * 5 / 9
			}
			name := f.name
			if count[f.name] > 1 {
				name += "." + strings.ToLower(s)
			}
			r.metrics = append(r.metrics, drivers.Num(name, v*f.factor, f.unit))
		}
	}
	if e, ok := obj["ENERGY"].(map[string]any); ok {
		for _, f := range []struct {
			key, name, unit string
			factor          float64
		}{
			{"Power", "power", "W", 1},
			{"Voltage", "voltage", "V", 1},
			{"Current", "current", "A", 1},
			{"Factor", "power_factor", "", 1},
			{"Total", "energy", "Wh", 1000}, // Tasmota counts kWh
		} {
			raw, ok := e[f.key]
			if !ok {
				continue
			}
			v, err := jsonpath.Number(raw)
			if err != nil {
				return reading{}, fmt.Errorf("ENERGY.%s: %w", f.key, err)
			}
			r.metrics = append(r.metrics, drivers.Num(f.name, v*f.factor, f.unit))
		}
	}
	if len(r.metrics) == 0 {
		return reading{}, fmt.Errorf("Tasmota SENSOR payload holds no reading this driver knows")
	}
	return r, nil
}

// z2mFields maps zigbee2mqtt's exposed properties (its converters use the
// same names for every vendor) to metrics.
var z2mFields = []struct {
	key, name, unit string
	factor          float64
	flag            bool
}{
	{"temperature", "temperature", "°C", 1, false},
	{"humidity", "humidity", "%", 1, false},
	{"pressure", "pressure", "Pa", 100, false}, // hPa
	{"contact", "contact", "", 1, true},        // true = closed
	{"water_leak", "water_leak", "", 1, true},
	{"occupancy", "occupancy", "", 1, true},
	{"battery", "battery.charge", "%", 1, false},
	{"voltage", "battery.voltage", "V", 0.001, false}, // mV
	{"device_temperature", "device.temperature", "°C", 1, false},
	{"linkquality", "linkquality", "", 1, false},
}

// parseZ2M reads a zigbee2mqtt/<friendly name> payload, e.g.
//
//	{"battery":91,"humidity":47.61,"linkquality":105,"pressure":1009.8,"temperature":5.21,"voltage":2985}
//
// A water leak and a low battery are states the operator must see, so they
// also become conditions.
func parseZ2M(payload []byte) (reading, error) {
	doc, err := jsonpath.Decode(payload)
	if err != nil {
		return reading{}, fmt.Errorf("decode zigbee2mqtt payload: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return reading{}, fmt.Errorf("zigbee2mqtt payload is a %T, not an object", doc)
	}
	var r reading
	for _, f := range z2mFields {
		raw, ok := obj[f.key]
		if !ok || raw == nil {
			continue // zigbee2mqtt sends null for properties not yet reported
		}
		if f.flag {
			b, ok := raw.(bool)
			if !ok {
				return reading{}, fmt.Errorf("%s is a %T, not a boolean", f.key, raw)
			}
			r.metrics = append(r.metrics, drivers.Flag(f.name, b))
			continue
		}
		v, err := jsonpath.Number(raw)
		if err != nil {
			return reading{}, fmt.Errorf("%s: %w", f.key, err)
		}
		r.metrics = append(r.metrics, drivers.Num(f.name, v*f.factor, f.unit))
	}
	if obj["water_leak"] == true {
		r.conditions = append(r.conditions, drivers.Condition{Name: "water_leak", Severity: drivers.Critical, Message: "The water sensor reports a leak."})
	}
	if obj["battery_low"] == true {
		r.conditions = append(r.conditions, drivers.Condition{Name: "battery.low", Severity: drivers.Minor, Message: "The sensor reports a low battery."})
	}
	if len(r.metrics) == 0 {
		return reading{}, fmt.Errorf("zigbee2mqtt payload holds no reading this driver knows")
	}
	return r, nil
}

// parseValues picks configured values by path. Values that are missing
// are skipped: zigbee2mqtt and Tasmota do not repeat every field in every
// message, and a missing one is caught by staleness, not by failing the
// whole payload.
func parseValues(values []Value, paths []jsonpath.Path, payload []byte) (reading, error) {
	doc, err := jsonpath.Decode(payload)
	if err != nil {
		return reading{}, fmt.Errorf("decode payload: %w", err)
	}
	var r reading
	for i, v := range values {
		raw, err := paths[i].Lookup(doc)
		if err != nil {
			continue
		}
		n, err := jsonpath.Number(raw)
		if err != nil {
			return reading{}, fmt.Errorf("%s at %q: %w", v.Name, v.Path, err)
		}
		r.metrics = append(r.metrics, drivers.Num(v.Name, n*v.Scale+v.Offset, v.Unit))
	}
	if len(r.metrics) == 0 {
		return reading{}, fmt.Errorf("payload holds none of the configured values")
	}
	return r, nil
}

// parseAvailability reads Tasmota's LWT ("Online"/"Offline") or
// zigbee2mqtt's availability ({"state":"online"} or, before 1.30, the bare
// word).
func parseAvailability(payload []byte) (online bool, err error) {
	s := strings.TrimSpace(string(payload))
	var obj struct {
		State string `json:"state"`
	}
	if strings.HasPrefix(s, "{") {
		if err := json.Unmarshal(payload, &obj); err != nil {
			return false, fmt.Errorf("decode availability: %w", err)
		}
		s = obj.State
	}
	switch strings.ToLower(s) {
	case "online":
		return true, nil
	case "offline":
		return false, nil
	}
	return false, fmt.Errorf("availability %q is neither online nor offline", s)
}
