package web

import "sync/atomic"

// The message catalog: every user-facing string of the page, German first
// (the technicians' language) with English beside it. Templates and
// handlers refer to keys only, so a missing translation is caught by
// TestCatalogComplete rather than shown half-German.

// missingKey, when set, hears of every key tr did not find.
var missingKey atomic.Pointer[func(key string)]

const (
	langDE = "de"
	langEN = "en"
)

type msg struct{ de, en string }

var catalog = map[string]msg{
	"app.title":             {"praxisgate", "praxisgate"},
	"nav.overview":          {"Übersicht", "Overview"},
	"nav.devices":           {"Geräte", "Devices"},
	"nav.alarms":            {"Sensoren & Alarme", "Sensors & alarms"},
	"nav.settings":          {"Einstellungen", "Settings"},
	"nav.diagnostics":       {"Diagnose", "Diagnostics"},
	"nav.update":            {"Update", "Update"},
	"nav.logout":            {"Abmelden", "Log out"},
	"lang.switch":           {"English", "Deutsch"},
	"fingerprint":           {"Zertifikat-Fingerabdruck (SHA-256)", "Certificate fingerprint (SHA-256)"},
	"setup.title":           {"Ersteinrichtung", "First-time setup"},
	"setup.intro":           {"Den Einrichtungscode zeigt der Bildschirm der Box (Anmeldebildschirm der Konsole/HDMI) und der Aufkleber des Dienstleisters; er steht auch im Protokoll. Er gilt nur einmal.", "The setup code is shown on the box's screen (console/HDMI login screen) and on the provider's sticker; it is also in the log. It works only once."},
	"setup.code":            {"Einrichtungscode", "Setup code"},
	"setup.submit":          {"Administrator anlegen", "Create administrator"},
	"login.title":           {"Anmelden", "Log in"},
	"login.user":            {"Benutzername", "User name"},
	"login.password":        {"Passwort", "Password"},
	"login.confirm":         {"Passwort wiederholen", "Repeat password"},
	"login.submit":          {"Anmelden", "Log in"},
	"err.login":             {"Benutzername oder Passwort falsch.", "Wrong user name or password."},
	"err.throttled":         {"Zu viele Fehlversuche. Bitte warten Sie %s und versuchen Sie es erneut.", "Too many failed attempts. Please wait %s and try again."},
	"err.setup_code":        {"Der Einrichtungscode stimmt nicht.", "The setup code is wrong."},
	"err.username":          {"Benutzername: nur a–z, 0–9, '-', '_', '.', höchstens 32 Zeichen.", "User name: only a–z, 0–9, '-', '_', '.', at most 32 characters."},
	"err.password_short":    {"Das Passwort muss mindestens 10 Zeichen lang sein.", "The password must be at least 10 characters long."},
	"err.password_long":     {"Das Passwort ist zu lang (höchstens 256 Byte).", "The password is too long (at most 256 bytes)."},
	"err.password_mismatch": {"Die Passwörter stimmen nicht überein.", "The passwords do not match."},
	"err.csrf":              {"Die Anfrage wurde abgelehnt (Formular veraltet oder fremde Herkunft). Bitte laden Sie die Seite neu.", "The request was refused (stale form or foreign origin). Please reload the page."},
	"err.internal":          {"Interner Fehler; Details im Protokoll.", "Internal error; details in the log."},
	"err.not_found":         {"Seite nicht gefunden.", "Page not found."},
	"err.method":            {"Methode nicht erlaubt.", "Method not allowed."},
	"err.unknown_device":    {"Unbekanntes Gerät.", "Unknown device."},
	"err.no_config_file":    {"Die Konfiguration wurde nicht aus einer Datei geladen und kann hier nicht bearbeitet werden.", "The config was not loaded from a file and cannot be edited here."},
	"err.number":            {"keine Zahl", "not a number"},
	"err.duration":          {"keine Dauer (z. B. 15m, 30s)", "not a duration (e.g. 15m, 30s)"},
	"err.date":              {"Datum bitte als JJJJ-MM-TT.", "Dates as YYYY-MM-DD, please."},
	"cc.title":              {"Kühlketten-Protokoll", "Cold-chain record"},
	"cc.device":             {"Kühlschrank", "Fridge"},
	"cc.from":               {"von", "from"},
	"cc.to":                 {"bis", "to"},
	"cc.download":           {"CSV herunterladen", "Download CSV"},
	"err.bad_request":       {"Die Anfrage ist nicht lesbar (zu groß oder beschädigt).", "The request cannot be read (too large or damaged)."},
	"err.rule":              {"Unbekannte Regel.", "Unknown rule."},
	"flash.acked":           {"Alarm quittiert.", "Alarm acknowledged."},
	"flash.setup_done":      {"Administrator angelegt. Bitte melden Sie sich an.", "Administrator created. Please log in."},
	"flash.logged_out":      {"Abgemeldet.", "Logged out."},
	"ov.uplink":             {"Verbindung zum Dienstleister", "Connection to the provider"},
	"ov.connected":          {"verbunden", "connected"},
	"ov.disconnected":       {"getrennt", "disconnected"},
	"ov.since":              {"seit", "since"},
	"ov.last_publish":       {"Letzte Übertragung", "Last publish"},
	"ov.last_error":         {"Letzter Fehler", "Last error"},
	"ov.buffer":             {"Zwischenspeicher", "Buffer"},
	"ov.records":            {"Einträge", "records"},
	"ov.oldest":             {"ältester", "oldest"},
	"ov.dropped":            {"verworfen", "dropped"},
	"ov.alarms":             {"Aktive Alarme", "Active alarms"},
	"ov.no_alarms":          {"Keine aktiven Alarme.", "No active alarms."},
	"ov.ups":                {"USV", "UPS"},
	"ov.fridges":            {"Kühlschränke", "Fridges"},
	"ov.last_24h":           {"24 Std.", "24 h"},
	"ov.min":                {"min.", "min"},
	"ov.max":                {"max.", "max"},
	"ov.band":               {"Soll", "target"},
	"ov.health":             {"Zustand der Box", "Box health"},
	"ov.version":            {"Version", "Version"},
	"ov.uptime":             {"Laufzeit", "Uptime"},
	"ov.never":              {"nie", "never"},
	"ov.none":               {"keine", "none"},
	"dev.id":                {"Kennung", "Id"},
	"dev.name":              {"Name", "Name"},
	"dev.kind":              {"Art", "Kind"},
	"dev.driver":            {"Treiber", "Driver"},
	"dev.last":              {"Letzte Messung", "Last reading"},
	"dev.state":             {"Zustand", "State"},
	"dev.ok":                {"in Ordnung", "OK"},
	"dev.disabled":          {"deaktiviert", "disabled"},
	"dev.test_poll":         {"Testabfrage", "Test poll"},
	"dev.poll_result":       {"Ergebnis der Testabfrage", "Test poll result"},
	"dev.poll_failed":       {"Abfrage fehlgeschlagen:", "Poll failed:"},
	"dev.metric":            {"Messwert", "Metric"},
	"dev.value":             {"Wert", "Value"},
	"inv.title":             {"Im Netz gefunden", "Found on the network"},
	"inv.ip":                {"IP-Adresse", "IP address"},
	"inv.mac":               {"MAC", "MAC"},
	"inv.vendor":            {"Hersteller", "Vendor"},
	"inv.state":             {"Status", "State"},
	"inv.adopted":           {"überwacht als", "monitored as"},
	"inv.known":             {"bekannt", "known"},
	"inv.unknown":           {"unbekannt", "unknown"},
	"inv.gone":              {"nicht mehr da", "gone"},
	"inv.adopt":             {"Überwachen (SNMP)", "Monitor (SNMP)"},
	"inv.profile":           {"Profil (leer: automatisch)", "Profile (empty: automatic)"},
	"inv.ignore":            {"Als bekannt markieren", "Mark as known"},
	"inv.none":              {"Keine Netzwerkerkennung eingerichtet oder noch kein Durchlauf.", "No network discovery configured or no sweep yet."},
	"dev.count":             {"Geräte", "devices"},
	"al.active":             {"Aktive Alarme", "Active alarms"},
	"al.device":             {"Gerät", "Device"},
	"al.severity":           {"Alarmstufe", "Severity"},
	"al.message":            {"Meldung", "Message"},
	"al.since":              {"Seit", "Since"},
	"al.ack":                {"Quittieren", "Acknowledge"},
	"al.acked_by":           {"quittiert von", "acknowledged by"},
	"al.rules":              {"Schwellwerte", "Thresholds"},
	"al.metric":             {"Messgröße", "Metric"},
	"al.above":              {"über", "above"},
	"al.below":              {"unter", "below"},
	"al.for":                {"Mindestdauer", "Minimum duration"},
	"al.hysteresis":         {"Hysterese", "Hysteresis"},
	"al.save":               {"Speichern", "Save"},
	"al.no_rules":           {"Keine Schwellwerte konfiguriert.", "No thresholds configured."},
	"sev.critical":          {"kritisch", "critical"},
	"sev.major":             {"hoch", "major"},
	"sev.minor":             {"niedrig", "minor"},
	"sev.info":              {"Info", "info"},
	"set.identity":          {"Standort und Box", "Site and box"},
	"set.site":              {"Standort (site)", "Site"},
	"set.gateway":           {"Box (gateway)", "Gateway"},
	"set.broker":            {"Broker-URL", "Broker URL"},
	"set.username":          {"MQTT-Benutzer", "MQTT user"},
	"set.password":          {"MQTT-Passwort (leer lassen: unverändert)", "MQTT password (leave empty: unchanged)"},
	"set.interval":          {"Standard-Abfrageintervall", "Default poll interval"},
	"set.uplink":            {"Verbindung", "Connection"},
	"set.save":              {"Speichern", "Save"},
	"set.certs":             {"Zertifikate", "Certificates"},
	"set.ca":                {"CA-Zertifikat (PEM)", "CA certificate (PEM)"},
	"set.client_cert":       {"Client-Zertifikat (PEM)", "Client certificate (PEM)"},
	"set.client_key":        {"Privater Schlüssel (PEM)", "Private key (PEM)"},
	"set.upload":            {"Prüfen und speichern", "Check and save"},
	"set.current":           {"aktuell", "current"},
	"set.test":              {"Verbindung testen", "Test connection"},
	"set.test_ok":           {"Verbindung erfolgreich: DNS, TCP, TLS und Anmeldung in Ordnung.", "Connection works: DNS, TCP, TLS and login OK."},
	"set.test_failed":       {"Verbindungstest fehlgeschlagen", "Connection test failed"},
	"step.dns":              {"Namensauflösung (DNS)", "Name resolution (DNS)"},
	"step.tcp":              {"TCP-Verbindung", "TCP connection"},
	"step.tls":              {"TLS (Zertifikate)", "TLS (certificates)"},
	"step.auth":             {"Anmeldung am Broker", "Login at the broker"},
	"step.mqtt":             {"MQTT-Protokoll", "MQTT protocol"},
	"cert.expired":          {"Das Zertifikat ist abgelaufen (gültig bis %s).", "The certificate has expired (valid until %s)."},
	"cert.not_yet":          {"Das Zertifikat ist noch nicht gültig (ab %s).", "The certificate is not valid yet (from %s)."},
	"cert.no_pem":           {"Keine PEM-Daten gefunden.", "No PEM data found."},
	"cert.parse":            {"Das Zertifikat ist nicht lesbar: %s", "The certificate cannot be read: %s"},
	"cert.key_parse":        {"Der Schlüssel ist nicht lesbar: %s", "The key cannot be read: %s"},
	"cert.key_mismatch":     {"Schlüssel und Zertifikat gehören nicht zusammen.", "Key and certificate do not belong together."},
	"cert.chain":            {"Das Client-Zertifikat ist nicht von der CA signiert: %s", "The client certificate is not signed by the CA: %s"},
	"cert.not_ca":           {"Das CA-Zertifikat ist kein CA-Zertifikat.", "The CA certificate is not a CA certificate."},
	"cert.need_both":        {"Client-Zertifikat und Schlüssel gehören zusammen hochgeladen.", "Upload client certificate and key together."},
	"cert.too_big":          {"Die Datei ist zu groß.", "The file is too large."},
	"cert.nothing":          {"Keine Datei ausgewählt.", "No file chosen."},
	"diag.logs":             {"Letzte Protokollzeilen", "Recent log lines"},
	"diag.no_logs":          {"Keine Protokollzeilen verfügbar.", "No log lines available."},
	"diag.bundle":           {"Support-Paket herunterladen (ohne Passwörter und Schlüssel)", "Download support bundle (without passwords and keys)"},
	"diag.audit":            {"Änderungsprotokoll", "Audit log"},
	"diag.discovery":        {"Netzwerkerkennung", "Network discovery"},
	"diag.discover":         {"Netz jetzt durchsuchen", "Search the network now"},
	"diag.discover_note":    {"kann bis zu einigen Minuten dauern", "may take up to a few minutes"},
	"diag.no_discovery":     {"Keine Netzwerkerkennung eingerichtet: Legen Sie ein Gerät mit driver: discover an.", "No network discovery configured: add a device with driver: discover."},
	"diag.hosts":            {"Geräte im Netz", "Hosts found"},
	"diag.new":              {"neu", "new"},
	"diag.took":             {"Dauer", "Took"},
	"diag.when":             {"Wann", "When"},
	"diag.who":              {"Wer", "Who"},
	"diag.what":             {"Was", "What"},
	"upd.version":           {"Laufende Version", "Running version"},
	"upd.channel":           {"Kanal", "Channel"},
	"upd.window":            {"Wartungsfenster", "Maintenance window"},
	"upd.last":              {"Letzte Prüfung", "Last check"},
	"upd.reason":            {"Begründung", "Reason"},
	"upd.no_check":          {"noch keine seit dem Start", "none since start"},
	"upd.check":             {"Jetzt prüfen", "Check now"},
	"upd.install":           {"Jetzt installieren", "Install now"},
	"upd.force":             {"trotz Wartungsfenster (auch bei USV-Batteriebetrieb oder kritischem Alarm)", "ignore maintenance window (also UPS on battery or critical alarm)"},
	"upd.install_note":      {"Nach der Installation startet die Box neu; die Seite ist dann kurz nicht erreichbar. Signaturen werden immer geprüft.", "After an install the box restarts; the page is unreachable for a moment. Signatures are always checked."},
	"upd.off":               {"Updates sind auf dieser Box ausgeschaltet (kein nutzbarer Abschnitt update: in der Konfiguration).", "Updates are off on this box (no usable update: section in the config)."},
	"upd.state_checking":    {"wird geprüft", "checking"},
	"upd.state_downloading": {"wird heruntergeladen", "downloading"},
	"upd.state_installed":   {"installiert, Neustart folgt", "installed, restart follows"},
	"upd.state_trial":       {"neue Version in Erprobung", "new version on trial"},
	"upd.state_committed":   {"neue Version übernommen", "new version committed"},
	"upd.state_rolled_back": {"zurückgerollt", "rolled back"},
	"upd.state_available":   {"neue Version verfügbar", "new version available"},
	"upd.state_up_to_date":  {"aktuell", "up to date"},
	"upd.state_deferred":    {"verschoben", "deferred"},
	"upd.state_refused":     {"abgelehnt", "refused"},
	"upd.state_failed":      {"fehlgeschlagen", "failed"},
	"upd.history":           {"Verlauf", "History"},
	"upd.h_time":            {"Zeit", "Time"},
	"upd.h_step":            {"Schritt", "Step"},
	"upd.h_from":            {"von Version", "from version"},
	"upd.h_to":              {"zu Version", "to version"},
	"upd.h_empty":           {"Noch keine Update-Schritte aufgezeichnet.", "No update steps recorded yet."},
}

// tr looks a key up; an unknown key shows itself so the gap is visible
// (and is reported to missingKey, which the page walk test sets).
func tr(lang, key string) string {
	m, ok := catalog[key]
	if !ok {
		if f := missingKey.Load(); f != nil {
			(*f)(key)
		}
		return key
	}
	if lang == langEN {
		return m.en
	}
	return m.de
}

// pickLang chooses the page language: the session's choice, else German.
// The browser's Accept-Language is deliberately not used: the technician
// may borrow an English laptop, and German is the product's default.
func pickLang(s string) string {
	if s == langEN {
		return langEN
	}
	return langDE
}
