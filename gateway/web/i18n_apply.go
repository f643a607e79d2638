package web

// Messages of live apply, form validation and the restart button, kept
// apart from i18n.go so that pages built in parallel do not edit one
// table; init merges them into the catalog.
var applyCatalog = map[string]msg{
	"flash.applied":     {"Gespeichert und sofort aktiv.", "Saved and in effect now."},
	"flash.restart":     {"Gespeichert. Gilt nach Neustart des Dienstes:", "Saved. Takes effect when the service restarts:"},
	"flash.restarting":  {"Der Dienst wird neu gestartet. Die Seite ist in etwa einer halben Minute wieder erreichbar.", "The service is restarting. The page is back in about half a minute."},
	"set.restart_title": {"Dienst", "Service"},
	"set.restart":       {"Dienst neu starten", "Restart the service"},
	"set.restart_note":  {"Übernimmt gespeicherte Änderungen, die erst nach einem Neustart gelten (Verbindung, Geräte, Weboberfläche). Die Messwerte bleiben im Zwischenspeicher erhalten.", "Puts saved changes into effect that wait for a restart (connection, devices, web page). Readings stay safe in the buffer."},
	"al.fridge_title":   {"Kühlschrank-Profil", "Fridge profile"},
	"al.fridge_note":    {"Gilt für jeden Kühlschrank ohne eigene Regel oben. Leere Felder: Standardwert (grau).", "Applies to every fridge without a rule of its own above. Empty fields: the default (grey)."},
	"al.fridge_high":    {"Obergrenze °C", "Upper limit °C"},
	"al.fridge_low":     {"Untergrenze °C", "Lower limit °C"},
	"al.fridge_delay":   {"Verzögerung (Tür offen)", "Delay (door open)"},
	"al.default":        {"Standard", "default"},
	"flash.live":        {"Sofort aktiv:", "In effect now:"},
	"sec.site":          {"Standort", "site"},
	"sec.gateway":       {"Box-Kennung", "gateway id"},
	"sec.state_dir":     {"Datenverzeichnis", "state directory"},
	"sec.timezone":      {"Zeitzone", "time zone"},
	"sec.log":           {"Protokollierung", "logging"},
	"sec.uplink":        {"Verbindung zum Dienstleister", "connection to the provider"},
	"sec.buffer":        {"Zwischenspeicher", "buffer"},
	"sec.defaults":      {"Standard-Abfrageintervall", "poll defaults"},
	"sec.devices":       {"Geräte", "devices"},
	"sec.alarms":        {"Schwellwerte", "thresholds"},
	"sec.self":          {"Selbstüberwachung", "self-monitoring"},
	"sec.commands":      {"Fernbefehle", "remote commands"},
	"sec.web":           {"Weboberfläche", "web page"},
	"sec.nut_server":    {"NUT-Server", "NUT server"},
	"sec.fridge":        {"Kühlschrank-Profil", "fridge profile"},
	"sec.update":        {"Updates", "updates"},
	"sec.coldchain":     {"Sollbereich im Kühlketten-Protokoll", "band of the cold-chain record"},
}

func init() {
	for k, m := range applyCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: message " + k + " defined twice")
		}
		catalog[k] = m
	}
}

var formCatalog = map[string]msg{
	"err.config_refused": {"Die Konfiguration wurde nicht übernommen:", "The configuration was not accepted:"},
	"err.see_problems":   {"nicht übernommen, siehe Meldung oben", "not accepted, see the message above"},
	"err.required":       {"Pflichtfeld", "required"},
	"err.slug":           {"nur Kleinbuchstaben a–z, Ziffern und '-', höchstens 64 Zeichen", "only lower-case a–z, digits and '-', at most 64 characters"},
	"err.url":            {"keine URL (z. B. mqtts://mqtt.dienstleister.de:8883)", "not a URL (e.g. mqtts://mqtt.provider.example:8883)"},
	"err.scheme":         {"unbekanntes Schema; erlaubt sind mqtt, mqtts, tcp, tls, ssl, ws und wss", "unknown scheme; allowed are mqtt, mqtts, tcp, tls, ssl, ws and wss"},
	"err.url_user":       {"Zugangsdaten gehören in die Felder Benutzer und Passwort, nicht in die URL", "credentials belong in the user and password fields, not in the URL"},
	"err.url_host":       {"der Rechnername fehlt", "the host name is missing"},
	"err.port":           {"Port außerhalb von 1–65535", "port out of 1–65535"},
	"err.above_below":    {"muss größer sein als der Wert bei „unter“", "must be greater than the value under “below”"},
	"err.need_bound":     {"mindestens „über“ oder „unter“ angeben", "give at least “above” or “below”"},
	"err.below_high":     {"muss kleiner sein als die Obergrenze (%s)", "must be below the upper limit (%s)"},
	"err.negative":       {"darf nicht negativ sein", "must not be negative"},
	"err.severity":       {"kritisch, hoch oder niedrig wählen", "choose critical, major or minor"},
}

func init() {
	for k, m := range formCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: message " + k + " defined twice")
		}
		catalog[k] = m
	}
}
