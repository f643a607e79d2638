package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func metric(t *testing.T, s drivers.Sample, name string) any {
	t.Helper()
	for _, m := range s.Metrics {
		if m.Name == name {
			return m.Value
		}
	}
	t.Fatalf("metric %s missing in %+v", name, s.Metrics)
	return nil
}

func TestFridgeDoorOpenWarmsAndCools(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s, err := New(drivers.Device{ID: "f"}, Config{Scenario: "fridge", Episodes: []Episode{{At: time.Minute, For: 10 * time.Minute}}}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	temp := func(at time.Duration) float64 {
		clk.t = time.Unix(1_700_000_000, 0).Add(at)
		smp, err := s.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := smp.Validate(); err != nil {
			t.Fatal(err)
		}
		return metric(t, smp, "temperature").(float64)
	}
	cases := []struct {
		at       time.Duration
		min, max float64
	}{
		{0, 4, 6},
		{30 * time.Second, 4, 6},
		{11 * time.Minute, 18, 21}, // door open for 10 minutes
		{60 * time.Minute, 4, 6.5}, // cooled back
		{120 * time.Minute, 4, 6},
	}
	for _, c := range cases {
		if got := temp(c.at); got < c.min || got > c.max {
			t.Errorf("at %s: temperature %.2f, want %.1f..%.1f", c.at, got, c.min, c.max)
		}
	}
}

func TestUPSMainsFailure(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	s, err := New(drivers.Device{ID: "u"}, Config{Scenario: "ups", Episodes: []Episode{{At: 10 * time.Second, For: 60 * time.Second}}}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	var conds [][]string
	var sawOnLine bool
	for sec := 0; sec <= 120; sec += 5 {
		clk.t = time.Unix(int64(sec), 0)
		smp, err := s.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range smp.Conditions {
			names = append(names, c.Name)
		}
		conds = append(conds, names)
		for _, e := range smp.Events {
			if e.Type == "ups.on_line" {
				sawOnLine = true
			}
		}
	}
	if len(conds[1]) != 0 { // t=5s
		t.Errorf("on mains at 5s, got conditions %v", conds[1])
	}
	if len(conds[3]) != 1 || conds[3][0] != "ups.on_battery" { // t=15s
		t.Errorf("at 15s want on_battery, got %v", conds[3])
	}
	if len(conds[12]) != 2 { // t=60s: 50 s on battery drains below 20 %
		t.Errorf("at 60s want on_battery and low_battery, got %v", conds[12])
	}
	if len(conds[16]) != 1 || conds[16][0] != "ups.low_battery" { // t=80s mains back, still charging
		t.Errorf("at 80s want only low_battery, got %v", conds[16])
	}
	if len(conds[24]) != 0 { // t=120s charged above 20 %
		t.Errorf("at 120s want no conditions, got %v", conds[24])
	}
	if !sawOnLine {
		t.Error("no ups.on_line event after mains returned")
	}
}

func TestScriptedFailures(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	s, err := New(drivers.Device{ID: "r"}, Config{Scenario: "room", Failures: []Failure{
		{At: 10 * time.Second, For: 5 * time.Second, Mode: "error"},
		{At: 20 * time.Second, For: 5 * time.Second, Mode: "hang"},
	}}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	poll := func(sec int) error {
		clk.t = time.Unix(int64(sec), 0)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := s.Poll(ctx)
		return err
	}
	for _, c := range []struct {
		sec  int
		fail bool
	}{{0, false}, {11, true}, {16, false}, {21, true}, {26, false}} {
		err := poll(c.sec)
		if (err != nil) != c.fail {
			t.Errorf("at %ds: err=%v, want failure=%v", c.sec, err, c.fail)
		}
		if err != nil && !errors.Is(err, drivers.ErrUnreachable) {
			t.Errorf("at %ds: %v does not wrap ErrUnreachable", c.sec, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"scenario", Config{Scenario: "toaster"}, `scenario: must be fridge, room or ups, not "toaster"`},
		{"for", Config{Scenario: "room", Failures: []Failure{{At: 1}}}, "failures[0].for: must be > 0"},
		{"mode", Config{Scenario: "room", Failures: []Failure{{For: 1, Mode: "explode"}}}, `failures[0].mode: must be error or hang, not "explode"`},
		{"every", Config{Scenario: "room", Episodes: []Episode{{For: 10, Every: 5}}}, "episodes[0].every: must be longer than for (10ns)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(drivers.Device{ID: "x"}, c.cfg, time.Now)
			var fe *drivers.FieldError
			if !errors.As(err, &fe) || err.Error() != c.want {
				t.Fatalf("got %v, want FieldError %q", err, c.want)
			}
		})
	}
}
