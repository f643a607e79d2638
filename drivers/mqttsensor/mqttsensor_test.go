package mqttsensor

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// clock is a settable time source shared with paho's callback goroutine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func publisher(t *testing.T, url string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("test-publisher").SetAutoReconnect(true).SetConnectRetry(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic string, payload []byte, retained bool) {
	t.Helper()
	if tok := c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func newDriver(t *testing.T, cfg Config, clk *clock) *Driver {
	t.Helper()
	d, err := New(drivers.Device{ID: "kuehlschrank"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	dr := d.(*Driver)
	dr.now = clk.now
	t.Cleanup(func() { dr.Close() })
	return dr
}

// until polls until cond holds, for at most 10 s.
func until(t *testing.T, d *Driver, what string, cond func(drivers.Sample, error) bool) drivers.Sample {
	t.Helper()
	var s drivers.Sample
	var err error
	// A hang guard, not a speed check: on a loaded machine paho may take
	// seconds to notice a broker that went away.
	for i := 0; i < 1200; i++ {
		s, err = d.Poll(context.Background())
		if cond(s, err) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: never happened; last poll %+v, %v", what, s, err)
	return s
}

func hasMetric(s drivers.Sample, name string, want float64) bool {
	for _, m := range s.Metrics {
		if v, ok := m.Float(); ok && m.Name == name && v == want {
			return true
		}
	}
	return false
}

func hasCondition(s drivers.Sample, name string) bool {
	for _, c := range s.Conditions {
		if c.Name == name {
			return true
		}
	}
	return false
}

func TestTasmota(t *testing.T) {
	broker := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	pub := publisher(t, broker.URL())
	clk := &clock{t: time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)}
	cfg := defaults()
	cfg.Broker, cfg.Topic, cfg.StaleAfter = broker.URL(), "tasmota_5E2F1A", 10*time.Minute
	d := newDriver(t, cfg, clk)

	s, err := d.Poll(context.Background())
	if err != nil || len(s.Metrics) != 0 || len(s.Conditions) != 0 {
		t.Fatalf("first poll before any message = %+v, %v; want an empty sample", s, err)
	}
	published := clk.now()
	s = until(t, d, "reading arrives", func(s drivers.Sample, _ error) bool {
		publish(t, pub, "tele/tasmota_5E2F1A/SENSOR", fixture(t, "tasmota/ds18b20.json"), false)
		return hasMetric(s, "temperature", 4.8)
	})
	if !s.Time.Equal(published) {
		t.Errorf("sample time %v, want arrival time %v", s.Time, published)
	}

	// Still fresh just before stale_after; gone after it.
	clk.add(9 * time.Minute)
	if s, _ := d.Poll(context.Background()); !hasMetric(s, "temperature", 4.8) {
		t.Errorf("reading withheld before stale_after: %+v", s)
	}
	clk.add(2 * time.Minute)
	s, err = d.Poll(context.Background())
	if err != nil || len(s.Metrics) != 0 || !hasCondition(s, "mqttsensor.stale") {
		t.Errorf("stale poll = %+v, %v; want no metrics and mqttsensor.stale", s, err)
	}

	// The LWT says the plug lost power.
	publish(t, pub, "tele/tasmota_5E2F1A/LWT", []byte("Offline"), true)
	until(t, d, "offline condition", func(s drivers.Sample, _ error) bool { return hasCondition(s, "mqttsensor.offline") })

	// A garbled payload is reported, the next good one clears it.
	publish(t, pub, "tele/tasmota_5E2F1A/SENSOR", []byte(`{"DS18B20":{"Temperature":"err"}}`), false)
	until(t, d, "invalid condition", func(s drivers.Sample, _ error) bool { return hasCondition(s, "mqttsensor.invalid") })
	publish(t, pub, "tele/tasmota_5E2F1A/LWT", []byte("Online"), true)
	publish(t, pub, "tele/tasmota_5E2F1A/SENSOR", fixture(t, "tasmota/ds18b20-two.json"), false)
	s = until(t, d, "two probes, online again", func(s drivers.Sample, _ error) bool {
		return hasMetric(s, "temperature.ds18b20-2", -18.3) && !hasCondition(s, "mqttsensor.offline")
	})
	if hasCondition(s, "mqttsensor.invalid") || hasCondition(s, "mqttsensor.stale") {
		t.Errorf("conditions after a good reading: %v", s.Conditions)
	}
}

func TestZigbee2MQTT(t *testing.T) {
	broker := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	pub := publisher(t, broker.URL())
	clk := &clock{t: time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)}
	cfg := defaults()
	cfg.Broker, cfg.Source, cfg.Device = broker.URL(), "zigbee2mqtt", "Kühlschrank Impfstoffe"
	d := newDriver(t, cfg, clk)
	if _, err := d.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := until(t, d, "climate reading", func(s drivers.Sample, _ error) bool {
		publish(t, pub, "zigbee2mqtt/Kühlschrank Impfstoffe", fixture(t, "zigbee2mqtt/aqara-wsdcgq11lm.json"), false)
		return hasMetric(s, "temperature", 5.21)
	})
	if !hasMetric(s, "pressure", 100980) {
		t.Errorf("metrics = %v", s.Metrics)
	}
	publish(t, pub, "zigbee2mqtt/Kühlschrank Impfstoffe/availability", []byte(`{"state":"offline"}`), true)
	until(t, d, "offline", func(s drivers.Sample, _ error) bool { return hasCondition(s, "mqttsensor.offline") })
	// Another device's messages are not ours.
	publish(t, pub, "zigbee2mqtt/Serverraum", fixture(t, "zigbee2mqtt/sonoff-snzb-02.json"), false)
	publish(t, pub, "zigbee2mqtt/Kühlschrank Impfstoffe", fixture(t, "zigbee2mqtt/aqara-sjcgq11lm-leak.json"), false)
	s = until(t, d, "leak", func(s drivers.Sample, _ error) bool { return hasCondition(s, "water_leak") })
	if hasMetric(s, "temperature", 4.93) {
		t.Errorf("sample = %+v", s)
	}
}

func TestGenericAndBrokerLoss(t *testing.T) {
	// A password of this run only: once this broker is stopped, its port
	// may be taken by another test's broker (a parallel package, or another
	// suite on the machine), which must not look like this one coming back.
	pw := rand.Text()
	broker := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{Users: map[string]string{"gw": pw}})
	clk := &clock{t: time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)}
	cfg := defaults()
	cfg.Broker, cfg.Source, cfg.Topic, cfg.StaleAfter = broker.URL(), "generic", "praxis/keller/klima", 5*time.Minute
	cfg.Username, cfg.Password = "gw", drivers.Secret(pw)
	cfg.Values = []Value{{Name: "temperature", Path: "sensor.t", Unit: "°C", Scale: 0.1}}
	d := newDriver(t, cfg, clk)

	pubOpts := mqtt.NewClientOptions().AddBroker(broker.URL()).SetClientID("test-pub").SetUsername("gw").SetPassword(pw)
	pub := mqtt.NewClient(pubOpts)
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(50)
	until(t, d, "generic reading", func(s drivers.Sample, _ error) bool {
		pub.Publish("praxis/keller/klima", 0, false, []byte(`{"sensor":{"t":213}}`)).WaitTimeout(5 * time.Second)
		return hasMetric(s, "temperature", 21.3)
	})

	broker.Stop()
	// Fresh data outlives the broker until it is stale...
	if s, err := d.Poll(context.Background()); err != nil || !hasMetric(s, "temperature", 21.3) {
		t.Errorf("poll with the broker just gone = %+v, %v", s, err)
	}
	// ...then the broker is to blame.
	clk.add(6 * time.Minute)
	until(t, d, "unreachable", func(_ drivers.Sample, err error) bool {
		if errors.Is(err, drivers.ErrUnreachable) {
			return true
		}
		// A copy published before the stop and handled late (paho's
		// handler goroutine on a loaded machine) renews the reading's
		// time; let the stale time pass again.
		clk.add(6 * time.Minute)
		return false
	})

	// Paho reconnects and subscribes again by itself.
	broker.Restart()
	pub2 := mqtt.NewClient(pubOpts.SetClientID("test-pub-2"))
	if tok := pub2.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub2.Disconnect(50)
	for i := 0; i < 300; i++ {
		pub2.Publish("praxis/keller/klima", 0, false, []byte(`{"sensor":{"t":198}}`)).WaitTimeout(5 * time.Second)
		if s, err := d.Poll(context.Background()); err == nil && hasMetric(s, "temperature", 19.8) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no reading after the broker came back within 30 s")
}

