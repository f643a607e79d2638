package config

import (
	"strings"
	"testing"
)

func TestPlausibleKey(t *testing.T) {
	base := "site: s\ngateway: g\nuplink: {broker: \"tcp://127.0.0.1:1883\"}\n" +
		"devices:\n  - id: kuehlschrank\n    driver: testdrv\n    kind: fridge\n    testdrv: {port: 1}\n"
	tests := []struct {
		name    string
		extra   string
		problem string
		check   func(*Config) bool
	}{
		{name: "absent", check: func(c *Config) bool { return c.Devices[0].Plausible == nil }},
		{name: "ultra-low freezer", extra: "    plausible: {temperature: {min: -100}}\n", check: func(c *Config) bool {
			p := c.Devices[0].Plausible["temperature"]
			return p.Min != nil && *p.Min == -100 && p.Max == nil
		}},
		{name: "zero is a bound", extra: "    plausible: {humidity: {min: 0, max: 0.5}}\n", check: func(c *Config) bool {
			p := c.Devices[0].Plausible["humidity"]
			return p.Min != nil && *p.Min == 0 && *p.Max == 0.5
		}},
		{name: "upside down", extra: "    plausible: {temperature: {min: 10, max: -10}}\n",
			problem: "devices[0].plausible.temperature.max: must be greater than min (10), got -10"},
		{name: "unknown key", extra: "    plausible: {temperature: {low: 1}}\n", problem: "devices[0].plausible.temperature.low: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &loader{d: newDecoder("/etc/praxisgate"), dir: "/etc/praxisgate", cfg: &Config{}}
			l.run([]byte(base + tt.extra))
			l.validatePlausible()
			probs := l.d.finish()
			if tt.problem != "" {
				err := (&Errors{File: "praxisgate.yaml", List: probs}).Error()
				if len(probs) == 0 || !strings.Contains(err, tt.problem) {
					t.Fatalf("want problem %q, got %v", tt.problem, probs)
				}
				return
			}
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			if !tt.check(l.cfg) {
				t.Fatalf("decoded %+v", l.cfg.Devices[0].Plausible)
			}
		})
	}
}
