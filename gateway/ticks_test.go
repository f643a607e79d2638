package gateway

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// A fridge whose sensor falls silent: the scheduler's unreachable event
// becomes an alarm through handle, and runTicks raises "sensor offline"
// once stale_after has passed without a reading; both reach the broker.
func TestStaleAndUnreachableAlarmsReachTheBroker(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	s := subscribeAll(t, mq.URL())
	cfg := load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
devices:
  - {id: fridge, driver: sim, kind: fridge, interval: 1s, unreachable_after: 2, sim: {scenario: fridge, failures: [{at: 2s, for: 1h}]}}
alarms:
  - {device: fridge, metric: temperature, above: 8, below: 2, stale_after: 3s, severity: critical}
`, dir, mq.URL()))
	g, stop := start(t, cfg)
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.runTicks(ctx, 100*time.Millisecond, g.alarms)
	}()
	defer func() { cancel(); <-done }()
	waitFor(t, "unreachable alarm", func() bool {
		return s.count("/event/fridge", `"type":"alarm.raised"`, `"alarm":"fridge/device.unreachable"`) == 1
	})
	waitFor(t, "sensor offline alarm", func() bool {
		return s.count("/event/fridge", `"type":"alarm.raised"`, `"alarm":"fridge/temperature.stale"`, `"severity":"critical"`) == 1
	})
	waitFor(t, "retained set with both", func() bool {
		return s.count("/alarms ", `"fridge/device.unreachable"`, `"fridge/temperature.stale"`) >= 1
	})
	time.Sleep(1500 * time.Millisecond) // more ticks and failed polls raise nothing twice
	if n := s.count("/event/fridge", `"type":"alarm.raised"`); n != 2 {
		t.Fatalf("%d alarm.raised events, want 2", n)
	}
}
