// Package alarm is the alarm engine. It runs on the box, so a warm vaccine
// fridge raises its alarm while the practice's internet is down too; the
// alarm events wait in the buffer like everything else.
//
// Two sources raise alarms: threshold rules from the config (a metric above
// or below a limit for a minimum duration, cleared with hysteresis), and the
// conditions drivers report (a UPS on battery, toner empty). The active set
// is persisted, so a restart neither loses an active alarm nor raises it
// twice.
package alarm

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// Event types the engine emits.
const (
	Raised  = "alarm.raised"
	Cleared = "alarm.cleared"
	Acked   = "alarm.acked"
)

// Alarm is an active alarm.
type Alarm struct {
	ID       string           `json:"id"`
	Device   string           `json:"device"`
	Severity drivers.Severity `json:"severity"`
	Message  string           `json:"message"`
	Metric   string           `json:"metric,omitempty"`
	Value    *float64         `json:"value,omitempty"`
	Since    time.Time        `json:"since"`
	Acked    bool             `json:"acked"`
	AckedBy  string           `json:"acked_by,omitempty"`
	// AckComment is what the person who acknowledged wrote (why, what
	// was done: "Tür war offen, Ware geprüft").
	AckComment string `json:"ack_comment,omitempty"`
	// Condition is set for alarms raised from a driver's condition.
	Condition bool `json:"condition,omitempty"`

	// The fields below describe the alarm in structured form, so the
	// local web page can word it in German or English; Message stays the
	// engine's English text, which goes to the provider unchanged. They
	// are additive: a state file of an older version has none of them
	// (Kind ""), and the page then shows Message.

	// Kind is one of the Kind* constants.
	Kind string `json:"kind,omitempty"`
	// Limit is the threshold that was crossed (threshold kinds).
	Limit *float64 `json:"limit,omitempty"`
	// Unit is the metric's unit (threshold kinds).
	Unit string `json:"unit,omitempty"`
	// For is the rule's minimum duration (threshold kinds) or its
	// stale_after (KindStale), in nanoseconds in JSON.
	For time.Duration `json:"for_ns,omitempty"`
	// CondName is the driver's condition name (KindCondition), e.g.
	// ups.on_battery.
	CondName string `json:"condition_name,omitempty"`
}

// Kinds of alarm (Alarm.Kind).
const (
	KindThresholdHigh = "threshold_high" // a metric above its rule's limit
	KindThresholdLow  = "threshold_low"  // a metric below its rule's limit
	KindStale         = "stale"          // no reading of a watched metric for stale_after
	KindUnreachable   = "unreachable"    // the device does not answer
	KindCondition     = "condition"      // a condition the driver reports
)

// Engine evaluates samples. It is safe for concurrent use by the device
// goroutines.
type Engine struct {
	rules   []config.AlarmRule
	file    string
	log     *slog.Logger
	devices map[string]config.Device // by id, for powered_by and intervals

	mu      sync.Mutex
	active  map[string]*Alarm
	pending map[string]*pending // threshold crossed, duration not yet passed
	version uint64
	// lastSeen is when each stale-watched series (stale.go) last had a
	// reading; held are unreachable devices whose alarm correlation keeps
	// back (correlate.go).
	lastSeen map[seriesKey]time.Time
	held     map[string]*heldBack
	// heldConds are lost-connection conditions held back as a
	// consequence (consequence.go), by alarm id; uplinkDown is the box's
	// own uplink state from its latest self reading.
	heldConds    map[string]*heldCond
	uplinkDown   bool
	uplinkSeenUp bool
}

// New loads the persisted active alarms from stateFile (empty: no
// persistence).
func New(rules []config.AlarmRule, stateFile string, log *slog.Logger) (*Engine, error) {
	return NewEngine(Options{Rules: rules, StateFile: stateFile, Log: log})
}

