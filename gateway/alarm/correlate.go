package alarm

import (
	"fmt"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// Unreachable devices and correlation.
//
// The scheduler (gateway/schedule) puts a device.unreachable event into the
// failed poll's sample after unreachable_after failures in a row; the
// engine turns it into the alarm <device>/device.unreachable, cleared by
// the next successful poll.
//
// During a mains failure the provider must see the one cause (the UPS on
// battery), not twenty "device unreachable" alarms. So while the UPS a
// device is powered_by has its ups.on_battery condition active, the
// device's unreachable alarm is held back: the engine emits an
// alarm.suppressed event (severity info, attrs alarm, cause, powered_by)
// instead of alarm.raised. When the cause clears, a held device gets the
// patience an ordinary failure gets (unreachable_after × interval); if it
// still does not answer after that, its alarm is raised as a cause of its
// own. A device that answers again is simply released.
//
// Limitation: a device found unreachable before the UPS's next poll
// reports on battery is raised as a cause; the UPS is usually polled more
// often than unreachable_after × a device's interval, so this is rare.

// Event type and condition names of the correlation.
const (
	Suppressed       = "alarm.suppressed"
	OnBattery        = "ups.on_battery"
	UnreachableEvent = "device.unreachable"
	unreachableName  = "device.unreachable"
)

type heldBack struct {
	cause     string // alarm id of the UPS's on-battery condition
	since     time.Time
	clearedAt time.Time // when the cause ended; zero while it lasts
	failures  any
}

func unreachableID(device string) string { return device + "/" + unreachableName }

// unreachable handles a failed poll; called with mu held.
func (e *Engine) unreachable(out []drivers.Event, s drivers.Sample) []drivers.Event {
	id := unreachableID(s.Device)
	if h, ok := e.held[s.Device]; ok {
		if e.cause(s.Device) != "" {
			h.clearedAt = time.Time{} // on battery again
			return out
		}
		if h.clearedAt.IsZero() || s.Time.Sub(h.clearedAt) < e.patience(s.Device) {
			return out
		}
		delete(e.held, s.Device)
		if _, active := e.active[id]; active {
			return out
		}
		msg := fmt.Sprintf("%s still does not answer after the power failure ended", s.Device)
		return e.raiseUnreachable(out, s.Device, s.Time, drivers.Major, msg, map[string]any{"after_cause": h.cause})
	}
	var ev *drivers.Event
	for i := range s.Events {
		if s.Events[i].Type == UnreachableEvent {
			ev = &s.Events[i]
			break
		}
	}
	if ev == nil {
		return out
	}
	if _, active := e.active[id]; active {
		return out // raised before a restart
	}
	if cause := e.cause(s.Device); cause != "" {
		e.held[s.Device] = &heldBack{cause: cause, since: s.Time, failures: ev.Attrs["failures"]}
		return append(out, drivers.Event{Device: s.Device, Time: s.Time, Type: Suppressed, Severity: drivers.Info,
			Message: fmt.Sprintf("%s does not answer; held back as a consequence of %s", s.Device, cause),
			Attrs:   map[string]any{"alarm": id, "cause": cause, "powered_by": e.devices[s.Device].PoweredBy, "failures": ev.Attrs["failures"]}})
	}
	sev := ev.Severity
	if sev.Rank() < drivers.Minor.Rank() {
		sev = drivers.Major
	}
	return e.raiseUnreachable(out, s.Device, s.Time, sev, ev.Message, map[string]any{"failures": ev.Attrs["failures"]})
}

func (e *Engine) raiseUnreachable(out []drivers.Event, device string, at time.Time, sev drivers.Severity, msg string, attrs map[string]any) []drivers.Event {
	id := unreachableID(device)
	e.active[id] = &Alarm{ID: id, Device: device, Severity: sev, Message: msg, Since: at, Kind: KindUnreachable}
	attrs["alarm"] = id
	return append(out, drivers.Event{Device: device, Time: at, Type: Raised, Severity: sev, Message: msg, Attrs: attrs})
}

// reachable handles a successful poll: it clears the unreachable alarm and
// releases a held-back device. Called with mu held.
func (e *Engine) reachable(out []drivers.Event, s drivers.Sample) []drivers.Event {
	delete(e.held, s.Device)
	id := unreachableID(s.Device)
	a, ok := e.active[id]
	if !ok {
		return out
	}
	delete(e.active, id)
	return append(out, drivers.Event{Device: s.Device, Time: s.Time, Type: Cleared, Severity: drivers.Info,
		Message: fmt.Sprintf("cleared: %s answers again", s.Device),
		Attrs:   map[string]any{"alarm": id, "since": contract.FormatTime(a.Since), "severity": string(a.Severity)}})
}

// cause returns the alarm id that explains the device's silence: the
// on-battery condition of the UPS it is powered by, if active.
func (e *Engine) cause(device string) string {
	ups := e.devices[device].PoweredBy
	if ups == "" {
		return ""
	}
	id := ups + "/" + OnBattery
	if _, ok := e.active[id]; ok {
		return id
	}
	return ""
}

// causeCleared starts the patience of devices held back by the alarm id.
func (e *Engine) causeCleared(id string, at time.Time) {
	for _, h := range e.held {
		if h.cause == id && h.clearedAt.IsZero() {
			h.clearedAt = at
		}
	}
}

// patience is how long a device may keep failing after its power returned
// before it counts as unreachable in its own right.
func (e *Engine) patience(device string) time.Duration {
	d := e.devices[device]
	iv, n := d.Interval, d.UnreachableAfter
	if iv <= 0 {
		iv = 30 * time.Second
	}
	if n < 1 {
		n = 3
	}
	return time.Duration(n) * iv
}
