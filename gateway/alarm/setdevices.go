package alarm

import (
	"fmt"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// DeviceRemoved is the attrs "reason" of the alarm.cleared event SetDevices
// emits for an alarm of a device that was removed or disabled.
const DeviceRemoved = "device removed"

// SetDevices replaces the device list (powered_by, interval and
// unreachable_after) while the engine runs, so a device adopted, changed
// or removed on the web page needs no restart of the daemon.
//
// A device that was enabled before and is now gone or disabled can no
// longer report that it answers again or that a condition ended, so every
// alarm of it is cleared at once; the returned alarm.cleared events must be
// sent like every other event, or the provider would keep a ghost alarm
// nobody can clear. Its pending durations, stale watches and held-back
// state are forgotten. Devices the engine never knew (the box itself) are
// left alone. Setting the same devices again changes nothing and returns
// no events.
func (e *Engine) SetDevices(devices []config.Device, at time.Time) []drivers.Event {
	next := make(map[string]config.Device, len(devices))
	for _, d := range devices {
		next[d.ID] = d
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	gone := map[string]bool{}
	for id, d := range e.devices {
		if n, ok := next[id]; !d.Disabled && (!ok || n.Disabled) {
			gone[id] = true
		}
	}
	e.devices = next
	if len(gone) == 0 {
		return nil
	}
	var out []drivers.Event
	for _, id := range sortedIDs(e.active) {
		a := e.active[id]
		if !gone[a.Device] {
			continue
		}
		delete(e.active, id)
		e.causeCleared(id, at)
		attrs := map[string]any{"alarm": id, "reason": DeviceRemoved, "since": contract.FormatTime(a.Since), "severity": string(a.Severity)}
		if a.Metric != "" {
			attrs["metric"] = a.Metric
		}
		out = append(out, drivers.Event{Device: a.Device, Time: at, Type: Cleared, Severity: drivers.Info,
			Message: fmt.Sprintf("cleared: %s was removed from the configuration", a.Device), Attrs: attrs})
	}
	for id := range e.pending {
		if dev, _, _ := strings.Cut(id, "/"); gone[dev] {
			delete(e.pending, id)
		}
	}
	for k := range e.lastSeen {
		if gone[k.device] {
			delete(e.lastSeen, k)
		}
	}
	for dev := range gone {
		delete(e.held, dev)
	}
	for id, h := range e.heldConds {
		if gone[h.device] {
			delete(e.heldConds, id)
		}
	}
	if len(out) > 0 {
		e.version++
		e.save()
	}
	return out
}