// NewEngine builds an engine from Options; FromConfig is the usual way.
func NewEngine(o Options) (*Engine, error) {
	log, stateFile := o.Log, o.StateFile
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{rules: o.Rules, file: stateFile, log: log, active: map[string]*Alarm{}, pending: map[string]*pending{},
		devices: map[string]config.Device{}, lastSeen: map[seriesKey]time.Time{}, held: map[string]*heldBack{},
		heldConds: map[string]*heldCond{}}
	for _, d := range o.Devices {
		e.devices[d.ID] = d
	}
	if stateFile == "" {
		return e, nil
	}
	b, err := os.ReadFile(stateFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return e, nil
	case err != nil:
		return nil, fmt.Errorf("alarm: read state %s: %w", stateFile, err)
	}
	var list []*Alarm
	if err := json.Unmarshal(b, &list); err != nil {
		// A damaged state file must not keep the daemon down; alarms
		// still active will be raised again by the next readings.
		log.Error("alarm: state file unreadable, starting with no active alarms", "file", stateFile, "err", err)
		return e, nil
	}
	for _, a := range list {
		if a != nil && a.ID != "" {
			e.active[a.ID] = a
		}
	}
	return e, nil
}

// Observe evaluates one poll result and returns the alarm events it caused.
// failed means the poll failed: thresholds and conditions are then left as
// they are, since nothing new is known; but the scheduler's
// device.unreachable event in s.Events raises the device's unreachable
// alarm (or holds it back, see correlate.go). A successful poll clears it.
func (e *Engine) Observe(s drivers.Sample, failed bool) []drivers.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []drivers.Event
	if failed {
		// A failed poll says nothing of the readings: a duration running
		// on the last one is not completed by time (Tick) until the
		// device answers again.
		e.unhold(s.Device, "")
		out = e.unreachable(out, s)
		if len(out) > 0 {
			e.version++
			e.save()
		}
		return out
	}
	e.observeSelf(s)
	out = e.reachable(out, s)
	out = e.fresh(out, s)
	for ri := range e.rules {
		r := &e.rules[ri]
		if r.Device != "*" && r.Device != s.Device {
			continue
		}
		if !hasMetric(s, r.Metric) {
			// The reading is gone (withheld as stale, probe unplugged):
			// a running duration no longer holds by time.
			e.unhold(s.Device, r.Metric)
		}
		for _, m := range s.Metrics {
			if m.Name != r.Metric {
				continue
			}
			v, ok := m.Float()
			if !ok {
				continue
			}
			if r.Above != nil {
				out = e.threshold(out, s, r, m, v, true)
			}
			if r.Below != nil {
				out = e.threshold(out, s, r, m, v, false)
			}
		}
	}
	out = e.conditions(out, s)
	if len(out) > 0 {
		e.version++
		e.save()
	}
	return out
}

func ruleID(device string, r *config.AlarmRule, above bool) string {
	dir := "below"
	if above {
		dir = "above"
	}
	return device + "/" + r.Metric + "." + dir
}

func (e *Engine) threshold(out []drivers.Event, s drivers.Sample, r *config.AlarmRule, m drivers.Metric, v float64, above bool) []drivers.Event {
	id := ruleID(s.Device, r, above)
	var limit float64
	var crossed, back bool
	if above {
		limit = *r.Above
		crossed = v > limit
		back = v <= limit-r.Hysteresis
	} else {
		limit = *r.Below
		crossed = v < limit
		back = v >= limit+r.Hysteresis
	}
	if a, ok := e.active[id]; ok {
		val, lim := v, limit
		a.Value, a.Limit, a.For = &val, &lim, r.For
		if a.Kind == "" { // raised by an older version
			a.Kind, a.Unit = thresholdKind(above), m.Unit
		}
		if back {
			delete(e.active, id)
			out = append(out, drivers.Event{Device: s.Device, Time: s.Time, Type: Cleared, Severity: drivers.Info,
				Message: fmt.Sprintf("cleared: %s %s is %s again (limit %s)", s.Device, m.Name, fmtVal(v, m.Unit), fmtVal(limit, m.Unit)),
				Attrs:   map[string]any{"alarm": id, "metric": m.Name, "value": v, "limit": limit, "since": contract.FormatTime(a.Since), "severity": string(a.Severity)}})
		}
		return out
	}
	if !crossed {
		delete(e.pending, id)
		return out
	}
	p, ok := e.pending[id]
	if !ok {
		p = &pending{since: s.Time, device: s.Device, metric: m.Name, above: above}
		e.pending[id] = p
	}
	p.value, p.unit, p.at, p.held = v, m.Unit, s.Time, true
	if s.Time.Sub(p.since) < r.For {
		return out
	}
	return e.raiseThreshold(out, id, p, r, s.Time)
}

