package jsonpath

import (
	"fmt"

	"github.com/praxisgate/praxisgate/drivers"
)

// Value is one reading picked out of a JSON document by a path. The
// httpjson and mqttsensor drivers share it, so a technician writes the same
// `values:` entries for an HTTP sensor and an MQTT one.
type Value struct {
	// Name is the metric name.
	Name string `yaml:"name"`
	// Path is a dotted path into the document; numbers index arrays:
	// "sensors.0.temperature" or "sensors[0].temperature".
	Path string `yaml:"path"`
	// Unit is the metric's unit.
	Unit string `yaml:"unit"`
	// Scale multiplies the value (0 means 1); Offset is added afterwards.
	Scale  float64 `yaml:"scale"`
	Offset float64 `yaml:"offset"`
}

// CheckValues checks a `values:` list: every name given and unique (also
// against names already taken, which it extends), every path parseable. It
// sets a zero Scale to 1, and reports problems as *drivers.FieldError at
// values[i].
func CheckValues(values []Value, taken map[string]bool) []error {
	var errs []error
	for i := range values {
		v := &values[i]
		field := func(key string) string { return fmt.Sprintf("values[%d].%s", i, key) }
		if v.Name == "" {
			errs = append(errs, drivers.Fieldf(field("name"), "required"))
		} else if taken[v.Name] {
			errs = append(errs, drivers.Fieldf(field("name"), "%q is used twice", v.Name))
		}
		taken[v.Name] = true
		if _, err := Parse(v.Path); err != nil {
			errs = append(errs, drivers.Fieldf(field("path"), "%v", err))
		}
		if v.Scale == 0 {
			v.Scale = 1
		}
	}
	return errs
}

// Paths parses the paths of values that passed CheckValues, in order.
func Paths(values []Value) []Path {
	out := make([]Path, len(values))
	for i, v := range values {
		out[i], _ = Parse(v.Path)
	}
	return out
}

// Read finds v in a decoded document along p and returns it scaled.
func (v Value) Read(doc any, p Path) (float64, error) {
	raw, err := p.Lookup(doc)
	if err != nil {
		return 0, err
	}
	n, err := Number(raw)
	if err != nil {
		return 0, err
	}
	return n*v.Scale + v.Offset, nil
}
