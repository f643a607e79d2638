package alarm

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

func metricSample(dev string, at time.Duration, metrics ...drivers.Metric) drivers.Sample {
	return drivers.Sample{Device: dev, Time: t0.Add(at), Metrics: metrics}
}

func TestStale(t *testing.T) {
	rule := config.AlarmRule{Device: "fridge", Metric: "temperature", Above: f(8), StaleAfter: 90 * time.Second, Severity: drivers.Critical}
	any := config.AlarmRule{Device: "*", Metric: "humidity", Above: f(80), StaleAfter: time.Minute, Severity: drivers.Minor}
	temp := func(v float64) drivers.Metric { return drivers.Num("temperature", v, "°C") }
	type step struct {
		at     time.Duration
		tick   bool // Tick(at) instead of a sample
		sample *drivers.Sample
		failed bool
		want   []string
		id     string // alarm id of the first event
	}
	s := func(smp drivers.Sample) *drivers.Sample { return &smp }
	cases := []struct {
		name  string
		rules []config.AlarmRule
		steps []step
	}{
		{"silence after readings raises once, a reading clears", []config.AlarmRule{rule}, []step{
			{at: 0, sample: s(metricSample("fridge", 0, temp(5)))},
			{at: 60 * time.Second, tick: true},
			{at: 91 * time.Second, tick: true, want: []string{Raised}, id: "fridge/temperature.stale"},
			{at: 200 * time.Second, tick: true},
			{at: 201 * time.Second, sample: s(metricSample("fridge", 201*time.Second, temp(5))), want: []string{Cleared}, id: "fridge/temperature.stale"},
			{at: 250 * time.Second, tick: true},
		}},
		{"failed polls do not count as readings", []config.AlarmRule{rule}, []step{
			{at: 0, sample: s(metricSample("fridge", 0, temp(5)))},
			{at: 30 * time.Second, sample: s(metricSample("fridge", 30*time.Second)), failed: true},
			{at: 60 * time.Second, sample: s(metricSample("fridge", 60*time.Second)), failed: true},
			{at: 95 * time.Second, tick: true, want: []string{Raised}},
		}},
		{"a sample without the metric does not count", []config.AlarmRule{rule}, []step{
			{at: 0, sample: s(metricSample("fridge", 0, temp(5)))},
			{at: 60 * time.Second, sample: s(metricSample("fridge", 60*time.Second, drivers.Num("door.open", 0, "")))},
			{at: 91 * time.Second, tick: true, want: []string{Raised}},
		}},
		{"a sensor that never reports is offline after stale_after from the first tick", []config.AlarmRule{rule}, []step{
			{at: 0, tick: true},
			{at: 89 * time.Second, tick: true},
			{at: 90 * time.Second, tick: true, want: []string{Raised}},
		}},
		{"a wildcard rule watches devices once they reported", []config.AlarmRule{any}, []step{
			{at: 0, tick: true},
			{at: 10 * time.Minute, tick: true},
			{at: 11 * time.Minute, sample: s(metricSample("room", 11*time.Minute, drivers.Num("humidity", 40, "%")))},
			{at: 12*time.Minute + time.Second, tick: true, want: []string{Raised}, id: "room/humidity.stale"},
		}},
		{"no stale_after, no offline alarm", []config.AlarmRule{{Device: "fridge", Metric: "temperature", Above: f(8)}}, []step{
			{at: 0, sample: s(metricSample("fridge", 0, temp(5)))},
			{at: 24 * time.Hour, tick: true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(c.rules, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range c.steps {
				var evs []drivers.Event
				if st.tick {
					evs = e.Tick(t0.Add(st.at))
				} else {
					evs = e.Observe(*st.sample, st.failed)
				}
				got := types(evs)
				if len(got) != len(st.want) || (len(got) > 0 && got[0] != st.want[0]) {
					t.Fatalf("step %d (%s): events %v, want %v", i, st.at, got, st.want)
				}
				if st.id != "" && evs[0].Attrs["alarm"] != st.id {
					t.Fatalf("step %d: alarm %v, want %s", i, evs[0].Attrs["alarm"], st.id)
				}
				if len(evs) > 0 && evs[0].Type == Raised && evs[0].Severity != c.rules[0].Severity {
					t.Fatalf("step %d: severity %s, want %s", i, evs[0].Severity, c.rules[0].Severity)
				}
			}
		})
	}
}

// An offline alarm survives a restart without being raised twice.
func TestStaleAcrossRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "alarms.json")
	rules := []config.AlarmRule{{Device: "fridge", Metric: "temperature", Above: f(8), StaleAfter: time.Minute}}
	e1, _ := New(rules, file, nil)
	e1.Tick(t0)
	if got := types(e1.Tick(t0.Add(2 * time.Minute))); len(got) != 1 {
		t.Fatalf("first engine: %v", got)
	}
	e2, _ := New(rules, file, nil)
	for i := 3; i < 10; i++ {
		if got := e2.Tick(t0.Add(time.Duration(i) * time.Minute)); len(got) != 0 {
			t.Fatalf("after restart: %v", types(got))
		}
	}
	if got := types(e2.Observe(reading("fridge", 10*time.Minute, 5), false)); len(got) != 1 || got[0] != Cleared {
		t.Fatalf("clear after restart: %v", got)
	}
}

