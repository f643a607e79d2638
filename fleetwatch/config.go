// Package fleetwatch is the provider's side of the MQTT contract: it
// watches a fleet of praxisgate boxes through a broker and raises the
// alarms no box can raise about itself (gone silent, lost records, clock
// not synchronised, rebooted, an alarm left open past its SLA).
//
// It lives outside gateway/ because it never runs on a box: it is a
// consumer of docs/mqtt.md and knows the boxes only through their JSON, as
// any other consumer would, so it imports nothing of the gateway.
//
// Several instances share the work through an MQTT shared subscription
// ($share/<group>/...). Mosquitto hands the messages of a shared
// subscription round-robin to the group's members, message by message, so
// the messages of one box are spread over every instance. Each box
// therefore has one owner, chosen by rendezvous hashing over the live
// instances (each announces itself with a retained member topic whose Last
// Will clears it); an instance that receives messages of a box it does not
// own passes a compact digest (seqs, boot, clock) to the owner through the
// broker once a second. State the boxes publish retained (status, alarms)
// and the alerts already reported (retained markers) come from the broker,
// so a restarted or replacement instance rebuilds everything it needs.
package fleetwatch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config shapes one watcher instance. Every instance of a group must use
// the same Group, Prefix and thresholds.
type Config struct {
	// Broker is the MQTT URL: tcp://, mqtt://, tls://, ssl://, mqtts://.
	Broker   string `yaml:"broker"`
	Username string `yaml:"username"`
	// PasswordFile holds the broker password (never in the config itself,
	// never logged).
	PasswordFile string `yaml:"password_file"`
	// CAFile verifies the broker's certificate (system roots when empty).
	CAFile string `yaml:"ca_file"`
	// Group is the shared-subscription group; instances of one group
	// split the fleet between them.
	Group string `yaml:"group"`
	// Prefix is the boxes' topic prefix (uplink.prefix).
	Prefix string `yaml:"prefix"`
	// Instance names this instance (default: host name and pid). It must
	// be unique within the group.
	Instance string `yaml:"instance"`
	// Interval is how often a box is expected to send something, and
	// SilenceFactor the multiple of it after which a silent box counts
	// as offline.
	Interval      time.Duration `yaml:"interval"`
	SilenceFactor float64       `yaml:"silence_factor"`
	// GapGrace is how long a missing seq may stay missing (it may still
	// come: events overtake backlog telemetry) before it is reported.
	GapGrace time.Duration `yaml:"gap_grace"`
	// SLA is, per alarm severity (critical, major, minor), how long an
	// alarm may stay active before the watcher alerts. A severity that is
	// absent is not watched; an explicit 0 alerts at once.
	SLA map[string]time.Duration `yaml:"sla"`
	// Listen is the address of the Prometheus /metrics endpoint ("" off).
	Listen string `yaml:"listen"`
	// Webhook receives alerts as Alertmanager v2 JSON, e.g.
	// http://alertmanager:9093/api/v2/alerts ("" off).
	Webhook string `yaml:"webhook"`
	// Tick is how often detections are evaluated and digests flushed.
	Tick time.Duration `yaml:"tick"`
	// OneOffHold is how long one-off alerts (reboot, seq gap) stay active
	// in Alertmanager (their endsAt).
	OneOffHold time.Duration `yaml:"one_off_hold"`
}

// Defaults are the values a flag or YAML key left out falls back to.
func Defaults() Config {
	host, _ := os.Hostname()
	return Config{
		Group: "praxisgate-watch", Prefix: "praxisgate/v1",
		Instance: fmt.Sprintf("%s-%d", host, os.Getpid()),
		Interval: time.Minute, SilenceFactor: 3, GapGrace: 2 * time.Minute,
		SLA:  map[string]time.Duration{"critical": 15 * time.Minute, "major": time.Hour, "minor": 24 * time.Hour},
		Tick: time.Second, OneOffHold: time.Hour, Listen: "127.0.0.1:9857",
	}
}

var (
	groupRe    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	instanceRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	severities = map[string]bool{"critical": true, "major": true, "minor": true}
)

// Validate reports every problem at once.
func (c Config) Validate() error {
	var probs []error
	if c.Broker == "" {
		probs = append(probs, errors.New("broker is required"))
	}
	if !groupRe.MatchString(c.Group) {
		probs = append(probs, fmt.Errorf("group %q: use 1-64 letters, digits, _ or -", c.Group))
	}
	if !instanceRe.MatchString(c.Instance) {
		probs = append(probs, fmt.Errorf("instance %q: use 1-64 letters, digits, ., _ or -", c.Instance))
	}
	if c.Prefix == "" || bytes.ContainsAny([]byte(c.Prefix), "#+") {
		probs = append(probs, fmt.Errorf("prefix %q: must be a topic without wildcards", c.Prefix))
	}
	if c.Interval <= 0 {
		probs = append(probs, fmt.Errorf("interval %s: must be positive", c.Interval))
	}
	if c.SilenceFactor < 1 {
		probs = append(probs, fmt.Errorf("silence_factor %g: must be at least 1", c.SilenceFactor))
	}
	if c.GapGrace <= 0 || c.Tick <= 0 || c.OneOffHold <= 0 {
		probs = append(probs, errors.New("gap_grace, tick and one_off_hold must be positive"))
	}
	for sev, d := range c.SLA {
		if !severities[sev] {
			probs = append(probs, fmt.Errorf("sla: unknown severity %q (critical, major, minor)", sev))
		}
		if d < 0 {
			probs = append(probs, fmt.Errorf("sla.%s: %s is negative", sev, d))
		}
	}
	return errors.Join(probs...)
}

// Silence is how long a box may say nothing before it counts as offline.
func (c Config) Silence() time.Duration {
	return time.Duration(float64(c.Interval) * c.SilenceFactor)
}

// LoadYAML reads a config file over base, strictly: an unknown key, a
// second document or a wrong type is an error naming the line. Keys that
// are absent keep base's value; an explicit value (0 included) replaces it.
func LoadYAML(path string, base Config) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("read watch config: %w", err)
	}
	return ParseYAML(b, base)
}

// ParseYAML is LoadYAML on bytes.
func ParseYAML(b []byte, base Config) (Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	cfg := base
	// An sla map in the file replaces the defaults as a whole, so that
	// leaving a severity out turns it off.
	var probe struct {
		SLA *map[string]time.Duration `yaml:"sla"`
	}
	if err := yaml.Unmarshal(b, &probe); err == nil && probe.SLA != nil {
		cfg.SLA = nil
	}
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return base, nil
		}
		return base, fmt.Errorf("watch config: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return base, errors.New("watch config: more than one YAML document")
	}
	return cfg, nil
}
