package web

import (
	"fmt"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// The overview's "Zustand der Box" card: the self monitor (gateway/selfmon)
// reports some thirty raw metrics in bytes and seconds; the technician
// wants to know in one glance whether CPU, memory, disk, temperature and
// clock are fine (issue 7). healthRows turns the metrics into a short,
// labelled list; the raw metrics stay available under "Alle Messwerte".

// Limits from which a health row is shown as a warning or a problem.
const (
	diskWarnPct = 90 // a full disk stops the buffer from holding readings offline
	cpuWarnPct  = 90
	memWarnPct  = 10 // available below this share of the total
	tempWarnC   = 75 // a Raspberry Pi throttles from 80 °C on
	tempBadC    = 80
)

// healthRow is one line of the card. Class is "", "warn" or "bad".
type healthRow struct {
	ID, Label, Value, Class string
}

// healthRows builds the card's lines in the page's language from the
// self monitor's metrics; rows whose metrics are missing (no SoC
// temperature on an x86 box, no selfmon poll yet) are left out.
func healthRows(lang string, version string, uptime time.Duration, ms []drivers.Metric) []healthRow {
	num := map[string]float64{}
	flag := map[string]bool{}
	for _, m := range ms {
		switch v := m.Value.(type) {
		case float64:
			num[m.Name] = v
		case bool:
			flag[m.Name] = v
		}
	}
	has := func(n string) bool { _, ok := num[n]; return ok }
	var rows []healthRow
	add := func(id, label, value, class string) {
		rows = append(rows, healthRow{ID: id, Label: tr(lang, label), Value: value, Class: class})
	}
	add("version", "ov.version", version, "")
	if uptime > 0 {
		v := fmtSpan(lang, uptime)
		if has("system.uptime") {
			v += " (" + tr(lang, "hl.box") + " " + fmtSpan(lang, time.Duration(num["system.uptime"]*float64(time.Second))) + ")"
		}
		add("uptime", "ov.uptime", v, "")
	}
	if has("system.cpu") || has("process.cpu") {
		cpu, class := num["process.cpu"], ""
		v := ""
		if has("system.cpu") {
			cpu = num["system.cpu"]
			v = fmtDec(lang, cpu, 0) + " %"
			if has("process.cpu") {
				v += " (praxisgate " + fmtDec(lang, num["process.cpu"], 1) + " %)"
			}
		} else {
			v = "praxisgate " + fmtDec(lang, cpu, 1) + " %"
		}
		if cpu > cpuWarnPct {
			class = "warn"
		}
		add("cpu", "hl.cpu", v, class)
	}
	if has("process.rss") || has("system.memory.available") {
		var v, class string
		if has("process.rss") {
			v = fmtIEC(lang, num["process.rss"]) + " " + tr(lang, "hl.used")
		}
		if has("system.memory.available") {
			free := fmtIEC(lang, num["system.memory.available"]) + " " + tr(lang, "hl.free")
			if has("system.memory.total") {
				free = tf(lang, "hl.of", fmtIEC(lang, num["system.memory.available"]), fmtIEC(lang, num["system.memory.total"]))
				if t := num["system.memory.total"]; t > 0 && 100*num["system.memory.available"]/t < memWarnPct {
					class = "warn"
				}
			}
			if v != "" {
				v += " (" + tr(lang, "hl.box") + " " + free + ")"
			} else {
				v = free
			}
		}
		add("memory", "hl.memory", v, class)
	}
	if has("disk.used") || has("disk.free") {
		var v, class string
		if has("disk.used") {
			v = fmtDec(lang, num["disk.used"], 0) + " % " + tr(lang, "hl.used")
			if num["disk.used"] > diskWarnPct {
				class = "bad"
			}
		}
		if has("disk.free") {
			if v != "" {
				v += ", "
			}
			v += fmtIEC(lang, num["disk.free"]) + " " + tr(lang, "hl.free")
		}
		add("disk", "hl.disk", v, class)
	}
	if has("system.temperature") {
		t, class := num["system.temperature"], ""
		switch {
		case t >= tempBadC:
			class = "bad"
		case t >= tempWarnC:
			class = "warn"
		}
		add("temperature", "hl.temperature", fmtDec(lang, t, 0)+" °C", class)
	}
	if synced, ok := flag["clock.synced"]; ok {
		class := ""
		if !synced {
			class = "bad"
		}
		add("clock", "hl.clock", fmtYesNo(lang, synced), class)
	}
	return rows
}

// tf is tr with fmt.Sprintf arguments.
func tf(lang, key string, args ...any) string { return fmt.Sprintf(tr(lang, key), args...) }
