// Package gwtest starts real gateways for the tests of the packages built
// on the gateway core (commands, web backend, self-update, NUT server,
// fridge history): a config from YAML, a running gateway, a subscriber on
// the broker, and a bounded wait.
package gwtest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// Load parses yaml as the file test.yaml in dir, failing the test on a
// problem.
func Load(t testing.TB, dir, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// running are the gateways Run started.
var running sync.Map

// New builds a gateway of version. At the end of the test, a gateway that
// Run did not start is run with an ended context, which closes its buffer
// and drivers the way a real shutdown does.
func New(t testing.TB, cfg *config.Config, version string) *gateway.Gateway {
	t.Helper()
	g, err := gateway.New(cfg, gateway.Options{Version: version})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, ran := running.Load(g); !ran {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			g.Run(ctx)
		}
	})
	return g
}

// Run runs g until the returned stop is called (and at the latest at the
// end of the test), failing the test when Run fails or hangs.
func Run(t testing.TB, g *gateway.Gateway) (stop func()) {
	t.Helper()
	running.Store(g, true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("gateway did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Start builds and runs a gateway of version "test".
func Start(t testing.TB, cfg *config.Config) (*gateway.Gateway, func()) {
	t.Helper()
	g := New(t, cfg, "test")
	return g, Run(t, g)
}

// WaitFor polls cond until it holds, failing the test after 30 s (a hang
// guard, not a timing assertion).
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Sub records every message under praxisgate/v1/# as "topic payload".
type Sub struct {
	mu   sync.Mutex
	msgs []string
}

// SubscribeAll subscribes to praxisgate/v1/# on the broker at url.
func SubscribeAll(t testing.TB, url string) *Sub {
	t.Helper()
	s := &Sub{}
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

// Count is the number of messages containing every one of parts.
func (s *Sub) Count(parts ...string) int {
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

// Messages returns a copy of what arrived so far.
func (s *Sub) Messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}
