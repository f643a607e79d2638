package alarm

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

func f(v float64) *float64 { return &v }

var t0 = time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC)

func reading(dev string, at time.Duration, v float64) drivers.Sample {
	return drivers.Sample{Device: dev, Time: t0.Add(at), Metrics: []drivers.Metric{drivers.Num("temperature", v, "°C")}}
}

func types(evs []drivers.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func TestThresholds(t *testing.T) {
	fridge := config.AlarmRule{Device: "fridge", Metric: "temperature", Above: f(8), Below: f(2), For: 15 * time.Minute, Hysteresis: 0.5, Severity: drivers.Critical}
	type step struct {
		at   time.Duration
		v    float64
		want []string
	}
	cases := []struct {
		name  string
		rule  config.AlarmRule
		steps []step
	}{
		{"door opened briefly is tolerated", fridge, []step{
			{0, 5, nil}, {time.Minute, 9, nil}, {10 * time.Minute, 10, nil}, {14 * time.Minute, 6, nil}, {30 * time.Minute, 9, nil},
		}},
		{"warm for the minimum duration raises once, clears with hysteresis", fridge, []step{
			{0, 9, nil}, {10 * time.Minute, 11, nil}, {15 * time.Minute, 12, []string{Raised}}, {20 * time.Minute, 12, nil},
			{25 * time.Minute, 7.9, nil}, {26 * time.Minute, 7.5, []string{Cleared}}, {27 * time.Minute, 7.4, nil},
		}},
		{"freezing counts as much as warming", fridge, []step{
			{0, 1.5, nil}, {15 * time.Minute, 1.0, []string{Raised}}, {16 * time.Minute, 2.2, nil}, {17 * time.Minute, 2.5, []string{Cleared}},
		}},
		{"no minimum duration", config.AlarmRule{Device: "*", Metric: "temperature", Above: f(30)}, []step{
			{0, 31, []string{Raised}}, {time.Second, 30, []string{Cleared}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New([]config.AlarmRule{c.rule}, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.steps {
				got := types(e.Observe(reading("fridge", s.at, s.v), false))
				if len(got) != len(s.want) || (len(got) > 0 && got[0] != s.want[0]) {
					t.Fatalf("at %s value %.1f: events %v, want %v", s.at, s.v, got, s.want)
				}
			}
		})
	}
}

func TestRaisedEventCarriesSeverityAndActiveSet(t *testing.T) {
	e, _ := New([]config.AlarmRule{{Device: "fridge", Metric: "temperature", Above: f(8), Severity: drivers.Critical}}, "", nil)
	evs := e.Observe(reading("fridge", 0, 9.5), false)
	if len(evs) != 1 || evs[0].Severity != drivers.Critical || evs[0].Attrs["alarm"] != "fridge/temperature.above" {
		t.Fatalf("raised event %+v", evs)
	}
	act := e.Active()
	if len(act) != 1 || *act[0].Value != 9.5 || act[0].Severity != drivers.Critical {
		t.Fatalf("active %+v", act)
	}
	if _, err := e.Ack("nope", "tech", t0); err == nil {
		t.Fatal("ack of unknown alarm succeeded")
	}
	ev, err := e.Ack("fridge/temperature.above", "techniker", t0)
	if err != nil || ev.Type != Acked || !e.Active()[0].Acked {
		t.Fatalf("ack: %v %+v", err, ev)
	}
}

// Noise inside the hysteresis band never makes an alarm flap.
func TestNoiseInsideHysteresisNeverFlaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		limit := 8.0
		hyst := 0.2 + rng.Float64()
		e, _ := New([]config.AlarmRule{{Device: "d", Metric: "temperature", Above: f(limit), Hysteresis: hyst}}, "", nil)
		var events []string
		// Cross once clearly, then wander strictly inside (limit-hyst, limit+1).
		events = append(events, types(e.Observe(reading("d", 0, limit+1), false))...)
		for i := 1; i < 300; i++ {
			v := limit - hyst + 1e-6 + rng.Float64()*(hyst+1-2e-6)
			events = append(events, types(e.Observe(reading("d", time.Duration(i)*time.Second, v), false))...)
		}
		if len(events) != 1 || events[0] != Raised {
			t.Fatalf("trial %d (hysteresis %.2f): events %v, want one raise", trial, hyst, events)
		}
	}
}

func TestConditions(t *testing.T) {
	e, _ := New(nil, "", nil)
	ob := drivers.Condition{Name: "ups.on_battery", Severity: drivers.Major, Message: "on battery"}
	lb := drivers.Condition{Name: "ups.low_battery", Severity: drivers.Critical, Message: "low battery"}
	steps := []struct {
		conds  []drivers.Condition
		failed bool
		want   []string
	}{
		{nil, false, nil},
		{[]drivers.Condition{ob}, false, []string{Raised}},
		{[]drivers.Condition{ob}, false, nil},
		{nil, true, nil}, // a failed poll knows nothing: keep the alarm
		{[]drivers.Condition{ob, lb}, false, []string{Raised}},
		{nil, false, []string{Cleared, Cleared}},
	}
	for i, s := range steps {
		got := types(e.Observe(drivers.Sample{Device: "usv", Time: t0.Add(time.Duration(i) * time.Second), Conditions: s.conds}, s.failed))
		if len(got) != len(s.want) {
			t.Fatalf("step %d: events %v, want %v", i, got, s.want)
		}
	}
}

// A restart in the middle of an excursion keeps exactly one active alarm.
func TestRestartKeepsExactlyOneAlarm(t *testing.T) {
	file := filepath.Join(t.TempDir(), "alarms.json")
	rules := []config.AlarmRule{{Device: "fridge", Metric: "temperature", Above: f(8), For: time.Minute, Severity: drivers.Critical}}
	e1, err := New(rules, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	var raised int
	for i := 0; i <= 3; i++ {
		for _, ev := range e1.Observe(reading("fridge", time.Duration(i)*time.Minute, 10), false) {
			if ev.Type == Raised {
				raised++
			}
		}
	}
	e2, err := New(rules, file, nil) // the restart
	if err != nil {
		t.Fatal(err)
	}
	if act := e2.Active(); len(act) != 1 {
		t.Fatalf("after restart %d active alarms, want 1", len(act))
	}
	for i := 4; i <= 10; i++ {
		for _, ev := range e2.Observe(reading("fridge", time.Duration(i)*time.Minute, 10), false) {
			if ev.Type == Raised {
				raised++
			}
		}
	}
	if raised != 1 {
		t.Fatalf("alarm raised %d times across the restart, want 1", raised)
	}
	if evs := types(e2.Observe(reading("fridge", 11*time.Minute, 5), false)); len(evs) != 1 || evs[0] != Cleared {
		t.Fatalf("clear after restart: %v", evs)
	}
}
