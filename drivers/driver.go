// Package drivers holds the contract between the gateway and the code that
// talks to devices: a Driver polls one device and returns a Sample, event
// sources also implement Watcher, and a registry lets each protocol package
// add itself from init(). Drivers know nothing of MQTT, the buffer or the web
// page; they only do I/O and parsing.
package drivers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Driver reads one configured device.
//
// The scheduler never calls Poll of one Driver concurrently with itself, but
// different Drivers are polled in parallel. Poll must honour ctx: the
// scheduler cancels it at the device's timeout. A Driver that ignores ctx
// only delays its own next poll, never another device's.
type Driver interface {
	// Poll reads the device once. A failed read returns an error (wrap
	// ErrUnreachable or ErrProtocol where it helps the reader); the
	// scheduler turns repeated errors into device.unreachable events.
	Poll(ctx context.Context) (Sample, error)
}

// Watcher is implemented by drivers that also receive unsolicited events
// (SNMP traps, ARP changes). Watch runs until ctx ends; it may be called
// concurrently with Poll. emit may be called from any goroutine and must not
// be called after Watch returns.
type Watcher interface {
	Watch(ctx context.Context, emit func(Event)) error
}

// Sample is the result of one poll.
type Sample struct {
	// Device is the configured device id; the scheduler fills it in.
	Device string
	// Kind is the device kind (fridge, ups, printer...); the scheduler fills
	// it from the config when the driver leaves it empty.
	Kind string
	// Time is when the device was measured. Zero means "now": the scheduler
	// stamps it with the gateway clock when Poll returns.
	Time time.Time
	// Metrics are the readings, in the order the driver found them.
	Metrics []Metric
	// Conditions is the complete set of states the device is in right now
	// that deserve attention while they last (on battery, toner empty,
	// RAID degraded). The alarm engine raises an alarm when a condition
	// appears and clears it when a later successful Sample no longer holds
	// it, so drivers report state, not edges. Nil means "none".
	Conditions []Condition
	// Events are one-off happenings seen during this poll (self-test
	// finished, paper jam cleared); they are published as they are.
	Events []Event
}

// Metric is one named reading. Names follow Network UPS Tools' dotted style
// where one exists (battery.charge, input.voltage); units are SI or "%".
type Metric struct {
	Name string
	// Value is a float64, a string (ups.status "OL CHRG", device.model) or a
	// bool. Use Num, Text or Flag to build one; Validate rejects other types.
	Value any
	Unit  string
}

// Num returns a numeric metric.
func Num(name string, v float64, unit string) Metric { return Metric{Name: name, Value: v, Unit: unit} }

// Text returns a textual metric.
func Text(name, v string) Metric { return Metric{Name: name, Value: v} }

// Flag returns a boolean metric.
func Flag(name string, v bool) Metric { return Metric{Name: name, Value: v} }

// Float returns the metric's value as a number: booleans count as 0 and 1,
// text is not a number.
func (m Metric) Float() (float64, bool) {
	switch v := m.Value.(type) {
	case float64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// Severity orders how urgent an event or alarm is. critical, major and minor
// are the provider's SLA priority levels; info is for the record only.
type Severity string

// The severities, from least to most urgent.
const (
	Info     Severity = "info"
	Minor    Severity = "minor"
	Major    Severity = "major"
	Critical Severity = "critical"
)

// Rank returns 0 for info up to 3 for critical, and -1 for an unknown value.
func (s Severity) Rank() int {
	switch s {
	case Info:
		return 0
	case Minor:
		return 1
	case Major:
		return 2
	case Critical:
		return 3
	}
	return -1
}

// ParseSeverity accepts the four severity names.
func ParseSeverity(s string) (Severity, error) {
	if Severity(s).Rank() < 0 {
		return "", fmt.Errorf("unknown severity %q (want info, minor, major or critical)", s)
	}
	return Severity(s), nil
}

// Condition is a state a device is in (see Sample.Conditions).
type Condition struct {
	// Name is stable within the device and dotted, e.g. "ups.on_battery".
	Name     string
	Severity Severity
	// Message is a short English sentence for the provider's operators.
	Message string
	// ViaInternet marks a condition that reports a lost connection to a
	// service outside the practice (the TI connector's VPN down). A lost
	// internet line, router or power explains it, so the alarm engine
	// holds it back as a consequence while one of those is down
	// (gateway/alarm/correlate.go) instead of paging for the symptom.
	ViaInternet bool
}

// Event is something that happened once.
type Event struct {
	// Device is the device id; the gateway fills it in for poll results.
	Device string
	// Time is when it happened; zero means "now".
	Time time.Time
	// Type is dotted, e.g. "device.appeared", "snmp.trap", "ups.self_test".
	Type     string
	Severity Severity
	Message  string
	// Attrs carries structured detail (JSON-encodable values only).
	Attrs map[string]any
}

// Sentinel errors classify poll failures.
var (
	// ErrUnreachable means the device did not answer at all (timeout,
	// connection refused, port gone).
	ErrUnreachable = errors.New("device unreachable")
	// ErrProtocol means the device answered with something the driver
	// could not understand.
	ErrProtocol = errors.New("protocol error")
)

// Validate checks what the gateway relies on: named metrics with finite
// numbers or text, known severities. It normalises integer values a driver
// may have put in Value to float64.
func (s *Sample) Validate() error {
	var errs []error
	for i := range s.Metrics {
		m := &s.Metrics[i]
		if m.Name == "" {
			errs = append(errs, fmt.Errorf("metric %d: empty name", i))
			continue
		}
		switch v := m.Value.(type) {
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				errs = append(errs, fmt.Errorf("metric %s: value %v is not finite", m.Name, v))
			}
		case float32:
			m.Value = float64(v)
		case int:
			m.Value = float64(v)
		case int64:
			m.Value = float64(v)
		case uint64:
			m.Value = float64(v)
		case int32:
			m.Value = float64(v)
		case uint32:
			m.Value = float64(v)
		case string, bool:
		default:
			errs = append(errs, fmt.Errorf("metric %s: unsupported value type %T", m.Name, m.Value))
		}
	}
	for _, c := range s.Conditions {
		if c.Name == "" || c.Severity.Rank() < 0 {
			errs = append(errs, fmt.Errorf("condition %q: needs a name and a known severity (got %q)", c.Name, c.Severity))
		}
	}
	for _, e := range s.Events {
		if e.Type == "" || e.Severity.Rank() < 0 {
			errs = append(errs, fmt.Errorf("event %q: needs a type and a known severity (got %q)", e.Type, e.Severity))
		}
	}
	return errors.Join(errs...)
}
