package config

import (
	"strings"
	"testing"
	"time"
)

// parseWithAlarmChecks runs the loader and then the checks of alarms.go
// explicitly, so they are tested whether or not validate calls them yet.
func parseWithAlarmChecks(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	l := &loader{d: newDecoder("/etc/praxisgate"), dir: "/etc/praxisgate", cfg: &Config{}}
	l.run([]byte(yaml))
	l.validateFridge()
	l.validateStale()
	if probs := l.d.finish(); len(probs) > 0 {
		return nil, &Errors{File: "praxisgate.yaml", List: probs}
	}
	return l.cfg, nil
}

func TestFridgeAndStaleKeys(t *testing.T) {
	base := "site: s\ngateway: g\nuplink: {broker: \"tcp://127.0.0.1:1883\"}\n" +
		"devices:\n  - {id: kuehlschrank, driver: testdrv, kind: fridge, interval: 30s, testdrv: {port: 1}}\n"
	tests := []struct {
		name    string
		extra   string
		check   func(*Config) string
		problem string
	}{
		{name: "defaults", check: func(c *Config) string {
			f := c.Fridge.Effective()
			if *f.Low != 2 || *f.High != 8 || *f.Delay != 15*time.Minute || *f.Hysteresis != 0.5 || f.Severity != "critical" ||
				f.Metric != "temperature" || f.StaleFor(30*time.Second) != 5*time.Minute || f.StaleFor(10*time.Minute) != 30*time.Minute {
				return "unexpected defaults"
			}
			return ""
		}},
		{name: "own profile", extra: "fridge: {low: 2.5, high: 7.5, delay: 20m, hysteresis: 0.2, severity: major, stale_after: 10m}\n",
			check: func(c *Config) string {
				f := c.Fridge.Effective()
				if *f.Low != 2.5 || *f.High != 7.5 || *f.Delay != 20*time.Minute || *f.Hysteresis != 0.2 || f.Severity != "major" || f.StaleFor(time.Hour) != 10*time.Minute {
					return "profile not taken"
				}
				return ""
			}},
		{name: "stale_after on a rule", extra: "alarms:\n  - {device: kuehlschrank, metric: temperature, above: 8, stale_after: 90s}\n",
			check: func(c *Config) string {
				if c.Alarms[0].StaleAfter != 90*time.Second {
					return "stale_after not decoded"
				}
				return ""
			}},
		{name: "band upside down", extra: "fridge: {low: 8, high: 2}\n", problem: "fridge.high: must be greater than low (8), got 2"},
		{name: "negative delay", extra: "fridge: {delay: -1m}\n", problem: "fridge.delay: must be ≥ 0"},
		{name: "negative hysteresis", extra: "fridge: {hysteresis: -0.5}\n", problem: "fridge.hysteresis: must be ≥ 0"},
		{name: "info severity", extra: "fridge: {severity: info}\n", problem: "fridge.severity: want critical, major or minor"},
		{name: "stale too short", extra: "alarms:\n  - {device: kuehlschrank, metric: temperature, above: 8, stale_after: 10ms}\n",
			problem: "alarms[0].stale_after: must be ≥ 1s"},
		{name: "unknown fridge key", extra: "fridge: {door_delay: 5m}\n", problem: "fridge.door_delay: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseWithAlarmChecks(t, base+tt.extra)
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("want problem %q, got %v", tt.problem, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(cfg); msg != "" {
				t.Fatalf("%s: %+v", msg, cfg.Fridge)
			}
		})
	}
}
