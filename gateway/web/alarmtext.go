package web

import (
	"time"

	"github.com/praxisgate/praxisgate/gateway/alarm"
)

// The alarm engine words its alarms in English for the provider
// (alarm.Alarm.Message). The technician on site reads German, so the page
// words them again from the alarm's structured fields (Kind, Value, Limit,
// Unit) in the page's language, with the device's configured name instead
// of its id. An alarm without a kind (raised by an older version and not
// re-evaluated yet) and a driver condition the catalog does not know keep
// the engine's message.

// alarmView is an active alarm as the overview and the alarms page show it.
type alarmView struct {
	alarm.Alarm
	// Name is the device's configured name, else its id.
	Name string
	// Text is the alarm worded in the page's language.
	Text string
}

// alarmViews words alarms for lang; names maps device ids to their
// configured names.
func alarmViews(lang string, as []alarm.Alarm, names map[string]string, now time.Time) []alarmView {
	out := make([]alarmView, len(as))
	for i, a := range as {
		out[i] = alarmView{Alarm: a, Name: deviceName(names, a.Device), Text: alarmText(lang, a, now)}
	}
	return out
}

// deviceNames maps each device id with a configured name to that name.
func deviceNames(devs []Device) map[string]string {
	m := make(map[string]string, len(devs))
	for _, d := range devs {
		if d.Name != "" {
			m[d.ID] = d.Name
		}
	}
	return m
}

// deviceName is a device's configured name, else its id; "*" (a rule for
// every device) stays as it is.
func deviceName(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}

// alarmText is one alarm in words, without the device (the page shows it
// beside the text).
func alarmText(lang string, a alarm.Alarm, now time.Time) string {
	since := fmtSpan(lang, now.Sub(a.Since))
	switch a.Kind {
	case alarm.KindThresholdHigh, alarm.KindThresholdLow:
		if a.Limit == nil {
			break
		}
		key := "at.above"
		if a.Kind == alarm.KindThresholdLow {
			key = "at.below"
		}
		val := ""
		if a.Value != nil {
			val = " " + withUnit(fmtDec(lang, *a.Value, 2), a.Unit)
		}
		return tf(lang, key, metricLabel(lang, a.Metric), val, withUnit(fmtDec(lang, *a.Limit, 2), a.Unit), since)
	case alarm.KindStale:
		return tf(lang, "at.stale", metricLabel(lang, a.Metric), since)
	case alarm.KindUnreachable:
		return tf(lang, "at.unreachable", since)
	case alarm.KindCondition:
		if _, ok := catalog["cond."+a.CondName]; ok {
			return tr(lang, "cond."+a.CondName)
		}
	}
	return a.Message
}

func withUnit(v, unit string) string {
	if unit == "" {
		return v
	}
	return v + " " + unit
}

// metricLabel names a metric for people; metrics the catalog does not
// know keep their technical name.
func metricLabel(lang, metric string) string {
	if _, ok := catalog["metric."+metric]; ok {
		return tr(lang, "metric."+metric)
	}
	return metric
}

// kindLabel names a device kind for people; kinds the catalog does not
// know (set freely in the config) stay as they are.
func kindLabel(lang, kind string) string {
	if _, ok := catalog["kind."+kind]; ok {
		return tr(lang, "kind."+kind)
	}
	return kind
}
