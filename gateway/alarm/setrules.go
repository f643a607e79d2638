package alarm

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// RuleRemoved is the attrs "reason" of the alarm.cleared event SetRules
// emits for an alarm whose rule no longer exists, so the provider can tell
// it from a value that came back into its band.
const RuleRemoved = "rule removed"

// SetRules replaces the threshold rules while the engine runs, so an edit
// on the web page takes effect without a restart of the daemon.
//
// An active alarm whose rule still exists stays active (its acknowledgement
// too) and is judged against the new limit at the next reading: a raised
// limit clears it then, with the usual hysteresis. An active threshold or
// stale alarm whose rule is gone is cleared at once, and the returned
// alarm.cleared events must be sent like every other event, or the
// provider would keep a ghost alarm nobody can clear. A minimum duration
// already running for a rule that still exists keeps running; one for a
// removed rule is forgotten. Alarms from driver conditions and unreachable
// devices do not depend on rules and are left alone. Applying the same
// rules again changes nothing and returns no events.
func (e *Engine) SetRules(rules []config.AlarmRule, at time.Time) []drivers.Event {
	rules = append([]config.AlarmRule(nil), rules...)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rules = rules
	var out []drivers.Event
	for _, id := range sortedIDs(e.active) {
		a := e.active[id]
		if a.Condition || a.Metric == "" {
			continue
		}
		kind, ok := ruleKind(id, a.Device, a.Metric)
		if !ok || e.ruleExists(a.Device, a.Metric, kind) {
			continue
		}
		delete(e.active, id)
		e.causeCleared(id, at)
		out = append(out, drivers.Event{Device: a.Device, Time: at, Type: Cleared, Severity: drivers.Info,
			Message: fmt.Sprintf("cleared: the rule of %s %s was removed", a.Device, a.Metric),
			Attrs: map[string]any{"alarm": id, "metric": a.Metric, "reason": RuleRemoved,
				"since": contract.FormatTime(a.Since), "severity": string(a.Severity)}})
	}
	for id := range e.pending {
		dev, rest, _ := strings.Cut(id, "/")
		for _, kind := range []string{".above", ".below"} {
			if metric, ok := strings.CutSuffix(rest, kind); ok && !e.ruleExists(dev, metric, kind) {
				delete(e.pending, id)
			}
		}
	}
	for k := range e.lastSeen {
		if !e.ruleExists(k.device, k.metric, StaleSuffix) {
			// Watched afresh from the next Tick if a rule comes back.
			delete(e.lastSeen, k)
		}
	}
	if len(out) > 0 {
		e.version++
		e.save()
	}
	return out
}

// Rules returns the rules the engine evaluates now.
func (e *Engine) Rules() []config.AlarmRule {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]config.AlarmRule(nil), e.rules...)
}

// ruleKind tells which part of a rule an alarm id stems from: ".above",
// ".below" or StaleSuffix.
func ruleKind(id, device, metric string) (string, bool) {
	rest, ok := strings.CutPrefix(id, device+"/"+metric)
	if !ok {
		return "", false
	}
	switch rest {
	case ".above", ".below", StaleSuffix:
		return rest, true
	}
	return "", false
}

// ruleExists reports whether some rule still raises alarms of kind for
// device's metric; called with mu held.
func (e *Engine) ruleExists(device, metric, kind string) bool {
	for i := range e.rules {
		r := &e.rules[i]
		if r.Metric != metric || (r.Device != "*" && r.Device != device) {
			continue
		}
		switch {
		case kind == ".above" && r.Above != nil,
			kind == ".below" && r.Below != nil,
			kind == StaleSuffix && r.StaleAfter > 0:
			return true
		}
	}
	return false
}

func sortedIDs(m map[string]*Alarm) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
