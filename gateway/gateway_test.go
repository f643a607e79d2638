package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	_ "github.com/praxisgate/praxisgate/drivers/sim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/config"
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
