package web

// Messages of live apply, form validation and the restart button, kept
// apart from i18n.go so that pages built in parallel do not edit one
// table; init merges them into the catalog.
var applyCatalog = map[string]msg{
	"flash.applied":  {"Gespeichert und sofort aktiv.", "Saved and in effect now."},
	"flash.restart":  {"Gespeichert. Gilt nach Neustart des Dienstes:", "Saved. Takes effect when the service restarts:"},
	"flash.live":     {"Sofort aktiv:", "In effect now:"},
	"sec.site":       {"Standort", "site"},
	"sec.gateway":    {"Box-Kennung", "gateway id"},
	"sec.state_dir":  {"Datenverzeichnis", "state directory"},
	"sec.log":        {"Protokollierung", "logging"},
	"sec.uplink":     {"Verbindung zum Dienstleister", "connection to the provider"},
	"sec.buffer":     {"Zwischenspeicher", "buffer"},
	"sec.defaults":   {"Standard-Abfrageintervall", "poll defaults"},
	"sec.devices":    {"Geräte", "devices"},
	"sec.alarms":     {"Schwellwerte", "thresholds"},
	"sec.self":       {"Selbstüberwachung", "self-monitoring"},
	"sec.commands":   {"Fernbefehle", "remote commands"},
	"sec.web":        {"Weboberfläche", "web page"},
	"sec.nut_server": {"NUT-Server", "NUT server"},
	"sec.fridge":     {"Kühlschrank-Profil", "fridge profile"},
	"sec.update":     {"Updates", "updates"},
	"sec.coldchain":  {"Sollbereich im Kühlketten-Protokoll", "band of the cold-chain record"},
}

func init() {
	for k, m := range applyCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: message " + k + " defined twice")
		}
		catalog[k] = m
	}
}
