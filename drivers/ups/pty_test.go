package ups

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/ups/upssim"
)

// These tests run the driver against upssim through a real pseudo-terminal
// pair: tarm/serial sets termios on the pty slave, the simulator answers on
// the master, and unplugging hangs the pty up like a pulled USB adapter.

func newSim(t *testing.T, proto upssim.Protocol) *upssim.Sim {
	t.Helper()
	sim, err := upssim.New(upssim.Options{Protocol: proto, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

func newDriver(t *testing.T, port, proto string) *Driver {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Port, cfg.Protocol = port, proto
	d, err := New(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func poll(t *testing.T, d *Driver) (drivers.Sample, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := d.Poll(ctx)
	if err == nil {
		if verr := s.Validate(); verr != nil {
			t.Fatalf("sample does not validate: %v", verr)
		}
	}
	return s, err
}

func mustPoll(t *testing.T, d *Driver) drivers.Sample {
	t.Helper()
	s, err := poll(t, d)
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	return s
}

func metric(s drivers.Sample, name string) (any, bool) {
	for _, m := range s.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return nil, false
}

func condNames(s drivers.Sample) []string {
	var n []string
	for _, c := range s.Conditions {
		n = append(n, c.Name+"/"+string(c.Severity))
	}
	return n
}

func eventTypes(s drivers.Sample) []string {
	var n []string
	for _, e := range s.Events {
		n = append(n, e.Type)
	}
	return n
}

// step is one stage of a scenario test: change the simulated UPS, poll,
// and check what the driver reports.
type step struct {
	name   string
	set    func(*upssim.State)
	status string
	conds  []string
	events []string
	// check looks at further metrics.
	check func(t *testing.T, s drivers.Sample)
}

func runSteps(t *testing.T, sim *upssim.Sim, d *Driver, steps []step) {
	t.Helper()
	for _, st := range steps {
		if st.set != nil {
			sim.Update(st.set)
		}
		s := mustPoll(t, d)
		if v, _ := metric(s, "ups.status"); v != st.status {
			t.Errorf("%s: ups.status = %v, want %q", st.name, v, st.status)
		}
		if got := condNames(s); !slices.Equal(got, st.conds) {
			t.Errorf("%s: conditions = %v, want %v", st.name, got, st.conds)
		}
		if got := eventTypes(s); !slices.Equal(got, st.events) {
			t.Errorf("%s: events = %v, want %v", st.name, got, st.events)
		}
		if st.check != nil {
			st.check(t, s)
		}
	}
}

func wantNum(name string, want float64) func(t *testing.T, s drivers.Sample) {
	return func(t *testing.T, s drivers.Sample) {
		t.Helper()
		if v, _ := metric(s, name); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
}

func TestScenariosOverPTY(t *testing.T) {
	onBatt := func(s *upssim.State) { s.OnBattery, s.Charge, s.RuntimeMin, s.BattV = true, 80, 20, 24.6 }
	low := func(s *upssim.State) { s.LowBattery, s.Charge, s.RuntimeMin, s.BattV = true, 10, 2, 22.0 }
	back := func(s *upssim.State) { s.OnBattery, s.LowBattery, s.Charge, s.BattV = false, false, 50, 26.4 }
	full := func(s *upssim.State) { *s = upssim.Normal() }
	cases := []struct {
		proto      upssim.Protocol
		config     string
		steps      []step
		wantProto  string
		wantModel  string
		chargeBase float64
	}{
		{proto: upssim.Megatec, config: ProtoAuto, wantProto: ProtoMegatec, wantModel: "SIM-1000", steps: []step{
			{name: "normal", status: "OL", check: wantNum("input.voltage", 230.1)},
			{name: "mains failure", set: onBatt, status: "OB DISCHRG", conds: []string{"ups.on_battery/major"}, events: []string{"ups.power_lost"},
				check: wantNum("input.voltage", 0)},
			{name: "low battery", set: low, status: "OB DISCHRG LB", conds: []string{"ups.low_battery/critical", "ups.on_battery/major"}, events: []string{"ups.battery_low"}},
			{name: "recovery", set: back, status: "OL", events: []string{"ups.power_restored"}, check: wantNum("battery.voltage", 26.4)},
			{name: "garbage", set: func(s *upssim.State) { full(s); s.Garbage = true }, status: "OL", check: wantNum("output.voltage", 230.1)},
			{name: "no CR", set: func(s *upssim.State) { s.Garbage, s.NoCR = false, true }, status: "OL", check: wantNum("ups.load", 23)},
		}},
		{proto: upssim.APCSmart, config: ProtoAuto, wantProto: ProtoAPCSmart, wantModel: "Smart-UPS 750", steps: []step{
			{name: "normal", status: "OL", check: wantNum("battery.runtime", 42*60)},
			{name: "mains failure", set: onBatt, status: "OB DISCHRG", conds: []string{"ups.on_battery/major"}, events: []string{"ups.power_lost"},
				check: wantNum("battery.charge", 80)},
			{name: "low battery", set: low, status: "OB DISCHRG LB", conds: []string{"ups.low_battery/critical", "ups.on_battery/major"}, events: []string{"ups.battery_low"}},
			{name: "recovery", set: back, status: "OL CHRG", events: []string{"ups.power_restored"}, check: wantNum("battery.charge", 50)},
			{name: "replace battery", set: func(s *upssim.State) { full(s); s.ReplaceBattery = true }, status: "OL RB", conds: []string{"ups.replace_battery/minor"}},
			{name: "overload", set: func(s *upssim.State) { s.Overload = true }, status: "OL RB OVER", conds: []string{"ups.overload/major", "ups.replace_battery/minor"}},
			{name: "battery replaced", set: full, status: "OL", events: []string{"ups.battery_replaced", "ups.overload_cleared"}},
			{name: "garbage", set: func(s *upssim.State) { s.Garbage = true }, status: "OL", check: wantNum("ups.load", 23)},
		}},
		{proto: upssim.APCSmart, config: ProtoAPCSmart, wantProto: ProtoAPCSmart, wantModel: "Smart-UPS 750", steps: []step{
			{name: "normal", status: "OL", check: wantNum("ups.temperature", 29)},
		}},
	}
	for _, tc := range cases {
		t.Run(string(tc.proto)+"/"+tc.config, func(t *testing.T) {
			sim := newSim(t, tc.proto)
			d := newDriver(t, sim.Path(), tc.config)
			runSteps(t, sim, d, tc.steps)
			s := mustPoll(t, d)
			if v, _ := metric(s, "ups.protocol"); v != tc.wantProto {
				t.Errorf("ups.protocol = %v, want %s", v, tc.wantProto)
			}
			if v, _ := metric(s, "device.model"); v != tc.wantModel {
				t.Errorf("device.model = %v, want %s", v, tc.wantModel)
			}
		})
	}
}

// TestSilenceAndUnplug covers a UPS that stops answering and an adapter
// that disappears and comes back: both fail as unreachable, and the
// driver recovers on its own once the device is back.
func TestSilenceAndUnplug(t *testing.T) {
	for _, proto := range []upssim.Protocol{upssim.Megatec, upssim.APCSmart} {
		t.Run(string(proto), func(t *testing.T) {
			sim := newSim(t, proto)
			d := newDriver(t, sim.Path(), ProtoAuto)
			mustPoll(t, d)

			sim.Update(func(s *upssim.State) { s.Silent = true })
			if _, err := poll(t, d); !errors.Is(err, drivers.ErrUnreachable) {
				t.Fatalf("silent UPS: err = %v, want ErrUnreachable", err)
			}
			sim.Update(func(s *upssim.State) { s.Silent = false })
			mustPoll(t, d)

			if err := sim.Unplug(); err != nil {
				t.Fatal(err)
			}
			_, err := poll(t, d)
			if !errors.Is(err, drivers.ErrUnreachable) {
				t.Fatalf("unplugged: err = %v, want ErrUnreachable", err)
			}
			_, err = poll(t, d)
			if !errors.Is(err, drivers.ErrUnreachable) || !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("still unplugged: err = %v, want ErrUnreachable wrapping ErrNotExist", err)
			}
			sim.Update(func(s *upssim.State) { s.OnBattery = true })
			if err := sim.Replug(); err != nil {
				t.Fatal(err)
			}
			s := mustPoll(t, d)
			if got := condNames(s); !slices.Equal(got, []string{"ups.on_battery/major"}) {
				t.Errorf("after replug: conditions = %v", got)
			}
			if got := eventTypes(s); !slices.Equal(got, []string{"ups.power_lost"}) {
				t.Errorf("after replug: events = %v, want the edge seen across the replug", got)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		fields []string
	}{
		{"ok", func(c *Config) { c.Port = "/dev/ttyS0" }, nil},
		{"no port", func(c *Config) {}, []string{"port"}},
		{"bad protocol and baud", func(c *Config) { c.Port, c.Protocol, c.Baud = "/dev/x", "nut", 1234 }, []string{"protocol", "baud"}},
		{"bad line", func(c *Config) { c.Port, c.Parity, c.DataBits, c.StopBits = "/dev/x", "mark", 5, 3 }, []string{"parity", "data_bits", "stop_bits"}},
		{"bad timeout", func(c *Config) { c.Port, c.ReplyTimeout = "/dev/x", time.Millisecond }, []string{"reply_timeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mutate(&cfg)
			_, err := New(cfg, nil)
			var got []string
			for _, e := range unjoin(err) {
				var fe *drivers.FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("error %v is not a *drivers.FieldError", e)
				}
				got = append(got, fe.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("fields = %v, want %v", got, tc.fields)
			}
		})
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestRegistered(t *testing.T) {
	f, ok := drivers.Lookup("ups")
	if !ok {
		t.Fatal("driver ups is not registered")
	}
	cfg := f.NewConfig().(*Config)
	if cfg.Protocol != ProtoAuto || cfg.Baud != 2400 {
		t.Errorf("defaults = %+v", cfg)
	}
	if _, err := f.New(drivers.Device{ID: "usv"}, cfg, nil); err == nil {
		t.Error("New accepted a config without port")
	}
}
