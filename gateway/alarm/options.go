package alarm

import (
	"log/slog"
	"path/filepath"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// Options build an Engine.
type Options struct {
	// Rules are the threshold rules, usually Rules(cfg).
	Rules []config.AlarmRule
	// Devices give powered_by (correlation) and the poll interval and
	// unreachable_after (the patience after a power cut ends).
	Devices []config.Device
	// StateFile persists the active set; empty: no persistence.
	StateFile string
	Log       *slog.Logger
}

// StateFileName is the engine's file below state_dir.
const StateFileName = "alarms.json"

// FromConfig builds the engine the gateway runs: the config's rules plus
// the fridge profile's default rules, devices for correlation, and the
// active set persisted in <state_dir>/alarms.json.
func FromConfig(cfg *config.Config, log *slog.Logger) (*Engine, error) {
	return NewEngine(Options{Rules: Rules(cfg), Devices: cfg.Devices,
		StateFile: filepath.Join(cfg.StateDir, StateFileName), Log: log})
}

// Rules returns the config's alarm rules followed by a default band rule
// for every enabled fridge that has no rule of its own on the fridge
// metric. A fridge rule in the config without stale_after gets the
// profile's stale time too, since a silent vaccine fridge sensor is as
// dangerous as a warm one.
func Rules(cfg *config.Config) []config.AlarmRule {
	fp := cfg.Fridge.Effective()
	rules := make([]config.AlarmRule, 0, len(cfg.Alarms))
	own := map[string]bool{}
	for _, r := range cfg.Alarms {
		own[r.Device+"\x00"+r.Metric] = true
		rules = append(rules, r)
	}
	for _, d := range cfg.Devices {
		if d.Disabled || d.Kind != config.FridgeKind {
			continue
		}
		if own[d.ID+"\x00"+fp.Metric] {
			for i := range rules {
				if rules[i].Device == d.ID && rules[i].Metric == fp.Metric && rules[i].StaleAfter == 0 {
					rules[i].StaleAfter = fp.StaleFor(d.Interval)
				}
			}
			continue
		}
		low, high := *fp.Low, *fp.High
		rules = append(rules, config.AlarmRule{Device: d.ID, Metric: fp.Metric, Above: &high, Below: &low,
			For: *fp.Delay, Hysteresis: *fp.Hysteresis, Severity: fp.Severity, StaleAfter: fp.StaleFor(d.Interval)})
	}
	return rules
}
