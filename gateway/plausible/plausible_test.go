package plausible

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

func TestCheck(t *testing.T) {
	fridge := FridgeTemperature
	tests := []struct {
		metric string
		v      float64
		r      Range
		want   string // in the reason; "" plausible
	}{
		{"temperature", 5, fridge, ""},
		{"temperature", -40, fridge, ""},
		{"temperature", 60, fridge, ""},
		{"temperature", -25, fridge, ""},
		{"temperature", 0, fridge, ""},
		{"temperature", 85, Range{-55, 125}, "DS18B20 power-on"},
		{"temperature", 85, fridge, "DS18B20 power-on"},
		{"temperature", 84.9, Range{-55, 125}, ""},
		{"humidity", 85, Range{0, 100}, ""},
		{"temperature", -127, Range{-200, 200}, "sentinel -127"},
		{"temperature", -999, Range{-2000, 2000}, "sentinel -999"},
		{"temperature", -32768, Range{-1e9, 1e9}, "sentinel -32768"},
		{"temperature", 32767, Range{-1e9, 1e9}, "sentinel 32767"},
		{"temperature", 3276.7, Range{-1e9, 1e9}, "sentinel 3276.7"},
		{"temperature", -327.68, Range{-1e9, 1e9}, "sentinel -327.68"},
		{"humidity", 65535, Range{-1e9, 1e9}, "sentinel 65535"},
		{"temperature", 60.1, fridge, "outside the plausible range -40…60"},
		{"temperature", -40.5, fridge, "outside the plausible range"},
		{"temperature", math.NaN(), fridge, "not a number"},
		{"temperature", math.Inf(-1), fridge, "not a number"},
	}
	for _, tt := range tests {
		got := Check(tt.metric, tt.v, tt.r)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("Check(%s, %g, %v) = %q, want %q", tt.metric, tt.v, tt.r, got, tt.want)
		}
	}
}

func TestFilter(t *testing.T) {
	lo := -100.0
	c := New([]config.Device{
		{ID: "kuehlschrank", Kind: "fridge"},
		{ID: "tiefkuehl", Kind: "fridge", Plausible: map[string]config.Plausible{"temperature": {Min: &lo}}},
		{ID: "drucker", Kind: "printer"},
	})
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	sample := func(dev string, temp float64) drivers.Sample {
		return drivers.Sample{Device: dev, Time: at, Metrics: []drivers.Metric{
			drivers.Num("door.open", 0, ""), drivers.Num("temperature", temp, "°C"), drivers.Num("pages", 65535, "")}}
	}
	names := func(s drivers.Sample) string {
		var n []string
		for _, m := range s.Metrics {
			n = append(n, m.Name)
		}
		return strings.Join(n, ",")
	}
	steps := []struct {
		dev    string
		temp   float64
		kept   string
		events int
	}{
		{"kuehlschrank", 5, "door.open,temperature,pages", 0},
		{"kuehlschrank", 85, "door.open,pages", 1},
		{"kuehlschrank", -127, "door.open,pages", 0}, // same episode: no second event
		{"kuehlschrank", 4, "door.open,temperature,pages", 0},
		{"kuehlschrank", -999, "door.open,pages", 1}, // a new episode
		{"tiefkuehl", -80, "door.open,temperature,pages", 0},
		{"tiefkuehl", -127, "door.open,pages", 1},
		{"drucker", 65535, "door.open,pages", 1}, // temperature is checked on any kind, pages never
		{"unbekannt", -999, "door.open,temperature,pages", 0},
	}
	for i, st := range steps {
		in := sample(st.dev, st.temp)
		out, evs := c.Filter(in)
		if names(out) != st.kept || len(evs) != st.events {
			t.Fatalf("step %d (%s %g): kept %s, %d event(s) %v; want %s, %d", i, st.dev, st.temp, names(out), len(evs), evs, st.kept, st.events)
		}
		if names(in) != "door.open,temperature,pages" {
			t.Fatalf("step %d: the caller's sample was changed", i)
		}
		for _, e := range evs {
			if e.Type != InvalidEvent || e.Device != st.dev || e.Attrs["metric"] != "temperature" {
				t.Fatalf("step %d: event %+v", i, e)
			}
			if _, err := json.Marshal(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, evs := c.Filter(drivers.Sample{Device: "drucker", Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", math.NaN(), "°C")}})
	if len(evs) != 0 { // still the same episode
		t.Fatalf("events %v", evs)
	}
	if _, err := json.Marshal(Event("x", "temperature", math.NaN(), "NaN is not a number", at)); err != nil {
		t.Fatalf("a NaN reading's event does not encode: %v", err)
	}
	var none *Checker
	if out, evs := none.Filter(sample("kuehlschrank", -999)); len(out.Metrics) != 3 || evs != nil {
		t.Fatal("a nil Checker filtered")
	}
	if r, ok := c.Range("tiefkuehl", "temperature"); !ok || r != (Range{-100, 60}) {
		t.Fatalf("range %v %v", r, ok)
	}
}
