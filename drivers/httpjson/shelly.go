package httpjson

import (
	"fmt"
	"strings"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/internal/jsonpath"
)

// shellyField is one reading inside a component's status object.
type shellyField struct {
	path   []string
	suffix string // appended to the component's name; "" for the value itself
	unit   string
	flag   bool // a boolean metric rather than a number
}

// shellyFields says where each supported component keeps its readings,
// following the Gen2 API documentation of the status objects.
var shellyFields = map[string][]shellyField{
	// {"id":0,"tC":5.8,"tF":42.4}
	"Temperature": {{path: []string{"tC"}, unit: "°C"}},
	// {"id":0,"rh":47.3}
	"Humidity": {{path: []string{"rh"}, unit: "%"}},
	// {"id":0,"source":"init","output":true,"apower":85.2,"voltage":230.1,...}
	"Switch": {
		{path: []string{"output"}, suffix: ".output", flag: true},
		{path: []string{"apower"}, suffix: ".power", unit: "W"},
		{path: []string{"voltage"}, suffix: ".voltage", unit: "V"},
		{path: []string{"current"}, suffix: ".current", unit: "A"},
		{path: []string{"freq"}, suffix: ".frequency", unit: "Hz"},
		{path: []string{"aenergy", "total"}, suffix: ".energy", unit: "Wh"},
		{path: []string{"temperature", "tC"}, suffix: ".temperature", unit: "°C"},
	},
	// {"id":0,"battery":{"V":5.98,"percent":100},"external":{"present":false}}
	"DevicePower": {
		{path: []string{"battery", "percent"}, suffix: ".charge", unit: "%"},
		{path: []string{"battery", "V"}, suffix: ".voltage", unit: "V"},
		{path: []string{"external", "present"}, suffix: ".external_power", flag: true},
	},
}

// parseShelly turns a component's GetStatus answer into metrics. Fields the
// model does not have (a Plus 1 has no power meter) are simply absent; a
// field present as null (a disconnected add-on probe) or an "errors" list
// becomes a condition, because the operator must learn that the probe in
// the fridge stopped measuring.
func parseShelly(k Component, body []byte) ([]drivers.Metric, []drivers.Condition, error) {
	doc, err := jsonpath.Decode(body)
	if err != nil {
		return nil, nil, fmt.Errorf("decode %s:%d status: %w", k.Type, k.ID, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("%s:%d status is a %T, not an object", k.Type, k.ID, doc)
	}
	var ms []drivers.Metric
	var cs []drivers.Condition
	var broken []string
	for _, f := range shellyFields[k.Type] {
		v, err := jsonpath.Path(f.path).Lookup(obj)
		if err != nil {
			continue // the model lacks this reading
		}
		if v == nil {
			broken = append(broken, strings.Join(f.path, "."))
			continue
		}
		if f.flag {
			b, ok := v.(bool)
			if !ok {
				return nil, nil, fmt.Errorf("%s:%d %s is a %T, not a boolean", k.Type, k.ID, strings.Join(f.path, "."), v)
			}
			ms = append(ms, drivers.Flag(k.Name+f.suffix, b))
			continue
		}
		n, err := jsonpath.Number(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d %s: %w", k.Type, k.ID, strings.Join(f.path, "."), err)
		}
		ms = append(ms, drivers.Num(k.Name+f.suffix, n, f.unit))
	}
	var errs []string
	if e, ok := obj["errors"].([]any); ok {
		for _, x := range e {
			errs = append(errs, fmt.Sprint(x))
		}
	}
	if len(errs) > 0 || len(broken) > 0 {
		msg := fmt.Sprintf("Shelly %s:%d reports", k.Type, k.ID)
		if len(errs) > 0 {
			msg += " errors " + strings.Join(errs, ", ")
		}
		if len(broken) > 0 {
			if len(errs) > 0 {
				msg += " and"
			}
			msg += " no value for " + strings.Join(broken, ", ")
		}
		cs = append(cs, drivers.Condition{Name: "shelly." + k.Name + ".error", Severity: drivers.Major, Message: msg + "."})
	}
	return ms, cs, nil
}