func TestWrongPassword(t *testing.T) {
	broker := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{Users: map[string]string{"gw": "pw1"}})
	cfg := defaults()
	cfg.Broker, cfg.Topic, cfg.Username, cfg.Password = broker.URL(), "plug", "gw", "wrong-secret"
	d := newDriver(t, cfg, &clock{t: time.Now()})
	_, err := d.Poll(context.Background())
	if !errors.Is(err, drivers.ErrUnreachable) || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("Poll = %v, want ErrUnreachable without the password", err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"broker scheme", func(c *Config) { c.Broker = "http://x" }, "broker"},
		{"source", func(c *Config) { c.Source = "homematic" }, "source"},
		{"tasmota topic with slash", func(c *Config) { c.Topic = "tele/plug/SENSOR" }, "topic"},
		{"tasmota wildcard", func(c *Config) { c.Topic = "+" }, "topic"},
		{"z2m without device", func(c *Config) { c.Source = "zigbee2mqtt" }, "device"},
		{"z2m wildcard", func(c *Config) { c.Source, c.Device = "zigbee2mqtt", "#" }, "device"},
		{"generic without values", func(c *Config) { c.Source = "generic" }, "values"},
		{"bad path", func(c *Config) { c.Values = []Value{{Name: "t", Path: "a..b"}} }, "values[0].path"},
		{"stale", func(c *Config) { c.StaleAfter = 0 }, "stale_after"},
		{"client id", func(c *Config) { c.ClientID = "praxisgate-kuehlschrank-impf" }, "client_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults()
			c.Topic = "plug"
			tt.edit(&c)
			_, err := New(drivers.Device{ID: "x"}, c, nil)
			var fe *drivers.FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("New = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}

func TestDefaultClientIDs(t *testing.T) {
	ids := map[string]bool{}
	for _, dev := range []string{"usv", "kuehlschrank-impfstoffe", "kuehlschrank-impfstoffe-2", "kuehlschrank-labor-oben"} {
		c := defaults()
		c.Topic = "plug"
		d, err := New(drivers.Device{ID: dev}, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := d.(*Driver).cfg.ClientID
		if len(id) > 23 || ids[id] {
			t.Errorf("device %s: client id %q (too long or taken)", dev, id)
		}
		ids[id] = true
	}
	if !ids["praxisgate-usv"] {
		t.Errorf("short ids should stay readable: %v", ids)
	}
}
