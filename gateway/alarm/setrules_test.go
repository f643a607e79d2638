package alarm

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

func TestSetRules(t *testing.T) {
	band := config.AlarmRule{Device: "fridge", Metric: "temperature", Above: f(8), Below: f(2), Hysteresis: 0.5, Severity: drivers.Critical}
	withFor := band
	withFor.For = 10 * time.Minute
	lower := band
	lower.Above = f(4)
	higher := band
	higher.Above = f(12)
	onlyBelow := band
	onlyBelow.Above = nil
	stale := band
	stale.StaleAfter = 5 * time.Minute
	wildcard := band
	wildcard.Device = "*"

	type step struct {
		at      time.Duration
		v       float64 // a reading, unless rules or tick is set
		set     bool    // SetRules(rules) instead of a reading
		rules   []config.AlarmRule
		tick    bool
		want    []string // event types
		active  []string // ids active afterwards
		cleared string   // id of the alarm.cleared SetRules reports with reason rule removed
	}
	cases := []struct {
		name  string
		rules []config.AlarmRule
		steps []step
	}{
		{"a lower limit raises at the next reading, not at once", []config.AlarmRule{band}, []step{
			{at: 0, v: 6},
			{at: time.Minute, set: true, rules: []config.AlarmRule{lower}},
			{at: 2 * time.Minute, v: 6, want: []string{Raised}, active: []string{"fridge/temperature.above"}},
		}},
		{"a higher limit clears an active alarm at the next reading", []config.AlarmRule{band}, []step{
			{at: 0, v: 9, want: []string{Raised}, active: []string{"fridge/temperature.above"}},
			{at: time.Minute, set: true, rules: []config.AlarmRule{higher}, active: []string{"fridge/temperature.above"}},
			{at: 2 * time.Minute, v: 9, want: []string{Cleared}},
		}},
		{"the same limit keeps the alarm and raises nothing", []config.AlarmRule{band}, []step{
			{at: 0, v: 9, want: []string{Raised}, active: []string{"fridge/temperature.above"}},
			{at: time.Minute, set: true, rules: []config.AlarmRule{band}, active: []string{"fridge/temperature.above"}},
			{at: 2 * time.Minute, v: 9, active: []string{"fridge/temperature.above"}},
		}},
		{"a removed rule clears its alarm at once", []config.AlarmRule{band}, []step{
			{at: 0, v: 9, want: []string{Raised}},
			{at: time.Minute, set: true, rules: nil, want: []string{Cleared}, cleared: "fridge/temperature.above"},
			{at: 2 * time.Minute, v: 9},
		}},
		{"a removed side clears only that side", []config.AlarmRule{band}, []step{
			{at: 0, v: 9, want: []string{Raised}},
			{at: time.Minute, set: true, rules: []config.AlarmRule{onlyBelow}, want: []string{Cleared}, cleared: "fridge/temperature.above"},
			{at: 2 * time.Minute, v: 1, want: []string{Raised}, active: []string{"fridge/temperature.below"}},
		}},
		{"a wildcard rule keeps a device's alarm", []config.AlarmRule{band}, []step{
			{at: 0, v: 9, want: []string{Raised}},
			{at: time.Minute, set: true, rules: []config.AlarmRule{wildcard}, active: []string{"fridge/temperature.above"}},
		}},
		{"a running minimum duration survives an unrelated edit", []config.AlarmRule{withFor}, []step{
			{at: 0, v: 9},
			{at: 5 * time.Minute, set: true, rules: []config.AlarmRule{withFor}},
			{at: 10 * time.Minute, v: 9, want: []string{Raised}},
		}},
		{"a removed rule forgets its minimum duration", []config.AlarmRule{withFor}, []step{
			{at: 0, v: 9},
			{at: 5 * time.Minute, set: true, rules: nil},
			{at: 6 * time.Minute, set: true, rules: []config.AlarmRule{withFor}},
			{at: 10 * time.Minute, v: 9},
			{at: 20 * time.Minute, v: 9, want: []string{Raised}},
		}},
		{"a removed stale_after clears the sensor-offline alarm", []config.AlarmRule{stale}, []step{
			{at: 0, v: 5},
			{at: 6 * time.Minute, tick: true, want: []string{Raised}, active: []string{"fridge/temperature.stale"}},
			{at: 7 * time.Minute, set: true, rules: []config.AlarmRule{band}, want: []string{Cleared}, cleared: "fridge/temperature.stale"},
			{at: 20 * time.Minute, tick: true},
		}},
		{"a new stale_after watches from the next tick", []config.AlarmRule{band}, []step{
			{at: 0, v: 5},
			{at: time.Minute, set: true, rules: []config.AlarmRule{stale}},
			{at: 2 * time.Minute, tick: true},
			{at: 6 * time.Minute, tick: true},
			{at: 7 * time.Minute, tick: true, want: []string{Raised}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "alarms.json")
			e, err := New(c.rules, file, nil)
			if err != nil {
				t.Fatal(err)
			}
			// A condition and an unreachable alarm never depend on rules.
			e.Observe(drivers.Sample{Device: "usv", Time: t0, Conditions: []drivers.Condition{{Name: OnBattery, Severity: drivers.Major, Message: "on battery"}}}, false)
			e.Observe(unreachableSample("nas", 0, true), true)
			others := []string{"nas/device.unreachable", "usv/" + OnBattery}
			for i, s := range c.steps {
				var evs []drivers.Event
				switch {
				case s.tick:
					evs = e.Tick(t0.Add(s.at))
				case s.set:
					v0 := e.Version()
					evs = e.SetRules(s.rules, t0.Add(s.at))
					if (len(evs) > 0) != (e.Version() != v0) {
						t.Fatalf("step %d: %d events but version %d -> %d", i, len(evs), v0, e.Version())
					}
				default:
					evs = e.Observe(reading("fridge", s.at, s.v), false)
				}
				if got := types(evs); !slices.Equal(got, s.want) {
					t.Fatalf("step %d: events %v, want %v (%+v)", i, got, s.want, evs)
				}
				if s.cleared != "" {
					if evs[0].Attrs["alarm"] != s.cleared || evs[0].Attrs["reason"] != RuleRemoved || evs[0].Severity != drivers.Info {
						t.Fatalf("step %d: cleared event %+v", i, evs[0])
					}
				}
				if s.active != nil {
					var ids []string
					for _, a := range e.Active() {
						ids = append(ids, a.ID)
					}
					want := append(slices.Clone(s.active), others...)
					slices.Sort(ids)
					slices.Sort(want)
					if !slices.Equal(ids, want) {
						t.Fatalf("step %d: active %v, want %v", i, ids, want)
					}
				}
			}
			// The persisted set is the one in memory: a restart sees the
			// same alarms.
			again, err := New(c.rules, file, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(again.Active()), ids(e.Active())) {
				t.Fatalf("persisted %v, in memory %v", ids(again.Active()), ids(e.Active()))
			}
		})
	}
}

