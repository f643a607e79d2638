package config

import (
	"strings"
	"testing"
	"time"
)

func TestCalibrationAndDailyCheckKeys(t *testing.T) {
	base := "site: s\ngateway: g\nuplink: {broker: \"tcp://127.0.0.1:1883\"}\n" +
		"devices:\n  - id: kuehlschrank\n    driver: testdrv\n    kind: fridge\n    testdrv: {port: 1}\n"
	tests := []struct {
		name    string
		device  string // lines under the device
		fridge  string // the fridge: section
		problem string
		check   func(*Config) bool
	}{
		{name: "absent", check: func(c *Config) bool {
			_, ok := c.Fridge.CheckBy()
			return c.Devices[0].Calibration == nil && !ok
		}},
		{name: "offset and due", device: "    calibration: {offset: -0.3, due: 2027-03-01}\n", check: func(c *Config) bool {
			k := c.Devices[0].Calibration
			return k != nil && k.Offset != nil && *k.Offset == -0.3 && k.Due == "2027-03-01"
		}},
		{name: "zero offset is a value", device: "    calibration: {offset: 0}\n", check: func(c *Config) bool {
			k := c.Devices[0].Calibration
			return k != nil && k.Offset != nil && *k.Offset == 0 && k.Due == ""
		}},
		{name: "due only", device: "    calibration: {due: \"2027-03-01\"}\n", check: func(c *Config) bool {
			k := c.Devices[0].Calibration
			return k != nil && k.Offset == nil && k.Due == "2027-03-01"
		}},
		{name: "offset too large", device: "    calibration: {offset: 30}\n", problem: "devices[0].calibration.offset: want an offset in °C between -5 and 5, got 30"},
		{name: "bad date", device: "    calibration: {due: 01.03.2027}\n", problem: `devices[0].calibration.due: want a date YYYY-MM-DD, got "01.03.2027"`},
		{name: "empty section", device: "    calibration: {}\n", problem: "devices[0].calibration: set offset, due or both"},
		{name: "unknown key", device: "    calibration: {offset: 0.1, faellig: 2027-01-01}\n", problem: "devices[0].calibration.faellig: unknown key"},
		{name: "check by ten", fridge: "fridge: {daily_check_by: \"10:00\"}\n", check: func(c *Config) bool {
			d, ok := c.Fridge.CheckBy()
			return ok && d == 10*time.Hour
		}},
		{name: "check by midnight is a time", fridge: "fridge: {daily_check_by: \"00:00\"}\n", check: func(c *Config) bool {
			d, ok := c.Fridge.CheckBy()
			return ok && d == 0
		}},
		{name: "check time unquoted", fridge: "fridge: {daily_check_by: 09:30}\n", check: func(c *Config) bool {
			d, ok := c.Fridge.CheckBy()
			return ok && d == 9*time.Hour+30*time.Minute
		}},
		{name: "check time out of range", fridge: "fridge: {daily_check_by: \"24:00\"}\n", problem: `fridge.daily_check_by: want a time of day HH:MM, got "24:00"`},
		{name: "check time without minutes", fridge: "fridge: {daily_check_by: \"9\"}\n", problem: `fridge.daily_check_by: want a time of day HH:MM, got "9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &loader{d: newDecoder("/etc/praxisgate"), dir: "/etc/praxisgate", cfg: &Config{}}
			l.run([]byte(base + tt.device + tt.fridge))
			l.validateCalibration()
			l.validateFridge()
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
				t.Fatalf("decoded %+v %+v", l.cfg.Devices[0].Calibration, l.cfg.Fridge)
			}
		})
	}
}
