// Package jsonpath picks single values out of JSON documents sent by
// sensors (HTTP answers, MQTT payloads). It is deliberately small: the
// sensors we meet send flat or shallow objects, and a technician types the
// path into a form, so dotted keys with numeric array indices are enough.
package jsonpath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Path is a parsed path: one key or array index per step.
type Path []string

// Parse splits "a.b[0].c", "a.b.0.c" or "$.a.b" into steps.
func Parse(p string) (Path, error) {
	if p == "" {
		return nil, fmt.Errorf("empty path")
	}
	s := strings.ReplaceAll(p, "[", ".")
	s = strings.ReplaceAll(s, "]", "")
	steps := strings.Split(strings.TrimPrefix(s, "$."), ".")
	for _, st := range steps {
		if st == "" {
			return nil, fmt.Errorf("empty step in path %q", p)
		}
	}
	return steps, nil
}

// String joins the steps with dots.
func (p Path) String() string { return strings.Join(p, ".") }

// Lookup walks a decoded document along the path.
func (p Path) Lookup(doc any) (any, error) {
	cur := doc
	for i, s := range p {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[s]
			if !ok {
				return nil, fmt.Errorf("no key %q at %q", s, p[:i].String())
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n >= len(v) {
				return nil, fmt.Errorf("index %q out of range (length %d) at %q", s, len(v), p[:i].String())
			}
			cur = v[n]
		default:
			return nil, fmt.Errorf("cannot step into %T with %q at %q", cur, s, p[:i].String())
		}
	}
	return cur, nil
}

// Number converts a JSON leaf to a finite reading. Numbers in strings
// ("21.5") are accepted because several cheap sensors quote them; booleans
// count as 0 and 1; null, NaN and infinities are refused.
func Number(v any) (float64, error) {
	var f float64
	var err error
	switch x := v.(type) {
	case json.Number:
		f, err = x.Float64()
	case float64:
		f = x
	case bool:
		if x {
			f = 1
		}
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			err = fmt.Errorf("%q is not a number", x)
		}
	case nil:
		err = fmt.Errorf("value is null")
	default:
		err = fmt.Errorf("value is a %T, not a number", v)
	}
	if err != nil {
		return 0, err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not a finite number", f)
	}
	return f, nil
}

// Decode parses one JSON document, keeping numbers as json.Number, and
// refuses trailing data.
func Decode(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON document")
	}
	return doc, nil
}
