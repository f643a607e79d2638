// Package mqttsensor reads sensors that publish to the practice's local
// MQTT broker: Tasmota devices (tele/<topic>/SENSOR), zigbee2mqtt devices
// (zigbee2mqtt/<friendly name>) and any other JSON publisher by topic and
// JSON path. The sensors push; the driver keeps the latest reading and Poll
// hands it to the gateway on the device's schedule, withholding it once it
// is older than stale_after so a dead sensor cannot look healthy.
package mqttsensor

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/internal/jsonpath"
)

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "mqttsensor",
		Kind:     "sensor",
		Doc:      "sensors on the local MQTT broker: Tasmota, zigbee2mqtt or a topic with JSON paths",
		Defaults: defaults,
		New:      New,
	})
}

// Driver subscribes to one sensor's topics. Poll and the MQTT callbacks run
// on different goroutines; mu guards the state they share.
type Driver struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	paths []jsonpath.Path

	readingsTopic, availTopic string

	client mqtt.Client // set by the first Poll; only Poll and Close touch it

	mu        sync.Mutex
	started   time.Time // first Poll: the staleness clock for "never heard"
	last      reading
	lastAt    time.Time
	badErr    error // the newest payload could not be read
	offline   bool  // the device's own availability says offline
	connected bool
}

// New checks the config; it connects to nothing.
func New(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Values = append([]Value(nil), cfg.Values...)
	if err := cfg.check(dev.ID); err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg, log: log, now: time.Now}
	d.paths = jsonpath.Paths(cfg.Values)
	d.readingsTopic, d.availTopic = cfg.topics()
	return d, nil
}

// connect opens the session on first use. Paho reconnects by itself from
// then on, and onConnect subscribes again each time because the session is
// clean: nothing queued for a sensor reading is worth replaying.
func (d *Driver) connect(ctx context.Context) error {
	opts := mqtt.NewClientOptions().
		AddBroker(d.cfg.Broker).
		SetClientID(d.cfg.ClientID).
		SetUsername(d.cfg.Username).
		SetPassword(d.cfg.Password.Reveal()).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(false).
		SetMaxReconnectInterval(30 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetOrderMatters(false).
		SetOnConnectHandler(d.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			d.mu.Lock()
			d.connected = false
			d.mu.Unlock()
			d.log.Warn("mqttsensor: lost the local broker", "broker", d.cfg.Broker, "err", err)
		})
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		c.Disconnect(0)
		return fmt.Errorf("mqttsensor: connect %s: %w: %w", d.cfg.Broker, drivers.ErrUnreachable, ctx.Err())
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("mqttsensor: connect %s: %w: %w", d.cfg.Broker, drivers.ErrUnreachable, err)
	}
	d.client = c
	return nil
}

func (d *Driver) onConnect(c mqtt.Client) {
	d.mu.Lock()
	d.connected = true
	d.mu.Unlock()
	topics := map[string]byte{d.readingsTopic: 0}
	if d.availTopic != "" {
		topics[d.availTopic] = 0
	}
	// Not waited for here: paho calls this on its own goroutine and a
	// failed subscription shows up as stale data, which is reported.
	c.SubscribeMultiple(topics, d.onMessage)
}

func (d *Driver) onMessage(_ mqtt.Client, m mqtt.Message) {
	at := d.now()
	if m.Topic() == d.availTopic {
		online, err := parseAvailability(m.Payload())
		if err != nil {
			d.log.Warn("mqttsensor: unreadable availability", "topic", m.Topic(), "err", err)
			return
		}
		d.mu.Lock()
		d.offline = !online
		d.mu.Unlock()
		return
	}
	r, err := d.parse(m.Payload())
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		if d.badErr == nil {
			d.log.Warn("mqttsensor: unreadable payload", "topic", m.Topic(), "err", err)
		}
		d.badErr = err
		return
	}
	// offline is left to the availability topic: both firmwares publish
	// "online" when the device returns, and messages on two topics may
	// arrive in either order.
	d.last, d.lastAt, d.badErr = r, at, nil
}

func (d *Driver) parse(payload []byte) (reading, error) {
	if len(d.cfg.Values) > 0 {
		return parseValues(d.cfg.Values, d.paths, payload)
	}
	switch d.cfg.Source {
	case "tasmota":
		return parseTasmota(payload)
	case "zigbee2mqtt":
		return parseZ2M(payload)
	}
	return reading{}, fmt.Errorf("no values configured")
}

// Poll returns the latest reading, stamped with the time it arrived. Once
// it is older than stale_after it is withheld and the condition
// mqttsensor.stale is reported instead; if the broker itself is gone by
// then, Poll fails with drivers.ErrUnreachable.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	if d.client == nil {
		d.mu.Lock()
		if d.started.IsZero() {
			d.started = d.now()
		}
		d.mu.Unlock()
		if err := d.connect(ctx); err != nil {
			return drivers.Sample{}, err
		}
	}
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	var s drivers.Sample
	since := d.lastAt
	if since.IsZero() {
		since = d.started
	}
	age := now.Sub(since)
	switch {
	case !d.lastAt.IsZero() && age <= d.cfg.StaleAfter:
		s.Time = d.lastAt
		s.Metrics = append(s.Metrics, d.last.metrics...)
		s.Conditions = append(s.Conditions, d.last.conditions...)
	case age > d.cfg.StaleAfter:
		if !d.connected {
			return drivers.Sample{}, fmt.Errorf("mqttsensor: %w: local broker %s not connected and no reading on %s for %v",
				drivers.ErrUnreachable, d.cfg.Broker, d.readingsTopic, age.Round(time.Second))
		}
		msg := fmt.Sprintf("No reading on %s for %v.", d.readingsTopic, age.Round(time.Second))
		if d.lastAt.IsZero() {
			msg = fmt.Sprintf("No reading on %s since the gateway started %v ago.", d.readingsTopic, age.Round(time.Second))
		}
		s.Conditions = append(s.Conditions, drivers.Condition{Name: "mqttsensor.stale", Severity: drivers.Major, Message: msg})
	}
	// Else: never heard yet, but it is early; report nothing.
	if d.offline {
		s.Conditions = append(s.Conditions, drivers.Condition{Name: "mqttsensor.offline", Severity: drivers.Major,
			Message: fmt.Sprintf("%s reports the sensor offline.", d.availTopic)})
	}
	if d.badErr != nil {
		s.Conditions = append(s.Conditions, drivers.Condition{Name: "mqttsensor.invalid", Severity: drivers.Minor,
			Message: fmt.Sprintf("The newest payload on %s could not be read: %v.", d.readingsTopic, d.badErr)})
	}
	return s, nil
}

// Close ends the broker session.
func (d *Driver) Close() error {
	if d.client != nil {
		d.client.Disconnect(250)
		d.client = nil
	}
	return nil
}
