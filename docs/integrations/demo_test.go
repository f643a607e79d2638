package integrations

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/gateway/demo"
)

// The demo's box (gateway/demo): site, gateway and its three devices.
const (
	demoSite    = "praxis-demo"
	demoGateway = "gw-demo"
	demoFridge  = "kuehlschrank-impf"
	demoUPS     = "usv-rack"
)

// runDemo runs `praxisgate demo` in-process against the broker at url
// (tcp://host:port) without the link outage, until the test ends or the
// returned stop is called (a clean shutdown: the box publishes its retained
// offline status). Its narration goes to the test log only when the test
// fails.
func runDemo(t *testing.T, url string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var out strings.Builder
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	})
	done := make(chan error, 1)
	go func() {
		_, err := demo.Run(ctx, demo.Options{Broker: url, DataDir: t.TempDir(), Version: "integrations-test", Out: w, Log: w})
		done <- err
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil && ctx.Err() == nil {
					t.Errorf("demo: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("demo did not stop within 30s")
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			mu.Lock()
			t.Logf("demo output:\n%s", out.String())
			mu.Unlock()
		}
	})
	return stop
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

var _ io.Writer = writerFunc(nil)

// observer is the test's own subscriber to the box's topics: the truth the
// values that come out of Telegraf/Prometheus or Zabbix are checked
// against.
type observer struct {
	mu sync.Mutex
	// fridge temperatures and UPS statuses as published, alarm ids seen in
	// the retained alarm set, and whether an alarm left the set again.
	temps    map[float64]bool
	statuses map[string]bool
	alarms   map[string]bool
	cleared  map[string]bool
	lastSet  map[string]bool
	raw      map[string]string          // last payload per topic
	payloads map[string]map[string]bool // every payload per topic
}

func observe(t *testing.T, url string) *observer {
	t.Helper()
	o := &observer{temps: map[float64]bool{}, statuses: map[string]bool{}, alarms: map[string]bool{},
		cleared: map[string]bool{}, lastSet: map[string]bool{}, raw: map[string]string{}, payloads: map[string]map[string]bool{}}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID("integrations-observer-" + filepath.Base(t.TempDir())).
		SetConnectTimeout(10 * time.Second)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe("praxisgate/v1/"+demoSite+"/"+demoGateway+"/#", 1, o.handle)
	})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("observer: connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return o
}

func (o *observer) handle(_ mqtt.Client, m mqtt.Message) {
	var doc struct {
		Device  string `json:"device"`
		Metrics []struct {
			Name  string `json:"name"`
			Value any    `json:"value"`
		} `json:"metrics"`
		Alarms *[]struct {
			ID string `json:"id"`
		} `json:"alarms"`
	}
	if err := json.Unmarshal(m.Payload(), &doc); err != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.raw[m.Topic()] = string(m.Payload())
	if o.payloads[m.Topic()] == nil {
		o.payloads[m.Topic()] = map[string]bool{}
	}
	o.payloads[m.Topic()][string(m.Payload())] = true
	switch {
	case strings.HasSuffix(m.Topic(), "/telemetry/"+demoFridge):
		for _, x := range doc.Metrics {
			if v, ok := x.Value.(float64); ok && x.Name == "temperature" {
				o.temps[v] = true
			}
		}
	case strings.HasSuffix(m.Topic(), "/telemetry/"+demoUPS):
		for _, x := range doc.Metrics {
			if v, ok := x.Value.(string); ok && x.Name == "ups.status" {
				o.statuses[v] = true
			}
		}
	case strings.HasSuffix(m.Topic(), "/alarms") && doc.Alarms != nil:
		set := map[string]bool{}
		for _, a := range *doc.Alarms {
			set[a.ID] = true
			o.alarms[a.ID] = true
		}
		for id := range o.lastSet {
			if !set[id] {
				o.cleared[id] = true
			}
		}
		o.lastSet = set
	}
}

func (o *observer) snapshot() (temps map[float64]bool, statuses, alarms, cleared, active map[string]bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cp := func(m map[string]bool) map[string]bool {
		c := make(map[string]bool, len(m))
		for k, v := range m {
			c[k] = v
		}
		return c
	}
	temps = make(map[float64]bool, len(o.temps))
	for k, v := range o.temps {
		temps[k] = v
	}
	return temps, cp(o.statuses), cp(o.alarms), cp(o.cleared), cp(o.lastSet)
}

// lastPayload returns the last message on the topic below the demo box's
// root, "" before any.
func (o *observer) lastPayload(below string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.raw["praxisgate/v1/"+demoSite+"/"+demoGateway+"/"+below]
}

// published reports whether the box published payload on topic.
func (o *observer) published(topic, payload string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.payloads[topic][payload]
}

// repoFile is a path in the repository, from this package's directory.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("runtime.Caller failed")
	}
	p := filepath.Join(filepath.Dir(self), "..", "..", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return p
}