// pending is a threshold crossed whose duration (the rule's for) has not
// passed yet.
type pending struct {
	since          time.Time // time of the first reading across the limit
	device, metric string
	above          bool
	// value, unit and at are the newest reading across the limit; held
	// says the device's latest successful sample still carries it.
	value float64
	unit  string
	at    time.Time
	held  bool
}

// raiseThreshold raises the alarm of a pending threshold at time at.
func (e *Engine) raiseThreshold(out []drivers.Event, id string, p *pending, r *config.AlarmRule, at time.Time) []drivers.Event {
	delete(e.pending, id)
	v, since := p.value, p.since
	var limit float64
	if p.above {
		limit = *r.Above
	} else {
		limit = *r.Below
	}
	sev := r.Severity
	if sev == "" {
		sev = drivers.Major
	}
	msg := r.Message
	if msg == "" {
		word := "below"
		if p.above {
			word = "above"
		}
		msg = fmt.Sprintf("%s %s is %s, %s the limit of %s", p.device, p.metric, fmtVal(v, p.unit), word, fmtVal(limit, p.unit))
		if r.For > 0 {
			msg += fmt.Sprintf(" for %s", r.For)
		}
	}
	val, lim := v, limit
	e.active[id] = &Alarm{ID: id, Device: p.device, Severity: sev, Message: msg, Metric: p.metric, Value: &val, Since: since,
		Kind: thresholdKind(p.above), Limit: &lim, Unit: p.unit, For: r.For}
	return append(out, drivers.Event{Device: p.device, Time: at, Type: Raised, Severity: sev, Message: msg,
		Attrs: map[string]any{"alarm": id, "metric": p.metric, "value": v, "limit": limit, "since": contract.FormatTime(since)}})
}

// unhold marks the pending durations of a device (of one metric, or all
// for "") as no longer carried by its latest sample.
func (e *Engine) unhold(device, metric string) {
	for _, p := range e.pending {
		if p.device == device && (metric == "" || p.metric == metric) {
			p.held = false
		}
	}
}

func hasMetric(s drivers.Sample, name string) bool {
	for _, m := range s.Metrics {
		if m.Name == name {
			return true
		}
	}
	return false
}

// durations raises the threshold alarms whose duration has passed by now
// although no new reading came: a sensor that reports on change (Zigbee,
// Tasmota) may send one reading above the limit and then nothing for an
// hour. The duration counts as passed when the last reading across the
// limit still holds: the device's latest successful sample carries it, and
// it is younger than the rule's stale_after (when the rule has one).
// Called with mu held.
func (e *Engine) durations(out []drivers.Event, now time.Time) []drivers.Event {
	ids := make([]string, 0, len(e.pending))
	for id := range e.pending {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := e.pending[id]
		if !p.held {
			continue
		}
		r := e.ruleFor(p.device, p.metric, p.above)
		if r == nil || now.Sub(p.since) < r.For {
			continue
		}
		if r.StaleAfter > 0 && now.Sub(p.at) >= r.StaleAfter {
			continue
		}
		if p.above && !(p.value > *r.Above) || !p.above && !(p.value < *r.Below) {
			continue // the rule changed meanwhile
		}
		out = e.raiseThreshold(out, id, p, r, now)
	}
	return out
}

// ruleFor returns the first rule Observe applies to a device's metric in
// one direction.
func (e *Engine) ruleFor(device, metric string, above bool) *config.AlarmRule {
	for ri := range e.rules {
		r := &e.rules[ri]
		if (r.Device != "*" && r.Device != device) || r.Metric != metric {
			continue
		}
		if (above && r.Above != nil) || (!above && r.Below != nil) {
			return r
		}
	}
	return nil
}

func thresholdKind(above bool) string {
	if above {
		return KindThresholdHigh
	}
	return KindThresholdLow
}

