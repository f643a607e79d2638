package gateway

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers"
	_ "github.com/praxisgate/praxisgate/drivers/sim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/schedule"
)

type sub struct {
	mu   sync.Mutex
	msgs []string // "topic payload"
}

func subscribeAll(t *testing.T, url string) *sub {
	t.Helper()
	s := &sub{}
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("t-%d", time.Now().UnixNano())))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	tok := cl.Subscribe("praxisgate/v1/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		s.msgs = append(s.msgs, m.Topic()+" "+string(m.Payload()))
		s.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}

func (s *sub) count(parts ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
next:
	for _, m := range s.msgs {
		for _, p := range parts {
			if !strings.Contains(m, p) {
				continue next
			}
		}
		n++
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func load(t *testing.T, dir, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func start(t *testing.T, cfg *config.Config) (*Gateway, func()) {
	t.Helper()
	g, err := New(cfg, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	return g, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("gateway did not stop")
		}
	}
}

// A buffer directory that cannot be opened is moved aside; the gateway
// starts with an empty buffer and tells the provider.
func TestCorruptBufferIsMovedAside(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	bufDir := filepath.Join(dir, "buffer")
	if err := os.MkdirAll(bufDir, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"MANIFEST", "000001.vlog", "KEYREGISTRY"} {
		if err := os.WriteFile(filepath.Join(bufDir, name), []byte("this is not a badger file\x00\xff\x13"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	s := subscribeAll(t, mq.URL())
	cfg := load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
devices: [{id: f, driver: sim, interval: 1s, sim: {scenario: fridge}}]
`, dir, mq.URL()))
	_, stop := start(t, cfg)
	defer stop()
	waitFor(t, "buffer.reset event", func() bool { return s.count("/event/gateway", `"type":"buffer.reset"`, `"severity":"major"`) == 1 })
	waitFor(t, "telemetry through the new buffer", func() bool { return s.count("/telemetry/f ") > 0 })
	moved, _ := filepath.Glob(filepath.Join(dir, "buffer.corrupt-*"))
	if len(moved) != 1 {
		t.Fatalf("corrupt buffer not moved aside: %v", moved)
	}
	if _, err := os.Stat(filepath.Join(moved[0], "MANIFEST")); err != nil {
		t.Fatalf("moved buffer lost its files: %v", err)
	}
}

// The vaccine fridge door is left open: the alarm is raised after the
// minimum duration, published with the retained alarm set, and cleared when
// the fridge has cooled down.
func TestFridgeAlarmRaisedAndCleared(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	s := subscribeAll(t, mq.URL())
	// 120x speed: the door opens at 2 minutes (1 s) for 4 minutes (2 s).
	cfg := load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
devices:
  - {id: fridge, driver: sim, kind: fridge, interval: 1s, sim: {scenario: fridge, speed: 120, episodes: [{at: 2m, for: 4m}]}}
alarms:
  - {device: fridge, metric: temperature, above: 8, for: 1s, hysteresis: 0.5, severity: critical}
`, dir, mq.URL()))
	g, stop := start(t, cfg)
	defer stop()
	waitFor(t, "alarm raised", func() bool { return s.count("/event/fridge", `"type":"alarm.raised"`, `"severity":"critical"`) == 1 })
	waitFor(t, "retained alarm set with the fridge", func() bool { return s.count("/alarms ", `"fridge/temperature.above"`) >= 1 })
	if a := g.Alarms(); len(a) != 1 || a[0].ID != "fridge/temperature.above" {
		t.Fatalf("active alarms %+v", a)
	}
	waitFor(t, "alarm cleared", func() bool { return s.count("/event/fridge", `"type":"alarm.cleared"`) == 1 })
	waitFor(t, "empty retained alarm set", func() bool { return s.count("/alarms ", `"alarms":[]`) >= 2 })
	if n := s.count("/event/fridge", `"type":"alarm.raised"`); n != 1 {
		t.Fatalf("alarm raised %d times", n)
	}
}

// deviceByID finds a running device.
func deviceByID(g *Gateway, id string) (Device, bool) {
	for _, d := range g.Devices() {
		if d.Config.ID == id {
			return d, true
		}
	}
	return Device{}, false
}

// shownDevice is a configured device with its latest result, as the web
// page's Geräte list shows it.
type shownDevice struct {
	ID       string
	Disabled bool
	At       time.Time
	Metrics  []drivers.Metric
}

func shownDevices(g *Gateway) []shownDevice {
	latest := map[string]Latest{}
	for _, l := range g.Latest() {
		latest[l.Sample.Device] = l
	}
	var out []shownDevice
	for _, dc := range g.Config().Devices {
		d := shownDevice{ID: dc.ID, Disabled: dc.Disabled}
		if l, ok := latest[dc.ID]; ok {
			d.At, d.Metrics = l.At, l.Sample.Metrics
		}
		out = append(out, d)
	}
	return out
}

// handle passes good readings to the OnSample observers, never the
// readings kept from before a failed poll.
func TestOnSampleSeesGoodReadings(t *testing.T) {
	dir := t.TempDir()
	cfg := load(t, dir, fmt.Sprintf("site: s\ngateway: g\nstate_dir: %s\nuplink: {broker: \"tcp://127.0.0.1:1\"}\n", dir))
	g, err := New(cfg, Options{Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.closeAll()
	var seen []string
	g.OnSample(func(s drivers.Sample) { seen = append(seen, s.Device) })
	now := time.Now()
	good := drivers.Sample{Device: "fridge", Kind: "fridge", Time: now, Metrics: []drivers.Metric{drivers.Num("temperature", 5.5, "°C")}}
	g.handle(schedule.Result{Sample: good})
	g.handle(schedule.Result{Sample: drivers.Sample{Device: "fridge", Time: now.Add(time.Second)}, Err: errors.New("timeout")})
	if len(seen) != 1 || seen[0] != "fridge" {
		t.Fatalf("observer saw %v, want the one good reading", seen)
	}
}

// polled tells whether a device has a result (good or failed) yet.
func polled(g *Gateway, id string) bool {
	for _, l := range g.Latest() {
		if l.Sample.Device == id {
			return true
		}
	}
	return false
}
