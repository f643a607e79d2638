package upshid

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/upshid/upshidsim"
)

func simUPS(t *testing.T, stem, serial string) *upshidsim.UPS {
	t.Helper()
	rec := filepath.Join(hidData, stem+".reports.txt")
	if _, err := os.Stat(rec); err != nil {
		rec = ""
	}
	state := ""
	if rec != "" {
		state = "online"
	}
	u, err := upshidsim.Load(filepath.Join(hidData, stem+".rdesc.hex"), rec, state)
	if err != nil {
		t.Fatal(err)
	}
	u.Serial, u.Vendor, u.Product, u.Name = serial, 0x051d, 0x0002, "Back-UPS SIM FW:1.0"
	return u
}

func newBus(t *testing.T) *upshidsim.Bus {
	t.Helper()
	b, err := upshidsim.NewBus(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestDriver(t *testing.T, bus *upshidsim.Bus, cfg Config) *Driver {
	t.Helper()
	cfg.SysRoot, cfg.DevRoot = bus.Roots.Sys, bus.Roots.Dev
	cfg.RescanEvery = 20 * time.Millisecond
	d, err := New(drivers.Device{ID: "usv", StateDir: t.TempDir()}, cfg,
		slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	d.open = func(p string) (Conn, error) { return bus.Open(p) }
	t.Cleanup(func() { d.Close() })
	return d
}

func pollOK(t testing.TB, d *Driver) drivers.Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := d.Poll(ctx)
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("sample: %v", err)
	}
	return s
}

func metricOf(s drivers.Sample, name string) any {
	for _, m := range s.Metrics {
		if m.Name == name {
			return m.Value
		}
	}
	return nil
}

func TestPollFindsUPSWithoutConfig(t *testing.T) {
	bus := newBus(t)
	u := simUPS(t, "apc-back-ups-bx1600mi", "4B1948P07984")
	if _, err := bus.Attach(u); err != nil {
		t.Fatal(err)
	}
	d := newTestDriver(t, bus, Config{})
	s := pollOK(t, d)
	for k, want := range map[string]any{
		"ups.status": "OL", "battery.charge": 100.0, "input.voltage": 237.0, "device.serial": "4B1948P07984",
		"device.model": "Back-UPS SIM", "ups.firmware": "1.0", "device.mfr": "Simulated", "device.usb_id": "051d:0002",
	} {
		if got := metricOf(s, k); got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if len(s.Conditions) != 0 {
		t.Errorf("conditions on a healthy UPS: %v", s.Conditions)
	}
}

func TestPollMainsLossAndBack(t *testing.T) {
	bus := newBus(t)
	u := simUPS(t, "legrand-keor-ups-1cb0-0032", "L1")
	bus.Attach(u)
	d := newTestDriver(t, bus, Config{})
	pollOK(t, d)
	if err := u.Mains(false); err != nil {
		t.Fatal(err)
	}
	s := pollOK(t, d)
	if got := metricOf(s, "ups.status"); got != "OB DISCHRG" {
		t.Errorf("status %v", got)
	}
	if !slices.ContainsFunc(s.Conditions, func(c drivers.Condition) bool { return c.Name == "ups.on_battery" }) {
		t.Errorf("no ups.on_battery condition: %v", s.Conditions)
	}
	if len(s.Events) != 1 || s.Events[0].Type != "ups.power_lost" {
		t.Errorf("events %v", s.Events)
	}
	u.Mains(true)
	s = pollOK(t, d)
	if len(s.Events) != 1 || s.Events[0].Type != "ups.power_restored" {
		t.Errorf("events %v", s.Events)
	}
}

func TestSeveralUPSesNeedSerial(t *testing.T) {
	bus := newBus(t)
	bus.Attach(simUPS(t, "apc-back-ups-bx1600mi", "AAA"))
	bus.Attach(simUPS(t, "eaton-3s-700", "BBB"))
	d := newTestDriver(t, bus, Config{})
	if _, err := d.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "set serial") {
		t.Fatalf("want a pick-one error, got %v", err)
	}
	d2 := newTestDriver(t, bus, Config{Serial: "BBB"})
	s := pollOK(t, d2)
	if got := metricOf(s, "device.serial"); got != "BBB" {
		t.Errorf("serial %v", got)
	}
	if got := metricOf(s, "battery.charge"); got != 92.0 {
		t.Errorf("charge %v (want the Eaton's 92)", got)
	}
}

// collector gathers events from Watch.
type collector struct {
	mu sync.Mutex
	ev []drivers.Event
	ch chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 100)} }

