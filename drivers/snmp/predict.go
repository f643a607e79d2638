package snmp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Predictive warnings (issue 5): "volume X full in N days" and "toner empty
// in N days", from a least-squares line through the metric's recent values,
// the same idea as Prometheus' predict_linear. The provider wants these days
// ahead, while a technician can still order toner or a disk.

// forecastRule says which metrics to extrapolate and towards what value.
type forecastRule struct {
	prefix, suffix string
	target         float64
	// what names the thing in the message.
	what func(metric string) string
	verb string
}

var forecastRules = []forecastRule{
	{prefix: "storage.", suffix: ".used_percent", target: 100, verb: "full",
		what: func(m string) string {
			return "volume " + strings.TrimSuffix(strings.TrimPrefix(m, "storage."), ".used_percent")
		}},
	// Before ".percent": a receptacle's space left reaching 0 is full.
	{prefix: "printer.supply.", suffix: ".space_percent", target: 0, verb: "full",
		what: func(m string) string {
			return "receptacle " + strings.TrimSuffix(strings.TrimPrefix(m, "printer.supply."), ".space_percent")
		}},
	{prefix: "printer.supply.", suffix: ".percent", target: 0, verb: "empty",
		what: func(m string) string {
			return "supply " + strings.TrimSuffix(strings.TrimPrefix(m, "printer.supply."), ".percent")
		}},
}

type point struct {
	t time.Time
	v float64
}

// forecaster keeps a bounded series per metric.
type forecaster struct {
	window  time.Duration
	horizon time.Duration
	// minSpan is how much history a forecast needs, so two noisy points
	// right after start do not predict doom.
	minSpan time.Duration
	series  map[string][]point
	// warned remembers the last warning per metric so one forecast is
	// published once a day, not at every poll.
	warned map[string]time.Time
}

// maxPoints bounds memory per series; points closer than window/maxPoints
// replace their predecessor.
const maxPoints = 256

func newForecaster(window, horizon time.Duration) *forecaster {
	return &forecaster{
		window: window, horizon: horizon, minSpan: window / 4,
		series: map[string][]point{}, warned: map[string]time.Time{},
	}
}

func (f *forecaster) rule(name string) (forecastRule, bool) {
	for _, r := range forecastRules {
		if strings.HasPrefix(name, r.prefix) && strings.HasSuffix(name, r.suffix) {
			return r, true
		}
	}
	return forecastRule{}, false
}

// observe adds this poll's metrics and returns the warnings due now.
func (f *forecaster) observe(now time.Time, ms []drivers.Metric) []drivers.Event {
	if f.window <= 0 {
		return nil
	}
	var evs []drivers.Event
	for _, m := range ms {
		r, ok := f.rule(m.Name)
		if !ok {
			continue
		}
		v, ok := m.Float()
		if !ok {
			continue
		}
		s := f.add(m.Name, point{now, v})
		when, ok := predictCross(s, r.target, f.minSpan)
		if !ok || when.Before(now) || when.Sub(now) > f.horizon {
			continue
		}
		if last, ok := f.warned[m.Name]; ok && now.Sub(last) < 24*time.Hour {
			continue
		}
		f.warned[m.Name] = now
		days := int(math.Ceil(when.Sub(now).Hours() / 24))
		sev := drivers.Minor
		if days <= 3 {
			sev = drivers.Major
		}
		evs = append(evs, drivers.Event{
			Time:     now,
			Type:     "snmp.forecast",
			Severity: sev,
			Message:  fmt.Sprintf("%s %s in %d days (around %s)", r.what(m.Name), r.verb, days, when.UTC().Format("2006-01-02")),
			Attrs: map[string]any{
				"metric":   m.Name,
				"target":   r.target,
				"forecast": when.UTC().Format(time.RFC3339),
				"days":     days,
			},
		})
	}
	return evs
}

func (f *forecaster) add(name string, p point) []point {
	s := f.series[name]
	cut := p.t.Add(-f.window)
	i := 0
	for i < len(s) && s[i].t.Before(cut) {
		i++
	}
	s = s[i:]
	if n := len(s); n > 0 && p.t.Sub(s[n-1].t) < f.window/maxPoints {
		s[n-1] = p
	} else {
		s = append(s, p)
	}
	if len(s) > maxPoints {
		s = s[len(s)-maxPoints:]
	}
	f.series[name] = s
	return s
}

// predictCross fits v = a + b*t by least squares and returns when the line
// reaches target, if it is heading there.
func predictCross(s []point, target float64, minSpan time.Duration) (time.Time, bool) {
	if len(s) < 3 || s[len(s)-1].t.Sub(s[0].t) < minSpan {
		return time.Time{}, false
	}
	t0 := s[0].t
	var n, sx, sy, sxx, sxy float64
	for _, p := range s {
		x := p.t.Sub(t0).Seconds()
		n++
		sx += x
		sy += p.v
		sxx += x * x
		sxy += x * p.v
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return time.Time{}, false
	}
	b := (n*sxy - sx*sy) / den
	a := (sy - b*sx) / n
	if b == 0 || math.IsNaN(b) || math.IsInf(b, 0) {
		return time.Time{}, false
	}
	x := (target - a) / b
	last := s[len(s)-1].t.Sub(t0).Seconds()
	if x < last || x > last+10*365*24*3600 {
		return time.Time{}, false
	}
	return t0.Add(time.Duration(x * float64(time.Second))), true
}

// The series behind forecasts span days, and the gateway restarts on every
// update; without keeping them a forecast would need a fresh quarter window
// after each restart. They are saved to the device's state dir now and then.

const forecastFile = "snmp-forecast.json"

type forecastState struct {
	Series map[string][]statePoint `json:"series"`
	Warned map[string]time.Time    `json:"warned"`
}

type statePoint struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// save writes the series atomically (temp file, fsync, rename).
func (f *forecaster) save(dir string) error {
	st := forecastState{Series: map[string][]statePoint{}, Warned: f.warned}
	for k, s := range f.series {
		ps := make([]statePoint, len(s))
		for i, p := range s {
			ps[i] = statePoint{p.t, p.v}
		}
		st.Series[k] = ps
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, forecastFile+".*")
	if err != nil {
		return fmt.Errorf("snmp: save forecast state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("snmp: save forecast state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("snmp: save forecast state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("snmp: save forecast state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, forecastFile)); err != nil {
		return fmt.Errorf("snmp: save forecast state: %w", err)
	}
	return nil
}

// load reads saved series; a missing file is no error. The file is input
// like any other: oversized or odd content is rejected or trimmed.
func (f *forecaster) load(dir string) error {
	fh, err := os.Open(filepath.Join(dir, forecastFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("snmp: load forecast state: %w", err)
	}
	defer fh.Close()
	var st forecastState
	if err := json.NewDecoder(io.LimitReader(fh, 8<<20)).Decode(&st); err != nil {
		return fmt.Errorf("snmp: load forecast state: %w", err)
	}
	for k, ps := range st.Series {
		if _, ok := f.rule(k); !ok {
			continue
		}
		var s []point
		for _, p := range ps {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
				continue
			}
			s = append(s, point{p.T, p.V})
		}
		if len(s) > maxPoints {
			s = s[len(s)-maxPoints:]
		}
		f.series[k] = s
	}
	for k, t := range st.Warned {
		if _, ok := f.rule(k); ok {
			f.warned[k] = t
		}
	}
	return nil
}
