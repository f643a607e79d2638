package web

// Messages of the SMS/call notifier page, merged into the catalog by init
// like i18n_health.go.
var notifyCatalog = map[string]msg{
	"nav.notify":          {"SMS-Alarm", "SMS alarms"},
	"sec.notify":          {"SMS-Alarm", "SMS alarms"},
	"nt.intro":            {"Fällt die Internetverbindung aus, alarmiert die Box selbst per SMS und Anruf über das Mobilfunkmodem.", "When the internet connection is down, the box alerts people itself by SMS and call over the cellular modem."},
	"nt.modem":            {"Modem", "Modem"},
	"nt.present":          {"angeschlossen", "plugged in"},
	"nt.responding":       {"antwortet", "answering"},
	"nt.sim":              {"SIM", "SIM"},
	"nt.registration":     {"Netz", "Network"},
	"nt.signal":           {"Empfang", "Signal"},
	"nt.sim.ready":        {"bereit", "ready"},
	"nt.sim.pin":          {"PIN nötig (falsche oder fehlende PIN in der Konfiguration)", "PIN required (wrong or missing PIN in the config)"},
	"nt.sim.puk":          {"gesperrt, PUK nötig (SIM-Karte im Telefon entsperren)", "locked, PUK required (unlock the SIM card in a phone)"},
	"nt.sim.missing":      {"keine SIM-Karte", "no SIM card"},
	"nt.reg.home":         {"Heimnetz", "home network"},
	"nt.reg.roaming":      {"fremdes Netz (Roaming)", "roaming"},
	"nt.reg.searching":    {"sucht ein Netz", "searching for a network"},
	"nt.reg.denied":       {"vom Netz abgelehnt", "refused by the network"},
	"nt.reg.none":         {"nicht angemeldet", "not registered"},
	"nt.reg.unknown":      {"unbekannt", "unknown"},
	"nt.contacts":         {"Kontakte", "Contacts"},
	"nt.name":             {"Name", "Name"},
	"nt.number":           {"Nummer", "Number"},
	"nt.chains":           {"Alarmkette je Schweregrad", "Escalation per severity"},
	"nt.severity":         {"Schweregrad", "Severity"},
	"nt.order":            {"Reihenfolge", "Order"},
	"nt.delay":            {"Abstand", "Delay"},
	"nt.repeat":           {"wiederholen", "repeat"},
	"nt.when":             {"wann", "when"},
	"nt.when.uplink_down": {"nur ohne Internet oder ohne Quittung des Dienstleisters", "only without internet or without the provider's acknowledgement"},
	"nt.when.always":      {"immer", "always"},
	"nt.call":             {"Anruf", "Call"},
	"nt.quiet":            {"Ruhezeit", "Quiet hours"},
	"nt.rate":             {"Höchstens %d SMS pro Stunde.", "At most %d SMS per hour."},
	"nt.test":             {"Test-SMS senden", "Send test SMS"},
	"nt.all":              {"alle Kontakte", "all contacts"},
	"nt.recent":           {"Letzte Benachrichtigungen", "Recent notifications"},
	"nt.none":             {"Noch keine Benachrichtigung.", "No notification yet."},
	"nt.channel":          {"Weg", "Channel"},
	"nt.result":           {"Ergebnis", "Result"},
	"nt.ok":               {"gesendet", "sent"},
	"nt.failed":           {"fehlgeschlagen:", "failed:"},
	"nt.test_mark":        {"Test", "test"},
	"nt.unconfigured":     {"Kein Abschnitt notify: in der Konfiguration.", "No notify: section in the config."},
	"flash.notify_test":   {"Test-SMS gesendet.", "Test SMS sent."},
}

func init() {
	for k, m := range notifyCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: message " + k + " defined twice")
		}
		catalog[k] = m
	}
}