func (c *collector) emit(e drivers.Event) {
	c.mu.Lock()
	c.ev = append(c.ev, e)
	c.mu.Unlock()
	c.ch <- struct{}{}
}

// wait returns the first event of type typ, failing after a hang guard.
func (c *collector) wait(t testing.TB, typ string) drivers.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		for _, e := range c.ev {
			if e.Type == typ {
				c.mu.Unlock()
				return e
			}
		}
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("no %s event; got %v", typ, c.ev)
		}
	}
}

func startWatch(t *testing.T, d *Driver) *collector {
	t.Helper()
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Watch(ctx, c.emit) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Watch did not end")
		}
	})
	return c
}

// TestWatchTurnsInputReportIntoEvent: mains loss arrives as an interrupt
// report and becomes an event without any Poll.
func TestWatchTurnsInputReportIntoEvent(t *testing.T) {
	bus := newBus(t)
	u := simUPS(t, "apc-back-ups-bx1600mi", "S1")
	bus.Attach(u)
	d := newTestDriver(t, bus, Config{})
	c := startWatch(t, d)
	waitConnected(t, d)
	if err := u.Mains(false); err != nil {
		t.Fatal(err)
	}
	e := c.wait(t, "ups.power_lost")
	if e.Device != "usv" {
		t.Errorf("device %q", e.Device)
	}
	m, _ := e.Attrs["metrics"].(map[string]any)
	if m["ups.status"] != "OB DISCHRG" || m["battery.charge"] != 100.0 {
		t.Errorf("event metrics %v", m)
	}
	u.Mains(true)
	c.wait(t, "ups.power_restored")
}

func waitConnected(t testing.TB, d *Driver) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		d.mu.Lock()
		ok := d.conn != nil && d.prev != nil
		d.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("watch never connected")
}

// TestReenumerationMidOutage: the UPS drops off the bus on battery and
// comes back under another hidraw number; the watch finds it by serial,
// and a second UPS on the bus is not taken for it.
func TestReenumerationMidOutage(t *testing.T) {
	bus := newBus(t)
	u := simUPS(t, "legrand-keor-ups-1cb0-0032", "KEOR-1")
	path, _ := bus.Attach(u)
	d := newTestDriver(t, bus, Config{})
	c := startWatch(t, d)
	waitConnected(t, d)
	u.Mains(false)
	c.wait(t, "ups.power_lost")
	if err := bus.Detach(path); err != nil {
		t.Fatal(err)
	}
	other := simUPS(t, "eaton-3s-700", "OTHER")
	bus.Attach(other)
	u.Mains(true)
	path2, _ := bus.Attach(u)
	if path2 == path {
		t.Fatalf("re-attached under the same node %s", path)
	}
	c.wait(t, "ups.power_restored")
	s := pollOK(t, d)
	if got := metricOf(s, "device.serial"); got != "KEOR-1" {
		t.Errorf("following %v, want KEOR-1", got)
	}
	d.mu.Lock()
	node := d.node.Path
	d.mu.Unlock()
	if node != path2 {
		t.Errorf("reading %s, want %s", node, path2)
	}
}

// TestSilentUPSIsUnreachable: a UPS that stops answering GET_REPORT is
// reported unreachable, and is read again once it answers.
func TestSilentUPSIsUnreachable(t *testing.T) {
	bus := newBus(t)
	u := simUPS(t, "eaton-3s-700", "E1")
	bus.Attach(u)
	d := newTestDriver(t, bus, Config{})
	pollOK(t, d)
	u.Silent(true)
	if _, err := d.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), drivers.ErrUnreachable.Error()) {
		t.Fatalf("want unreachable, got %v", err)
	}
	u.Silent(false)
	pollOK(t, d)
}

