package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// flagSource is a reading source whose one condition and one level the
// test switches.
type flagSource struct {
	bad   atomic.Bool
	level atomic.Int64
}

func (f *flagSource) Poll(context.Context) (drivers.Sample, error) {
	s := drivers.Sample{Metrics: []drivers.Metric{drivers.Flag("thing.ok", !f.bad.Load()), drivers.Num("thing.level", float64(f.level.Load()), "")}}
	if f.bad.Load() {
		s.Conditions = []drivers.Condition{{Name: "thing.broken", Severity: drivers.Major, Message: "thing broken"}}
	}
	return s, nil
}

// A source added by the wiring reaches the broker as telemetry, its
// conditions raise and clear alarms, and alarm rules on it hold (also
// after a live config change), like a configured device's; its id cannot
// be taken twice, by the box itself or by a device adopted later.
func TestAddSource(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	s := subscribeAll(t, mq.URL())
	cfgFor := func(extra string) string {
		return fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
notify: {modem: {port: /dev/null}}
alarms: [{device: sms-modem, metric: thing.level, above: 5, severity: minor}]
devices:
  - {id: room, driver: sim, kind: room, interval: 1s, sim: {scenario: room}}
%s`, dir, mq.URL(), extra)
	}
	g, err := New(load(t, dir, cfgFor("")), Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	src := &flagSource{}
	if err := g.AddSource(Source{ID: "thing", Kind: "modem", Driver: src, Interval: time.Second}); err != nil {
		t.Fatalf("before Run: %v", err)
	}
	for _, id := range []string{"thing", "room", SelfDevice, ""} {
		if err := g.AddSource(Source{ID: id, Driver: src, Interval: time.Second}); !errors.Is(err, ErrSourceID) {
			t.Errorf("AddSource(%q): %v, want ErrSourceID", id, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitFor(t, "the source's telemetry", func() bool { return s.count("/telemetry/thing ", `"thing.ok"`, `"kind":"modem"`) >= 1 })
	src.bad.Store(true)
	waitFor(t, "its condition raised as an alarm", func() bool {
		return s.count("/event/thing ", `"type":"alarm.raised"`, `"thing/thing.broken"`) == 1
	})
	if a := g.Alarms(); !slices.ContainsFunc(a, func(a alarm.Alarm) bool { return a.ID == "thing/thing.broken" }) {
		t.Errorf("active alarms %+v", a)
	}
	src.bad.Store(false)
	waitFor(t, "its alarm cleared", func() bool { return s.count("/event/thing ", `"type":"alarm.cleared"`) == 1 })

	// Added while Run runs, it polls at once.
	modem := &flagSource{}
	if err := g.AddSource(Source{ID: config.NotifyDevice, Kind: "modem", Driver: modem, Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the late source's telemetry", func() bool { return s.count("/telemetry/sms-modem ") >= 1 })

	// A device adopted on the web page under a source's id waits for the
	// restart (where the config check refuses it) instead of breaking the
	// scheduler.
	a := g.Apply(context.Background(), load(t, dir, cfgFor("  - {id: thing, driver: sim, kind: room, interval: 1s, sim: {scenario: room}}\n")))
	if !slices.Contains(a.Restart, "devices") {
		t.Errorf("device under a source's id applied live: %+v", a)
	}
	if _, ok := deviceByID(g, "thing"); ok {
		t.Error("a device with the source's id runs")
	}
	// The rule on the modem's reading outlived the change.
	modem.level.Store(9)
	waitFor(t, "the rule on a source's reading", func() bool {
		return s.count("/event/sms-modem ", `"type":"alarm.raised"`, `thing.level`) == 1
	})
}