func unreachableSample(dev string, at time.Duration, withEvent bool) drivers.Sample {
	s := drivers.Sample{Device: dev, Time: t0.Add(at), Metrics: []drivers.Metric{drivers.Num("device.reachable", 0, "")}}
	if withEvent {
		s.Events = []drivers.Event{{Device: dev, Time: s.Time, Type: UnreachableEvent, Severity: drivers.Major,
			Message: dev + " does not answer (3 polls failed)", Attrs: map[string]any{"failures": 3}}}
	}
	return s
}

func upsSample(at time.Duration, onBattery bool) drivers.Sample {
	s := drivers.Sample{Device: "usv", Time: t0.Add(at)}
	if onBattery {
		s.Conditions = []drivers.Condition{{Name: OnBattery, Severity: drivers.Major, Message: "UPS on battery"}}
	}
	return s
}

func TestUnreachableAndCorrelation(t *testing.T) {
	devices := []config.Device{
		{ID: "usv", Interval: 5 * time.Second, UnreachableAfter: 1},
		{ID: "nas", PoweredBy: "usv", Interval: 10 * time.Second, UnreachableAfter: 3},
		{ID: "printer", Interval: 10 * time.Second, UnreachableAfter: 3},
	}
	type step struct {
		s      drivers.Sample
		failed bool
		want   []string
	}
	ok := func(dev string, at time.Duration) drivers.Sample {
		return drivers.Sample{Device: dev, Time: t0.Add(at), Metrics: []drivers.Metric{drivers.Num("device.reachable", 1, "")}}
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"unreachable raises, reachable clears", []step{
			{unreachableSample("printer", 0, false), true, nil},
			{unreachableSample("printer", 30*time.Second, true), true, []string{Raised}},
			{unreachableSample("printer", 40*time.Second, false), true, nil},
			{ok("printer", 50*time.Second), false, []string{Cleared}},
		}},
		{"a device not powered by the UPS is a cause even on battery", []step{
			{upsSample(0, true), false, []string{Raised}},
			{unreachableSample("printer", 30*time.Second, true), true, []string{Raised}},
		}},
		{"powered_by device on battery is held back, released when it answers", []step{
			{upsSample(0, true), false, []string{Raised}},
			{unreachableSample("nas", 30*time.Second, true), true, []string{Suppressed}},
			{unreachableSample("nas", 40*time.Second, false), true, nil},
			{upsSample(45*time.Second, false), false, []string{Cleared}},
			{unreachableSample("nas", 50*time.Second, false), true, nil}, // patience 30 s
			{ok("nas", 60*time.Second), false, nil},
			{unreachableSample("nas", 200*time.Second, false), true, nil},
		}},
		{"held device still silent after the patience is raised as a cause", []step{
			{upsSample(0, true), false, []string{Raised}},
			{unreachableSample("nas", 30*time.Second, true), true, []string{Suppressed}},
			{upsSample(45*time.Second, false), false, []string{Cleared}},
			{unreachableSample("nas", 70*time.Second, false), true, nil},
			{unreachableSample("nas", 75*time.Second, false), true, []string{Raised}},
			{unreachableSample("nas", 85*time.Second, false), true, nil},
			{ok("nas", 95*time.Second), false, []string{Cleared}},
		}},
		{"on battery again during the patience keeps holding", []step{
			{upsSample(0, true), false, []string{Raised}},
			{unreachableSample("nas", 30*time.Second, true), true, []string{Suppressed}},
			{upsSample(45*time.Second, false), false, []string{Cleared}},
			{upsSample(50*time.Second, true), false, []string{Raised}},
			{unreachableSample("nas", 100*time.Second, false), true, nil},
		}},
		{"powered_by device unreachable while on mains is a cause", []step{
			{upsSample(0, false), false, nil},
			{unreachableSample("nas", 30*time.Second, true), true, []string{Raised}},
			{upsSample(35*time.Second, true), false, []string{Raised}},
			{ok("nas", 60*time.Second), false, []string{Cleared}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewEngine(Options{Devices: devices})
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range c.steps {
				evs := e.Observe(st.s, st.failed)
				got := types(evs)
				if len(got) != len(st.want) || (len(got) > 0 && got[0] != st.want[0]) {
					t.Fatalf("step %d (%s at %s): events %v, want %v", i, st.s.Device, st.s.Time.Sub(t0), got, st.want)
				}
				if len(got) > 0 && got[0] == Suppressed {
					if evs[0].Attrs["cause"] != "usv/"+OnBattery || evs[0].Attrs["alarm"] != "nas/device.unreachable" {
						t.Fatalf("suppressed attrs %v", evs[0].Attrs)
					}
					for _, a := range e.Active() {
						if a.Device == "nas" {
							t.Fatalf("held-back device in the active set: %+v", a)
						}
					}
				}
			}
		})
	}
}

