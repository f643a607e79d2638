package integrations

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// errNoMatch is Zabbix's "no data matches the specified path".
var errNoMatch = errors.New("no data matches the specified path")

// zabbixJSONPath evaluates the part of Zabbix's JSONPath preprocessing the
// template uses, on the Zabbix server's terms: member access ($.a.b), the
// wildcard [*], a filter [?(@.k == "v")], and the functions length() and
// first() at the end. A path outside that subset is an error, so the
// template cannot drift past what this test checks. A path that matches
// nothing is errNoMatch (Zabbix then applies the step's error handler).
// Strings come out unquoted, numbers as their JSON text, anything else and
// an indefinite result as JSON.
func zabbixJSONPath(doc, path string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return "", fmt.Errorf("value is not JSON: %w", err)
	}
	if !strings.HasPrefix(path, "$") {
		return "", fmt.Errorf("path %q: must start with $", path)
	}
	rest := path[1:]
	nodes := []any{root}
	definite := true
	fn := ""
	for rest != "" {
		switch {
		case rest == ".length()" || rest == ".first()":
			fn, rest = rest[1:len(rest)-2], ""
		case strings.HasPrefix(rest, "[*]"):
			rest = rest[3:]
			definite = false
			var next []any
			for _, n := range nodes {
				if a, ok := n.([]any); ok {
					next = append(next, a...)
				}
			}
			nodes = next
		case strings.HasPrefix(rest, "[?("):
			m := filterSeg.FindStringSubmatch(rest)
			if m == nil {
				return "", fmt.Errorf("path %q: filter %q outside the supported @.name == \"value\"", path, rest)
			}
			rest = rest[len(m[0]):]
			field, want := m[1], m[2]+m[3]
			definite = false
			var next []any
			for _, n := range nodes {
				a, _ := n.([]any)
				for _, e := range a {
					if obj, ok := e.(map[string]any); ok {
						if s, ok := obj[field].(string); ok && s == want {
							next = append(next, e)
						}
					}
				}
			}
			nodes = next
		case strings.HasPrefix(rest, "."):
			m := memberSeg.FindStringSubmatch(rest)
			if m == nil {
				return "", fmt.Errorf("path %q: segment %q not supported", path, rest)
			}
			rest = rest[len(m[0]):]
			var next []any
			for _, n := range nodes {
				if obj, ok := n.(map[string]any); ok {
					if v, ok := obj[m[1]]; ok {
						next = append(next, v)
					}
				}
			}
			nodes = next
		default:
			return "", fmt.Errorf("path %q: segment %q not supported", path, rest)
		}
	}
	switch fn {
	case "length":
		if definite {
			if len(nodes) != 1 {
				return "", errNoMatch
			}
			a, ok := nodes[0].([]any)
			if !ok {
				return "", fmt.Errorf("length() of a non-array")
			}
			return fmt.Sprint(len(a)), nil
		}
		if len(nodes) == 0 {
			return "", errNoMatch
		}
		return fmt.Sprint(len(nodes)), nil
	case "first":
		if len(nodes) == 0 {
			return "", errNoMatch
		}
		return scalar(nodes[0])
	}
	if len(nodes) == 0 {
		return "", errNoMatch
	}
	if definite {
		return scalar(nodes[0])
	}
	b, err := json.Marshal(nodes)
	return string(b), err
}

var (
	memberSeg = regexp.MustCompile(`^\.([A-Za-z0-9_]+)`)
	filterSeg = regexp.MustCompile(`^\[\?\(@\.([A-Za-z0-9_]+) *== *(?:"([^"]*)"|'([^']*)')\)\]`)
)

func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return "", err
		}
		return strings.TrimSpace(b.String()), nil
	}
}

func TestZabbixJSONPath(t *testing.T) {
	doc := `{"state":"online","n":5.10,"alarms":[{"severity":"critical","message":"a"},{"severity":"major","message":"b"},{"severity":"critical","message":"c"}],
		"metrics":[{"name":"ups.status","value":"OB DISCHRG"},{"name":"battery.charge","value":90}]}`
	tests := []struct {
		path, want string
		err        error
	}{
		{"$.state", "online", nil},
		{"$.n", "5.10", nil},
		{"$.alarms.length()", "3", nil},
		{`$.alarms[?(@.severity == "critical")].length()`, "2", nil},
		{`$.alarms[?(@.severity == "minor")].length()`, "", errNoMatch},
		{"$.alarms[*].message", `["a","b","c"]`, nil},
		{`$.metrics[?(@.name == "ups.status")].value.first()`, "OB DISCHRG", nil},
		{`$.metrics[?(@.name == 'battery.charge')].value.first()`, "90", nil},
		{`$.metrics[?(@.name == "input.voltage")].value.first()`, "", errNoMatch},
		{"$.missing", "", errNoMatch},
	}
	for _, tc := range tests {
		got, err := zabbixJSONPath(doc, tc.path)
		if !errors.Is(err, tc.err) && !(tc.err == nil && err == nil) {
			t.Errorf("%s: err %v, want %v", tc.path, err, tc.err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.path, got, tc.want)
		}
	}
	for _, bad := range []string{"$..state", "$.alarms[0]", `$.alarms[?(@.severity != "x")]`, "state"} {
		if _, err := zabbixJSONPath(doc, bad); err == nil || errors.Is(err, errNoMatch) {
			t.Errorf("%s: want an unsupported-path error, got %v", bad, err)
		}
	}
}
