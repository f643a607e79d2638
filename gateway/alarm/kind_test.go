package alarm

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// The web page words alarms from their structured fields; every way of
// raising an alarm must fill them.
func TestAlarmKinds(t *testing.T) {
	rules := []config.AlarmRule{
		{Device: "fridge", Metric: "temperature", Above: f(8), Below: f(2), For: time.Minute, StaleAfter: 5 * time.Minute},
	}
	cases := []struct {
		name    string
		samples []drivers.Sample
		tick    time.Duration // Tick at t0+tick after the samples (0: none)
		id      string
		want    Alarm
	}{
		{"warm", []drivers.Sample{reading("fridge", 0, 9), reading("fridge", time.Minute, 9.5)}, 0,
			"fridge/temperature.above", Alarm{Kind: KindThresholdHigh, Limit: f(8), Unit: "°C", For: time.Minute, Value: f(9.5)}},
		{"cold", []drivers.Sample{reading("fridge", 0, 1), reading("fridge", time.Minute, 1.5)}, 0,
			"fridge/temperature.below", Alarm{Kind: KindThresholdLow, Limit: f(2), Unit: "°C", For: time.Minute, Value: f(1.5)}},
		{"stale", []drivers.Sample{reading("fridge", 0, 5)}, 6 * time.Minute,
			"fridge/temperature.stale", Alarm{Kind: KindStale, For: 5 * time.Minute}},
		{"unreachable", []drivers.Sample{unreachableSample("printer", 0, true)}, 0,
			"printer/device.unreachable", Alarm{Kind: KindUnreachable}},
		{"condition", []drivers.Sample{upsSample(0, true)}, 0,
			"usv/" + OnBattery, Alarm{Kind: KindCondition, CondName: OnBattery}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(rules, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.tick > 0 {
				e.Tick(t0)
			}
			for _, s := range c.samples {
				e.Observe(s, s.Events != nil)
			}
			if c.tick > 0 {
				e.Tick(t0.Add(c.tick))
			}
			var got *Alarm
			for _, a := range e.Active() {
				if a.ID == c.id {
					got = &a
				}
			}
			if got == nil {
				t.Fatalf("alarm %s not active: %v", c.id, ids(e.Active()))
			}
			if got.Kind != c.want.Kind || got.Unit != c.want.Unit || got.For != c.want.For || got.CondName != c.want.CondName ||
				!sameFloat(got.Limit, c.want.Limit) || (c.want.Value != nil && !sameFloat(got.Value, c.want.Value)) {
				t.Errorf("got kind %q limit %v unit %q for %v cond %q value %v, want %+v",
					got.Kind, ptr(got.Limit), got.Unit, got.For, got.CondName, ptr(got.Value), c.want)
			}
			if got.Message == "" {
				t.Error("the English message for the provider is gone")
			}
		})
	}
}

func sameFloat(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func ptr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// A state file written before the structured fields existed still loads;
// its alarm keeps its message and learns its kind and limit from the next
// reading.
func TestOldStateFileLoads(t *testing.T) {
	file := filepath.Join(t.TempDir(), "alarms.json")
	old := `[{"id":"fridge/temperature.above","device":"fridge","severity":"critical",
"message":"fridge temperature is 9 °C, above the limit of 8 °C","metric":"temperature","value":9,
"since":"2026-11-20T20:00:00Z","acked":true,"acked_by":"web:admin"}]`
	if err := os.WriteFile(file, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := New([]config.AlarmRule{{Device: "fridge", Metric: "temperature", Above: f(8)}}, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := e.Active()
	if len(a) != 1 || a[0].Kind != "" || !a[0].Acked || a[0].Message == "" {
		t.Fatalf("loaded %+v", a)
	}
	if evs := e.Observe(reading("fridge", time.Minute, 9.2), false); len(evs) != 0 {
		t.Fatalf("a loaded alarm was raised again: %v", types(evs))
	}
	a = e.Active()
	if a[0].Kind != KindThresholdHigh || !sameFloat(a[0].Limit, f(8)) || a[0].Unit != "°C" || !a[0].Acked {
		t.Fatalf("after the next reading %+v", a[0])
	}
}