func TestFridgeDefaultRules(t *testing.T) {
	own := config.AlarmRule{Device: "f2", Metric: "temperature", Above: f(7), Severity: drivers.Major}
	cfg := &config.Config{
		Devices: []config.Device{
			{ID: "f1", Kind: "fridge", Interval: 30 * time.Second},
			{ID: "f2", Kind: "fridge", Interval: 2 * time.Minute},
			{ID: "f3", Kind: "fridge", Disabled: true},
			{ID: "room", Kind: "climate"},
		},
		Alarms: []config.AlarmRule{own},
	}
	rules := Rules(cfg)
	if len(rules) != 2 {
		t.Fatalf("rules %+v, want the own rule and one default", rules)
	}
	if r := rules[0]; r.Device != "f2" || *r.Above != 7 || r.Below != nil || r.StaleAfter != 6*time.Minute {
		t.Fatalf("own rule %+v (stale_after %s)", r, r.StaleAfter)
	}
	r := rules[1]
	if r.Device != "f1" || *r.Below != 2 || *r.Above != 8 || r.For != 15*time.Minute || r.Hysteresis != 0.5 ||
		r.Severity != drivers.Critical || r.StaleAfter != 5*time.Minute {
		t.Fatalf("default rule %+v", r)
	}
	delay := 5 * time.Minute
	cfg.Fridge = config.Fridge{Delay: &delay, Low: f(3)}
	if r := Rules(cfg)[1]; r.For != delay || *r.Below != 3 {
		t.Fatalf("configured profile: %+v", r)
	}
	// The default band alarms on freezing as much as on warming.
	cfg.Fridge = config.Fridge{}
	for _, v := range []float64{1.5, 9} {
		e2, _ := NewEngine(Options{Rules: Rules(cfg), Devices: cfg.Devices})
		e2.Observe(reading("f1", 0, v), false)
		if got := types(e2.Observe(reading("f1", 14*time.Minute, v), false)); len(got) != 0 {
			t.Fatalf("%.1f °C raised before the door delay: %v", v, got)
		}
		if got := types(e2.Observe(reading("f1", 15*time.Minute, v), false)); len(got) != 1 || got[0] != Raised {
			t.Fatalf("%.1f °C after the door delay: %v", v, got)
		}
	}
}