func ids(as []Alarm) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	slices.Sort(out)
	return out
}

func TestSetRulesKeepsAcknowledgement(t *testing.T) {
	rule := config.AlarmRule{Device: "fridge", Metric: "temperature", Above: f(8)}
	e, err := New([]config.AlarmRule{rule}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Observe(reading("fridge", 0, 9), false)
	if _, err := e.Ack("fridge/temperature.above", "web:admin", t0); err != nil {
		t.Fatal(err)
	}
	rule.Above = f(8.5)
	if evs := e.SetRules([]config.AlarmRule{rule}, t0.Add(time.Minute)); len(evs) != 0 {
		t.Fatalf("SetRules with the alarm's rule changed emitted %+v", evs)
	}
	a := e.Active()
	if len(a) != 1 || !a[0].Acked || a[0].AckedBy != "web:admin" {
		t.Fatalf("active %+v", a)
	}
	if got := e.Rules(); len(got) != 1 || *got[0].Above != 8.5 {
		t.Fatalf("Rules() = %+v", got)
	}
}

// Property: applying the rules the engine already has, at any moment, never
// raises or clears anything, now or later: an engine that gets them again
// and again emits exactly what an engine left alone emits.
func TestSetSameRulesChangesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	rules := []config.AlarmRule{
		{Device: "fridge", Metric: "temperature", Above: f(8), Below: f(2), For: 3 * time.Minute, Hysteresis: 0.5, Severity: drivers.Critical, StaleAfter: 5 * time.Minute},
		{Device: "*", Metric: "temperature", Above: f(15), Severity: drivers.Minor},
	}
	for trial := 0; trial < 100; trial++ {
		plain, err := New(rules, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		reapplied, err := New(rules, filepath.Join(t.TempDir(), "alarms.json"), nil)
		if err != nil {
			t.Fatal(err)
		}
		v := 5.0
		at := time.Duration(0)
		for step := 0; step < 300; step++ {
			at += time.Duration(30+rng.IntN(90)) * time.Second
			if rng.Float64() < 0.2 {
				// A fresh copy, as the web page's apply builds it.
				same := append([]config.AlarmRule(nil), rules...)
				if evs := reapplied.SetRules(same, t0.Add(at)); len(evs) != 0 {
					t.Fatalf("trial %d step %d: the same rules emitted %+v", trial, step, evs)
				}
			}
			var a, b []drivers.Event
			if rng.Float64() < 0.15 {
				a, b = plain.Tick(t0.Add(at)), reapplied.Tick(t0.Add(at))
			} else {
				v = max(-5, min(20, v+rng.NormFloat64()*1.5))
				dev := "fridge"
				if rng.IntN(4) == 0 {
					dev = "room"
				}
				a, b = plain.Observe(reading(dev, at, v), false), reapplied.Observe(reading(dev, at, v), false)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("trial %d step %d: left alone %+v, re-applied %+v", trial, step, a, b)
			}
			if !reflect.DeepEqual(plain.Active(), reapplied.Active()) {
				t.Fatalf("trial %d step %d: active sets differ", trial, step)
			}
		}
	}
}
