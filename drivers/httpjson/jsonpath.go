package httpjson

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parsePath splits "a.b[0].c" or "a.b.0.c" into its steps. It is
// deliberately small: the sensors we meet answer flat or shallow JSON, and a
// technician types the path into a form.
func parsePath(p string) ([]string, error) {
	if p == "" {
		return nil, fmt.Errorf("empty path")
	}
	p = strings.ReplaceAll(p, "[", ".")
	p = strings.ReplaceAll(p, "]", "")
	steps := strings.Split(strings.TrimPrefix(p, "$."), ".")
	for _, s := range steps {
		if s == "" {
			return nil, fmt.Errorf("empty step in path %q", p)
		}
	}
	return steps, nil
}

// lookup walks a decoded JSON document along steps.
func lookup(doc any, steps []string) (any, error) {
	cur := doc
	for i, s := range steps {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[s]
			if !ok {
				return nil, fmt.Errorf("no key %q at %s", s, strings.Join(steps[:i], "."))
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n >= len(v) {
				return nil, fmt.Errorf("index %q out of range (length %d) at %s", s, len(v), strings.Join(steps[:i], "."))
			}
			cur = v[n]
		default:
			return nil, fmt.Errorf("cannot step into %T with %q at %s", cur, s, strings.Join(steps[:i], "."))
		}
	}
	return cur, nil
}

// number converts a JSON leaf to a reading. Numbers in strings ("21.5") are
// accepted because several cheap sensors quote them; booleans count 0/1.
func number(v any) (float64, error) {
	f, err := rawNumber(v)
	if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return 0, fmt.Errorf("%v is not a finite number", f)
	}
	return f, err
}

func rawNumber(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Float64()
	case float64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return f, nil
	case nil:
		return 0, fmt.Errorf("value is null")
	}
	return 0, fmt.Errorf("value is a %T, not a number", v)
}

// decodeJSON parses a document keeping numbers exact.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(body)))
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
