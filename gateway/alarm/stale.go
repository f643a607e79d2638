package alarm

import (
	"fmt"
	"sort"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// A sensor that stops reporting is as bad as one that reports a warm
// fridge: nobody watches the vaccines. Rules with stale_after raise a
// "sensor offline" alarm (id <device>/<metric>.stale) when no reading of
// the metric arrived for that long, whether the poll fails or the device
// answers without the metric (a probe unplugged from a working logger).
// Time only passes in Tick, so the gateway calls it periodically.

// StaleSuffix ends the id of a sensor-offline alarm.
const StaleSuffix = ".stale"

type seriesKey struct{ device, metric string }

func staleID(k seriesKey) string { return k.device + "/" + k.metric + StaleSuffix }

// fresh notes the readings of stale-watched metrics and clears their
// offline alarms; called with mu held for a successful sample.
func (e *Engine) fresh(out []drivers.Event, s drivers.Sample) []drivers.Event {
	for ri := range e.rules {
		r := &e.rules[ri]
		if r.StaleAfter <= 0 || (r.Device != "*" && r.Device != s.Device) {
			continue
		}
		for _, m := range s.Metrics {
			if m.Name != r.Metric {
				continue
			}
			if _, ok := m.Float(); !ok {
				continue
			}
			k := seriesKey{s.Device, r.Metric}
			if last, ok := e.lastSeen[k]; ok && !s.Time.After(last) {
				// An older reading, or the same one again (a push
				// sensor's driver repeats its last reading until it is
				// too old), says nothing new.
				break
			}
			e.lastSeen[k] = s.Time
			id := staleID(k)
			if a, ok := e.active[id]; ok {
				delete(e.active, id)
				out = append(out, drivers.Event{Device: s.Device, Time: s.Time, Type: Cleared, Severity: drivers.Info,
					Message: fmt.Sprintf("cleared: %s %s reports again", s.Device, r.Metric),
					Attrs:   map[string]any{"alarm": id, "metric": r.Metric, "since": contract.FormatTime(a.Since), "severity": string(a.Severity)}})
			}
			break
		}
	}
	return out
}

// Tick lets time pass: it raises sensor-offline alarms for series silent
// longer than their rule allows, and threshold alarms whose duration (for)
// has passed on a reading that still holds (see durations). A rule for one device watches it from the
// first Tick on, so a sensor that never reports after a start is caught
// too; a rule for "*" watches every device once it has reported the
// metric. The gateway calls Tick about once a second with its clock.
func (e *Engine) Tick(now time.Time) []drivers.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	type due struct {
		k     seriesKey
		after time.Duration
		sev   drivers.Severity
	}
	var dues []due
	seen := map[seriesKey]bool{}
	for ri := range e.rules {
		r := &e.rules[ri]
		if r.StaleAfter <= 0 {
			continue
		}
		var keys []seriesKey
		if r.Device == "*" {
			for k := range e.lastSeen {
				if k.metric == r.Metric {
					keys = append(keys, k)
				}
			}
		} else {
			keys = []seriesKey{{r.Device, r.Metric}}
		}
		for _, k := range keys {
			if seen[k] {
				continue // two rules (above and below) on one series
			}
			seen[k] = true
			if _, ok := e.lastSeen[k]; !ok {
				e.lastSeen[k] = now // watched from now on
			}
			sev := r.Severity
			if sev == "" {
				sev = drivers.Major
			}
			dues = append(dues, due{k, r.StaleAfter, sev})
		}
	}
	sort.Slice(dues, func(i, j int) bool { return staleID(dues[i].k) < staleID(dues[j].k) })
	var out []drivers.Event
	for _, d := range dues {
		id := staleID(d.k)
		last := e.lastSeen[d.k]
		if _, active := e.active[id]; active || now.Sub(last) < d.after {
			continue
		}
		msg := fmt.Sprintf("%s %s: no reading for %s (sensor offline?)", d.k.device, d.k.metric, roundDur(now.Sub(last)))
		e.active[id] = &Alarm{ID: id, Device: d.k.device, Severity: d.sev, Message: msg, Metric: d.k.metric, Since: last,
			Kind: KindStale, For: d.after}
		out = append(out, drivers.Event{Device: d.k.device, Time: now, Type: Raised, Severity: d.sev, Message: msg,
			Attrs: map[string]any{"alarm": id, "metric": d.k.metric, "stale_after": d.after.String(), "last_reading": contract.FormatTime(last)}})
	}
	out = e.durations(out, now)
	if len(out) > 0 {
		e.version++
		e.save()
	}
	return out
}

func roundDur(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}
