package web

// Texts of the UPS parts of the page (ups.go): the battery self-test
// button and the UPS on the box's USB port offered for adoption.
var upsCatalog = map[string]msg{
	"ups.selftest":         {"Batterietest", "Battery test"},
	"ups.selftest_note":    {"Die USV prüft ihre Batterie und läuft dafür kurz über die Batterie. Das Ergebnis erscheint nach etwa einer Minute als Meldung.", "The UPS checks its battery and runs on it for a short while. The result shows as an event after about a minute."},
	"ups.selftest_started": {"Batterietest gestartet. Das Ergebnis erscheint nach etwa einer Minute als Meldung.", "Battery test started. The result shows as an event after about a minute."},
	"ups.selftest_failed":  {"Der Batterietest konnte nicht gestartet werden:", "The battery test could not be started:"},
	"ups.attached_title":   {"Am Gerät angeschlossen (USB)", "Plugged into the box (USB)"},
	"ups.attached_new":     {"noch nicht überwacht", "not monitored yet"},
	"ups.attached_problem": {"Gefunden, aber nicht lesbar:", "Found but not readable:"},
	"ups.adopt":            {"Überwachen", "Monitor"},
	"ups.adopt_note":       {"Die USV wird an ihrer Seriennummer erkannt, auch wenn sie neu angesteckt wird.", "The UPS is recognised by its serial number, also when it is plugged in again."},
}

func init() {
	for k, m := range upsCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: message " + k + " defined twice")
		}
		catalog[k] = m
	}
}