func TestSelfTestResultEvent(t *testing.T) {
	bus := newBus(t)
	u := simUPS(t, "apc-back-ups-bx1600mi", "T1")
	bus.Attach(u)
	d := newTestDriver(t, bus, Config{})
	pollOK(t, d)
	if err := d.SelfTest(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	s := pollOK(t, d)
	if got := metricOf(s, "ups.test.result"); got != "In progress" {
		t.Errorf("test result %v", got)
	}
	u.FinishTest(3)
	s = pollOK(t, d)
	if len(s.Events) != 1 || s.Events[0].Type != "ups.self_test" || s.Events[0].Severity != drivers.Major {
		t.Errorf("events %+v", s.Events)
	}
}

func TestReplaceBatteryAndLowBattery(t *testing.T) {
	bus := newBus(t)
	u := simUPS(t, "apc-back-ups-bx1600mi", "R1")
	bus.Attach(u)
	d := newTestDriver(t, bus, Config{})
	pollOK(t, d)
	u.Set(upshidsim.NeedReplacement, 1)
	u.Mains(false)
	u.Set(upshidsim.BelowCapacity, 1)
	s := pollOK(t, d)
	if got := metricOf(s, "ups.status"); got != "OB LB RB DISCHRG" {
		t.Errorf("status %v", got)
	}
	var names []string
	for _, c := range s.Conditions {
		names = append(names, c.Name)
	}
	for _, want := range []string{"ups.low_battery", "ups.on_battery", "ups.replace_battery"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s in %v", want, names)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	bad := -0.5
	for _, cfg := range []Config{{Device: "hidraw0"}, {RescanEvery: time.Hour}, {WearRatio: &bad}} {
		if _, err := New(drivers.Device{}, cfg, nil); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// samples collects what WatchSamples pushes.
type samples struct {
	mu  sync.Mutex
	got []drivers.Sample
	ch  chan struct{}
}

func (c *samples) take(s drivers.Sample) error {
	c.mu.Lock()
	c.got = append(c.got, s)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
	return nil
}

// wait returns the first sample after index from that satisfies ok.
func (c *samples) wait(t testing.TB, from int, what string, ok func(drivers.Sample) bool) (drivers.Sample, int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		for i := from; i < len(c.got); i++ {
			if ok(c.got[i]) {
				s := c.got[i]
				c.mu.Unlock()
				return s, i + 1
			}
		}
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("no pushed sample with %s", what)
		}
	}
}

func hasCondition(s drivers.Sample, name string) bool {
	return slices.ContainsFunc(s.Conditions, func(c drivers.Condition) bool { return c.Name == name })
}

// TestWatchSamplesPushMainsLoss: with a sample sink (the gateway), mains
// loss as an interrupt report becomes a complete reading at once: status,
// the on-battery condition and the power_lost event, with no Poll. After
// the UPS re-enumerates, its first reading is pushed too.
func TestWatchSamplesPushMainsLoss(t *testing.T) {
	bus := newBus(t)
	u := simUPS(t, "apc-back-ups-bx1600mi", "P1")
	path, _ := bus.Attach(u)
	d := newTestDriver(t, bus, Config{})
	d.sampleGap = 50 * time.Millisecond
	c := &samples{ch: make(chan struct{}, 1)}
	ev := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.WatchSamples(ctx, ev.emit, c.take) }()
	defer func() { cancel(); <-done }()

	s, next := c.wait(t, 0, "the first reading", func(s drivers.Sample) bool { return metricOf(s, "ups.status") == "OL" })
	if metricOf(s, "battery.charge") != 100.0 || metricOf(s, "device.serial") != "P1" {
		t.Errorf("first reading %v", s.Metrics)
	}
	// A value of no consequence comes too, held briefly for the rest of
	// its burst.
	if err := u.Set(upshidsim.RemainingCap, 90); err != nil {
		t.Fatal(err)
	}
	s, next = c.wait(t, next, "charge 90", func(s drivers.Sample) bool { return metricOf(s, "battery.charge") == 90.0 })
	if len(s.Events) != 0 || metricOf(s, "ups.status") != "OL" {
		t.Errorf("value change: events %v, status %v", s.Events, metricOf(s, "ups.status"))
	}
	if err := u.Mains(false); err != nil {
		t.Fatal(err)
	}
	s, next = c.wait(t, next, "status OB", func(s drivers.Sample) bool { return metricOf(s, "ups.status") == "OB DISCHRG" })
	if !hasCondition(s, "ups.on_battery") {
		t.Errorf("no ups.on_battery condition: %v", s.Conditions)
	}
	if len(s.Events) != 1 || s.Events[0].Type != "ups.power_lost" {
		t.Errorf("events %+v", s.Events)
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
	ev.mu.Lock()
	if len(ev.ev) != 0 {
		t.Errorf("events emitted beside the sample: %v", ev.ev)
	}
	ev.mu.Unlock()

	bus.Detach(path)
	u.Mains(true)
	bus.Attach(u)
	s, _ = c.wait(t, next, "the reading after re-enumeration", func(s drivers.Sample) bool { return metricOf(s, "ups.status") == "OL" })
	if len(s.Events) != 1 || s.Events[0].Type != "ups.power_restored" {
		t.Errorf("events after re-enumeration %+v", s.Events)
	}
}