func (e *Engine) conditions(out []drivers.Event, s drivers.Sample) []drivers.Event {
	now := map[string]drivers.Condition{}
	for _, c := range s.Conditions {
		now[s.Device+"/"+c.Name] = c
	}
	// Raise new ones in the driver's order.
	for _, c := range s.Conditions {
		id := s.Device + "/" + c.Name
		if a, ok := e.active[id]; ok {
			a.Severity, a.Message, a.Kind, a.CondName = c.Severity, c.Message, KindCondition, c.Name
			continue
		}
		attrs := map[string]any{}
		if c.ViaInternet {
			var held bool
			if out, held, attrs = e.holdCondition(out, s, c, id); held {
				continue
			}
		}
		attrs["alarm"], attrs["condition"] = id, c.Name
		e.active[id] = &Alarm{ID: id, Device: s.Device, Severity: c.Severity, Message: c.Message, Since: s.Time, Condition: true,
			Kind: KindCondition, CondName: c.Name}
		out = append(out, drivers.Event{Device: s.Device, Time: s.Time, Type: Raised, Severity: c.Severity, Message: c.Message,
			Attrs: attrs})
	}
	e.releaseConditions(s.Device, now)
	ids := make([]string, 0)
	for id, a := range e.active {
		if a.Condition && a.Device == s.Device {
			if _, still := now[id]; !still {
				ids = append(ids, id)
			}
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := e.active[id]
		delete(e.active, id)
		e.causeCleared(id, s.Time)
		out = append(out, drivers.Event{Device: s.Device, Time: s.Time, Type: Cleared, Severity: drivers.Info,
			Message: "cleared: " + a.Message,
			Attrs:   map[string]any{"alarm": id, "condition": strings.TrimPrefix(id, s.Device+"/"), "since": contract.FormatTime(a.Since), "severity": string(a.Severity)}})
	}
	return out
}

// ErrNoAlarm is returned by Ack for an id that is not active.
var ErrNoAlarm = errors.New("no such active alarm")

// Ack marks an active alarm as acknowledged by someone; it stays active
// until its cause is gone.
func (e *Engine) Ack(id, by string, at time.Time) (drivers.Event, error) {
	return e.AckComment(id, by, "", at)
}

// AckComment is Ack with the acknowledging person's comment, which the
// alarm keeps and the alarm.acked event carries.
func (e *Engine) AckComment(id, by, comment string, at time.Time) (drivers.Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.active[id]
	if !ok {
		return drivers.Event{}, fmt.Errorf("ack %q: %w", id, ErrNoAlarm)
	}
	a.Acked, a.AckedBy, a.AckComment = true, by, comment
	e.version++
	e.save()
	ev := drivers.Event{Device: a.Device, Time: at, Type: Acked, Severity: drivers.Info,
		Message: fmt.Sprintf("acknowledged by %s: %s", by, a.Message), Attrs: map[string]any{"alarm": id, "by": by}}
	if comment != "" {
		ev.Message += " (" + comment + ")"
		ev.Attrs["comment"] = comment
	}
	return ev, nil
}

// Active returns the active alarms, most severe first, then oldest first.
func (e *Engine) Active() []Alarm {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Alarm, 0, len(e.active))
	for _, a := range e.active {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := out[i].Severity.Rank(), out[j].Severity.Rank(); ri != rj {
			return ri > rj
		}
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.Before(out[j].Since)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Version increases with every change of the active set, so publishers can
// tell whether to send the retained alarms topic again.
func (e *Engine) Version() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.version
}

// Contract renders the active set for the retained alarms topic.
func Contract(active []Alarm) []contract.Alarm {
	out := make([]contract.Alarm, len(active))
	for i, a := range active {
		out[i] = contract.Alarm{ID: a.ID, Device: a.Device, Severity: string(a.Severity), Message: a.Message, Metric: a.Metric, Value: a.Value, Since: contract.FormatTime(a.Since), Acked: a.Acked}
	}
	return out
}

// save writes the active set atomically; called with mu held.
func (e *Engine) save() {
	if e.file == "" {
		return
	}
	list := make([]*Alarm, 0, len(e.active))
	for _, a := range e.active {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	b, err := json.MarshalIndent(list, "", "  ")
	if err == nil {
		err = renameio.WriteFile(e.file, b, 0o640)
	}
	if err != nil {
		e.log.Error("alarm: persist active alarms", "file", e.file, "err", err)
	}
}

func fmtVal(v float64, unit string) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if unit != "" {
		return s + " " + unit
	}
	return s
}
