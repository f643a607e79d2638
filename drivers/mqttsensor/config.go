package mqttsensor

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/internal/jsonpath"
)

// Config is the device's `mqttsensor:` section. The broker is the
// practice's LOCAL one (the Tasmota plugs and the zigbee2mqtt bridge publish
// there), never the provider's uplink broker.
type Config struct {
	// Broker is the local broker's URL: tcp://host:1883 or ssl://host:8883.
	Broker string `yaml:"broker"`
	// Username and Password log in to the broker, if it wants that.
	Username string         `yaml:"username"`
	Password drivers.Secret `yaml:"password"`
	// ClientID defaults to praxisgate-<device id>; it must be unique on
	// the broker or two clients keep disconnecting each other.
	ClientID string `yaml:"client_id"`
	// Source is tasmota, zigbee2mqtt or generic.
	Source string `yaml:"source"`
	// Topic is the Tasmota device topic (readings on tele/<topic>/SENSOR)
	// or, for generic, the full topic to subscribe to.
	Topic string `yaml:"topic"`
	// Device is the zigbee2mqtt friendly name (readings on
	// <base_topic>/<device>).
	Device string `yaml:"device"`
	// BaseTopic is zigbee2mqtt's base topic.
	BaseTopic string `yaml:"base_topic"`
	// StaleAfter is how old the last reading may be before it is no
	// longer reported. Tasmota sends every TelePeriod (300 s by default);
	// Zigbee sensors send on change and at least about hourly.
	StaleAfter time.Duration `yaml:"stale_after"`
	// Values picks readings by JSON path. Required for generic; for
	// tasmota and zigbee2mqtt it replaces the built-in mapping.
	Values []Value `yaml:"values"`
}

// Value is one reading picked out of a payload.
type Value = jsonpath.Value

func defaults() Config {
	return Config{
		Broker:     "tcp://127.0.0.1:1883",
		Source:     "tasmota",
		BaseTopic:  "zigbee2mqtt",
		StaleAfter: 30 * time.Minute,
	}
}

func (c *Config) check(deviceID string) error {
	var errs []error
	u, err := url.Parse(c.Broker)
	switch {
	case err != nil:
		errs = append(errs, drivers.Fieldf("broker", "%v", err))
	case u.Scheme != "tcp" && u.Scheme != "ssl" && u.Scheme != "mqtt" && u.Scheme != "mqtts":
		errs = append(errs, drivers.Fieldf("broker", "want tcp://, ssl://, mqtt:// or mqtts://, got %q", c.Broker))
	case u.Host == "":
		errs = append(errs, drivers.Fieldf("broker", "no host in %q", c.Broker))
	}
	if c.ClientID == "" {
		c.ClientID = "praxisgate-" + deviceID
		if len(c.ClientID) > 23 {
			// MQTT 3.1.1 brokers need only accept 23 bytes, and
			// cutting long ids would let kuehlschrank-impf and
			// kuehlschrank-labor kick each other off: use a hash.
			h := fnv.New32a()
			h.Write([]byte(deviceID))
			c.ClientID = fmt.Sprintf("praxisgate-%08x", h.Sum32())
		}
	}
	if len(c.ClientID) > 23 {
		errs = append(errs, drivers.Fieldf("client_id", "%q is longer than the 23 bytes every broker must accept", c.ClientID))
	}
	wild := func(field, s string) {
		if strings.ContainsAny(s, "+#") {
			errs = append(errs, drivers.Fieldf(field, "%q: wildcards are not allowed, name one sensor", s))
		}
	}
	switch c.Source {
	case "tasmota":
		if c.Topic == "" || strings.Contains(c.Topic, "/") {
			errs = append(errs, drivers.Fieldf("topic", "want the Tasmota device topic (e.g. tasmota_5E2F1A), got %q", c.Topic))
		}
		wild("topic", c.Topic)
	case "zigbee2mqtt":
		if c.Device == "" {
			errs = append(errs, drivers.Fieldf("device", "want the zigbee2mqtt friendly name"))
		}
		if c.BaseTopic == "" {
			errs = append(errs, drivers.Fieldf("base_topic", "must not be empty"))
		}
		wild("device", c.Device)
		wild("base_topic", c.BaseTopic)
	case "generic":
		if c.Topic == "" {
			errs = append(errs, drivers.Fieldf("topic", "required for source generic"))
		}
		wild("topic", c.Topic)
		if len(c.Values) == 0 {
			errs = append(errs, drivers.Fieldf("values", "at least one value is needed for source generic"))
		}
	default:
		errs = append(errs, drivers.Fieldf("source", "want tasmota, zigbee2mqtt or generic, got %q", c.Source))
	}
	if c.StaleAfter <= 0 {
		errs = append(errs, drivers.Fieldf("stale_after", "must be positive"))
	}
	errs = append(errs, jsonpath.CheckValues(c.Values, map[string]bool{})...)
	return errors.Join(errs...)
}

// topics returns the readings topic and the availability topic (empty for
// generic), following each firmware's conventions.
func (c *Config) topics() (readings, availability string) {
	switch c.Source {
	case "tasmota":
		return "tele/" + c.Topic + "/SENSOR", "tele/" + c.Topic + "/LWT"
	case "zigbee2mqtt":
		return c.BaseTopic + "/" + c.Device, c.BaseTopic + "/" + c.Device + "/availability"
	}
	return c.Topic, ""
}
