package alarm

import (
	"fmt"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Lost connections as consequences.
//
// A TI connector reports its VPN down whenever the practice's internet is
// gone: the line, the router, or the power behind them. The provider must
// see that cause, not a critical "VPN down" for each connector. So a
// condition a driver marks ViaInternet is held back, like an unreachable
// device during a power failure (correlate.go), while one of these
// explains it:
//
//   - the UPS the device is powered_by is on battery;
//   - the device named as its router (config router:) does not answer,
//     or is itself held back (then the router's cause is named);
//   - the box's own uplink is down (the gateway device's uplink.connected
//     reading is false, after it was true once since the start): the box
//     and the connector share the practice's internet line.
//
// Instead of alarm.raised the engine then emits alarm.suppressed with attrs
// alarm, cause and condition. When the cause is gone, the held condition
// gets the device's patience (unreachable_after × interval, from the first
// poll that finds no cause); if it is still reported after that, it is
// raised as a cause of its own (attr after_cause). A condition that goes
// away while held is released silently. A condition raised before its
// cause appeared stays raised: it was a cause of its own.

// UplinkDownCause names the box's own lost uplink as a cause.
const UplinkDownCause = selfDevice + "/uplink.down"

// selfDevice is the device id of the box's own telemetry (the gateway's
// SelfDevice), whose uplink.connected reading tells the engine whether the
// box is online.
const selfDevice = "gateway"

type heldCond struct {
	device    string
	cause     string
	clearedAt time.Time // first poll without a cause; zero while it lasts
}

// observeSelf notes the box's uplink state from its own telemetry.
func (e *Engine) observeSelf(s drivers.Sample) {
	if s.Device != selfDevice {
		return
	}
	for _, m := range s.Metrics {
		if m.Name != "uplink.connected" {
			continue
		}
		if up, ok := m.Value.(bool); ok {
			// Before its first connection the uplink is down at every
			// start; that, or a broker the box was never able to reach,
			// says nothing about the practice's internet line.
			e.uplinkSeenUp = e.uplinkSeenUp || up
			e.uplinkDown = !up && e.uplinkSeenUp
		}
	}
}

// linkCause returns what explains a lost internet connection of device,
// "" if nothing does.
func (e *Engine) linkCause(device string) string {
	if c := e.cause(device); c != "" {
		return c
	}
	if r := e.devices[device].Router; r != "" {
		if _, down := e.active[unreachableID(r)]; down {
			return unreachableID(r)
		}
		if h, ok := e.held[r]; ok {
			return h.cause
		}
	}
	if e.uplinkDown {
		return UplinkDownCause
	}
	return ""
}

// holdCondition decides about a ViaInternet condition that is not active:
// hold it back (returning the events to emit and true) or raise it (false,
// with the attrs the raised event gets). Called with mu held.
func (e *Engine) holdCondition(out []drivers.Event, s drivers.Sample, c drivers.Condition, id string) ([]drivers.Event, bool, map[string]any) {
	cause := e.linkCause(s.Device)
	h, held := e.heldConds[id]
	switch {
	case cause != "" && held:
		h.cause, h.clearedAt = cause, time.Time{}
		return out, true, nil
	case cause != "":
		e.heldConds[id] = &heldCond{device: s.Device, cause: cause}
		return append(out, drivers.Event{Device: s.Device, Time: s.Time, Type: Suppressed, Severity: drivers.Info,
			Message: fmt.Sprintf("%s: %s; held back as a consequence of %s", s.Device, strings.TrimSuffix(c.Message, "."), cause),
			Attrs:   map[string]any{"alarm": id, "cause": cause, "condition": c.Name}}), true, nil
	case !held:
		return out, false, map[string]any{}
	case h.clearedAt.IsZero():
		h.clearedAt = s.Time
		return out, true, nil
	case s.Time.Sub(h.clearedAt) < e.patience(s.Device):
		return out, true, nil
	}
	delete(e.heldConds, id)
	return out, false, map[string]any{"after_cause": h.cause}
}

// releaseConditions forgets held conditions of device that it no longer
// reports. Called with mu held.
func (e *Engine) releaseConditions(device string, now map[string]drivers.Condition) {
	for id, h := range e.heldConds {
		if h.device != device {
			continue
		}
		if _, still := now[id]; !still {
			delete(e.heldConds, id)
		}
	}
}
