package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// The texts are German, short, and say what, where, since when and how to
// acknowledge. They keep to the GSM 7-bit alphabet (umlauts are in it, the
// degree sign is not), so a typical alarm fits one SMS of 160 characters.

var severityDE = map[drivers.Severity]string{
	drivers.Critical: "kritisch",
	drivers.Major:    "schwer",
	drivers.Minor:    "leicht",
}

// metricDE names the metrics that alarm most often in a practice.
var metricDE = map[string]string{
	"temperature":     "Temperatur",
	"humidity":        "Luftfeuchte",
	"battery.charge":  "USV-Akku",
	"battery.runtime": "USV-Restlaufzeit",
	"input.voltage":   "Netzspannung",
	"ups.load":        "USV-Last",
	"disk.used":       "Plattenbelegung",
}

// conditionDE words the driver conditions that matter most.
var conditionDE = map[string]string{
	"ups.on_battery":      "USV läuft auf Batterie (Stromausfall)",
	"ups.low_battery":     "USV-Akku fast leer",
	"ups.overload":        "USV überlastet",
	"ups.replace_battery": "USV-Akku tauschen",
	"device.stale":        "keine Messwerte mehr",
	"device.unreachable":  "Gerät nicht erreichbar",
}

// what describes an alarm.raised event in German, falling back to the
// engine's English message for what it does not know.
func what(ev drivers.Event) string {
	if c, ok := ev.Attrs["condition"].(string); ok {
		if de, ok := conditionDE[c]; ok {
			return de
		}
		return ev.Message
	}
	m, _ := ev.Attrs["metric"].(string)
	v, vok := num(ev.Attrs["value"])
	l, lok := num(ev.Attrs["limit"])
	if m == "" || !vok || !lok {
		return ev.Message
	}
	name := metricDE[m]
	if name == "" {
		name = m
	}
	dir := "über"
	if v < l {
		dir = "unter"
	}
	return fmt.Sprintf("%s %s %s Grenze %s", name, deNum(v), dir, deNum(l))
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// deNum prints a reading with a decimal comma and at most one decimal.
func deNum(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return strings.Replace(s, ".", ",", 1)
}

// alarmText is the SMS for one incident. Called with mu held.
func (n *Notifier) alarmText(in *incident) string {
	since := in.since.In(n.opts.Location)
	sev := severityDE[in.sev]
	if sev == "" {
		sev = string(in.sev)
	}
	return fmt.Sprintf("ALARM %s: %s: %s. Seit %s. Quittieren: Antwort OK %s",
		sev, in.device, in.text, sinceDE(since, n.opts.Now().In(n.opts.Location)), in.code)
}

// sinceDE gives the time, and the date when it is not today.
func sinceDE(t, now time.Time) string {
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04")
	}
	return t.Format("02.01. 15:04")
}

func testText(site string, now time.Time) string {
	where := ""
	if site != "" {
		where = " " + site
	}
	return fmt.Sprintf("Test praxisgate%s %s: SMS-Alarmierung funktioniert. Keine Antwort nötig.", where, now.Format("02.01. 15:04"))
}
