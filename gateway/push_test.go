package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// pushprobe is a UPS whose test sends readings between polls, as a USB
// UPS's interrupt report does (drivers.SampleWatcher).
type pushprobe struct{}

type pushprobeConfig struct{}

var (
	pushMu    sync.Mutex
	pushSinks = map[string]chan drivers.Sample{}
)

func pushSink(id string) chan drivers.Sample {
	pushMu.Lock()
	defer pushMu.Unlock()
	if pushSinks[id] == nil {
		pushSinks[id] = make(chan drivers.Sample, 4)
	}
	return pushSinks[id]
}

func init() {
	drivers.Register(drivers.Spec[pushprobeConfig]{
		Name: "pushprobe", Kind: "ups", Doc: "a UPS whose test pushes readings",
		New: func(drivers.Device, pushprobeConfig, *slog.Logger) (drivers.Driver, error) { return pushprobe{}, nil },
	})
}

func (pushprobe) Poll(context.Context) (drivers.Sample, error) {
	return drivers.Sample{Metrics: []drivers.Metric{drivers.Text("ups.status", "OL")}}, nil
}

func (p pushprobe) Watch(ctx context.Context, emit func(drivers.Event)) error {
	<-ctx.Done()
	return nil
}

func (p pushprobe) WatchSamples(ctx context.Context, emit func(drivers.Event), sample func(drivers.Sample) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-pushSink("usv"):
			if err := sample(s); err != nil {
				return err
			}
		}
	}
}

// TestPushedSampleGoesThroughPipeline: a reading a driver pushes between
// polls (mains lost) is handled like a poll's result at once: the page's
// latest reading, the condition's alarm, the event and the telemetry at
// the broker, though the device's next poll is an hour away.
func TestPushedSampleGoesThroughPipeline(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	s := subscribeAll(t, mq.URL())
	cfg := load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
devices:
  - {id: usv, driver: pushprobe, interval: 1h}
`, dir, mq.URL()))
	g, stop := start(t, cfg)
	defer stop()
	waitFor(t, "the first poll", func() bool { return s.count("/telemetry/usv", `"OL"`) == 1 })
	pushSink("usv") <- drivers.Sample{
		Metrics:    []drivers.Metric{drivers.Text("ups.status", "OB DISCHRG")},
		Conditions: []drivers.Condition{{Name: "ups.on_battery", Severity: drivers.Major, Message: "on battery"}},
		Events:     []drivers.Event{{Type: "ups.power_lost", Severity: drivers.Major, Message: "mains lost"}},
	}
	waitFor(t, "pushed telemetry", func() bool { return s.count("/telemetry/usv", `"OB DISCHRG"`) == 1 })
	waitFor(t, "the driver's event", func() bool { return s.count("/event/usv", `"type":"ups.power_lost"`) == 1 })
	waitFor(t, "the condition's alarm", func() bool {
		return s.count("/event/usv", `"type":"alarm.raised"`, `"usv/ups.on_battery"`) == 1
	})
	if a := g.Alarms(); len(a) != 1 || a[0].ID != "usv/ups.on_battery" {
		t.Fatalf("active alarms %+v", a)
	}
	for _, l := range g.Latest() {
		if l.Sample.Device == "usv" && (len(l.Sample.Metrics) == 0 || l.Sample.Metrics[0].Value != "OB DISCHRG") {
			t.Fatalf("latest reading %+v", l.Sample.Metrics)
		}
	}
}
