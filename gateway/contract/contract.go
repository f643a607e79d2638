// Package contract is the MQTT contract, schema 1: topic names and the JSON
// payloads the provider's cloud consumes. docs/mqtt.md describes it for
// people and docs/schema/*.json for machines; the tests check all three
// agree. Changing a payload here is changing a public interface.
package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Schema is the payload schema version carried as "schema" in every message.
const Schema = 1

// DefaultPrefix is the topic root before site and gateway.
const DefaultPrefix = "praxisgate/v1"

// Topic suffixes below the gateway root {prefix}/{site}/{gateway}.
const (
	TopicStatus    = "status"
	TopicAlarms    = "alarms"
	TopicInventory = "inventory"
)

// TelemetryTopic is the topic suffix of a device's readings.
func TelemetryTopic(device string) string { return "telemetry/" + device }

// EventTopic is the topic suffix of a device's events.
func EventTopic(device string) string { return "event/" + device }

// CommandTopic is the topic suffix of a command (subscribed).
func CommandTopic(name string) string { return "cmd/" + name }

// ReplyTopic is the topic suffix of a command's reply.
func ReplyTopic(id string) string { return "reply/" + id }

// Root joins prefix, site and gateway into the topic root.
func Root(prefix, site, gateway string) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return prefix + "/" + site + "/" + gateway
}

// Clock states of the "clock" field.
const (
	ClockSynced   = "synced"
	ClockUnsynced = "unsynced"
)

// Stamp is when something was measured or happened, and whether the
// system clock was synchronised at that moment. A Raspberry Pi has no RTC:
// until NTP syncs, times are estimates and the cloud must be able to tell.
type Stamp struct {
	Time   time.Time
	Synced bool
}

// Header is common to every payload.
type Header struct {
	Schema  int    `json:"schema"`
	Gateway string `json:"gateway"`
	Boot    string `json:"boot"`
	TS      string `json:"ts"`
	Clock   string `json:"clock"`
}

// Origin identifies the sender of a payload.
type Origin struct {
	Gateway string
	// Boot is an id of the current daemon start.
	Boot string
}

func (o Origin) header(s Stamp) Header {
	clock := ClockUnsynced
	if s.Synced {
		clock = ClockSynced
	}
	return Header{Schema: Schema, Gateway: o.Gateway, Boot: o.Boot, TS: FormatTime(s.Time), Clock: clock}
}

// FormatTime renders RFC 3339 in UTC with milliseconds, as the contract
// requires for every timestamp.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// MetricJSON is one entry of a telemetry payload's "metrics".
type MetricJSON struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
	Unit  string `json:"unit,omitempty"`
}

// Telemetry is the payload on telemetry/{device}. Seq is added at publish
// time by WithSeq, so it is not a field here.
type Telemetry struct {
	Header
	Device  string       `json:"device"`
	Kind    string       `json:"kind"`
	Metrics []MetricJSON `json:"metrics"`
}

// EncodeTelemetry renders a sample. The sample must have passed
// drivers.Sample.Validate.
func (o Origin) EncodeTelemetry(s drivers.Sample, st Stamp) ([]byte, error) {
	p := Telemetry{Header: o.header(st), Device: s.Device, Kind: s.Kind, Metrics: make([]MetricJSON, len(s.Metrics))}
	for i, m := range s.Metrics {
		p.Metrics[i] = MetricJSON{Name: m.Name, Value: m.Value, Unit: m.Unit}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode telemetry of %s: %w", s.Device, err)
	}
	return b, nil
}

// Event is the payload on event/{device}.
type Event struct {
	Header
	Device   string         `json:"device"`
	Type     string         `json:"type"`
	Severity string         `json:"severity"`
	Message  string         `json:"message"`
	Attrs    map[string]any `json:"attrs,omitempty"`
}

// EncodeEvent renders an event.
func (o Origin) EncodeEvent(e drivers.Event, st Stamp) ([]byte, error) {
	p := Event{Header: o.header(st), Device: e.Device, Type: e.Type, Severity: string(e.Severity), Message: e.Message, Attrs: e.Attrs}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode event %s of %s: %w", e.Type, e.Device, err)
	}
	return b, nil
}

// Status is the retained payload on status, also the Last Will.
type Status struct {
	Header
	State   string `json:"state"`
	Version string `json:"version"`
	Started string `json:"started"`
}

// Status states.
const (
	StateOnline  = "online"
	StateOffline = "offline"
)

// EncodeStatus renders the status message.
func (o Origin) EncodeStatus(state, version string, started time.Time, st Stamp) []byte {
	b, _ := json.Marshal(Status{Header: o.header(st), State: state, Version: version, Started: FormatTime(started)})
	return b
}

// Alarm is one active alarm in the retained alarms payload.
type Alarm struct {
	// ID is stable for the life of the alarm: "<device>/<rule or condition>".
	ID       string   `json:"id"`
	Device   string   `json:"device"`
	Severity string   `json:"severity"`
	Message  string   `json:"message"`
	Metric   string   `json:"metric,omitempty"`
	Value    *float64 `json:"value,omitempty"`
	Since    string   `json:"since"`
	Acked    bool     `json:"acked"`
}

// Alarms is the retained payload on alarms: the whole active set.
type Alarms struct {
	Header
	Alarms []Alarm `json:"alarms"`
}

// EncodeAlarms renders the active alarm set.
func (o Origin) EncodeAlarms(active []Alarm, st Stamp) []byte {
	if active == nil {
		active = []Alarm{}
	}
	b, _ := json.Marshal(Alarms{Header: o.header(st), Alarms: active})
	return b
}

// WithSeq inserts "seq" as the first member of a JSON object payload. The
// buffer assigns seq when it stores a record, after the payload was
// rendered, so the uplink splices it in when publishing.
func WithSeq(payload []byte, seq uint64) []byte {
	if len(payload) < 2 || payload[0] != '{' {
		return payload
	}
	out := make([]byte, 0, len(payload)+24)
	out = append(out, `{"seq":`...)
	out = strconv.AppendUint(out, seq, 10)
	// An empty object needs no comma; look past whitespace so "{ }"
	// does not become the invalid {"seq":1, }.
	if rest := bytes.TrimLeft(payload[1:], " \t\r\n"); len(rest) == 0 || rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, payload[1:]...)
}

// Inventory is the retained payload on inventory: the discovered devices
// of one discovery device (see docs/drivers/discover.md for the hosts).
type Inventory struct {
	Header
	Device string `json:"device"`
	Hosts  any    `json:"hosts"`
}

// EncodeInventory renders an inventory document produced by a driver; doc
// must marshal to a JSON object with "device" and "hosts".
func (o Origin) EncodeInventory(doc any, st Stamp) ([]byte, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	var body struct {
		Device string          `json:"device"`
		Hosts  json.RawMessage `json:"hosts"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	if string(body.Hosts) == "null" || len(body.Hosts) == 0 {
		body.Hosts = json.RawMessage("[]")
	}
	b, err := json.Marshal(Inventory{Header: o.header(st), Device: body.Device, Hosts: body.Hosts})
	if err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	return b, nil
}
