package web

// Messages of the technician's first hour (issue 22): the checklist on the
// overview, the refusal page that keeps what was typed, the update
// reasons and metric and device words that used to show in English.
// Merged into the catalog by init like i18n_health.go.
var firstRunCatalog = map[string]msg{
	"ck.title":        {"Erste Schritte", "First steps"},
	"ck.intro":        {"Diese Liste verschwindet, sobald alle Punkte erledigt sind.", "This list disappears once every item is done."},
	"ck.done":         {"erledigt", "done"},
	"ck.open":         {"offen", "open"},
	"ck.uplink":       {"Verbindung zum Dienstleister steht", "Connection to the provider is up"},
	"ck.uplink_fix":   {"Broker, Zugangsdaten und Zertifikate eintragen, dann „Verbindung testen“.", "Enter broker, credentials and certificates, then “Test connection”."},
	"ck.clock":        {"Uhrzeit der Box ist synchronisiert", "The box's clock is synchronised"},
	"ck.clock_fix":    {"Die Box stellt ihre Uhr über das Internet (NTP); ohne Verbindung bleibt sie ungenau. Das Protokoll zeigt den Grund.", "The box sets its clock over the internet (NTP); without a connection it drifts. The log shows why."},
	"ck.ups":          {"USV gefunden und ausgelesen", "UPS found and read"},
	"ck.ups_fix":      {"USV per USB anschließen oder im Netz gefundene USV-Karte überwachen.", "Plug in the UPS by USB or monitor a UPS card found on the network."},
	"ck.fridges":      {"Kühlschränke mit Sollbereich überwacht", "Fridges monitored with their target range"},
	"ck.fridges_fix":  {"Kühlschrank-Sensoren als Gerät mit Art „fridge“ anlegen und den Sollbereich prüfen.", "Add the fridge sensors as devices of kind “fridge” and check the target range."},
	"ck.band":         {"Sollbereich %s–%s °C", "target range %s–%s °C"},
	"ck.contacts":     {"Kontakte für den Alarm eingetragen", "Alarm contacts set"},
	"ck.contacts_fix": {"Im Abschnitt notify: der Konfiguration Kontakte mit Telefonnummer eintragen (Anleitung: docs/notify.md).", "Enter contacts with phone numbers in the notify: section of the config (guide: docs/notify.md)."},
	"ck.test":         {"Test-Alarm ist angekommen", "A test alarm arrived"},
	"ck.test_fix":     {"Test-SMS senden und bestätigen, sobald sie auf dem Telefon angekommen ist.", "Send the test SMS and confirm once it has arrived on the phone."},
	"ck.test_sent":    {"Test-SMS gesendet %s.", "Test SMS sent %s."},
	"ck.confirm":      {"Ist angekommen", "It arrived"},
	"flash.ck_test":   {"Vermerkt: Der Test-Alarm ist angekommen.", "Noted: the test alarm arrived."},

	// Refusals (CSRF, expired sessions) in the page's frame.
	"rf.title":       {"Nicht ausgeführt", "Not carried out"},
	"rf.stale":       {"Das Formular war veraltet (ein alter Browser-Tab oder ein Neustart der Box) und wurde deshalb nicht ausgeführt. Ihre Eingaben stehen unten; bitte prüfen und erneut senden.", "The form was stale (an old browser tab or a restart of the box), so it was not carried out. Your input is below; please check it and send it again."},
	"rf.expired":     {"Ihre Sitzung ist abgelaufen (30 Minuten ohne Aktivität oder ein Neustart der Box). Bitte melden Sie sich erneut an; Ihre Eingaben bleiben erhalten und können danach erneut gesendet werden.", "Your session has expired (30 minutes without activity or a restart of the box). Please log in again; your input is kept and can be sent again afterwards."},
	"rf.login_stale": {"Das Formular war veraltet und wurde nicht ausgeführt. Bitte geben Sie das Passwort erneut ein.", "The form was stale and was not carried out. Please enter the password again."},
	"rf.foreign":     {"Die Anfrage kam nicht von dieser Seite und wurde abgelehnt; nichts wurde geändert.", "The request did not come from this page and was refused; nothing was changed."},
	"rf.kept":        {"Ihre Eingaben", "Your input"},
	"rf.field":       {"Feld", "Field"},
	"rf.value":       {"Eingabe", "Input"},
	"rf.secret":      {"(Passwörter, Schlüssel und Dateien werden aus Sicherheitsgründen nicht übernommen)", "(passwords, keys and files are not kept, for security)"},
	"rf.resend":      {"Erneut senden", "Send again"},
	"rf.back":        {"Zurück zur Seite", "Back to the page"},
	"rf.after_login": {"Nach der Anmeldung können Sie diese Eingaben erneut senden.", "After logging in you can send this input again."},

	// Reasons of the self-update (update/, gateway/webbackend).
	"upd.r_no_section":     {"kein Abschnitt update: in der Konfiguration", "no update: section in the config"},
	"upd.r_cannot":         {"update: ist eingetragen, aber diese Box kann sich nicht selbst aktualisieren (nicht mit „praxisgate update provision“ eingerichtet oder eine Entwicklungsversion); Näheres im Protokoll", "update: is configured, but this box cannot update itself (not provisioned with “praxisgate update provision”, or a development build); the log says why"},
	"upd.r_newest":         {"die neueste Version läuft bereits", "running the newest release"},
	"upd.r_window":         {"außerhalb des Wartungsfensters", "outside the maintenance window"},
	"upd.r_on_battery":     {"USV %s läuft auf Batterie", "UPS %s is on battery"},
	"upd.r_critical":       {"kritischer Alarm aktiv: %s", "critical alarm active: %s"},
	"upd.r_trial_wait":     {"eine Version ist in Erprobung; bitte warten, bis sie übernommen oder zurückgerollt ist", "a version is on trial; wait for it to commit or roll back"},
	"upd.r_restarting":     {"Neustart in die neue Version", "restarting into the new version"},
	"upd.r_healthy":        {"läuft fehlerfrei", "healthy"},
	"upd.r_trial":          {"muss innerhalb von %s fehlerfrei laufen", "must become healthy within %s"},
	"upd.r_rollout":        {"gestaffelte Verteilung bei %s, diese Box ist in Gruppe %s", "staged rollout at %s, this gateway is in bucket %s"},
	"upd.r_available":      {"%s für %s im Kanal %s, Verteilung %s", "%s for %s on %s, rollout %s"},
	"upd.r_refused_before": {"%s wurde hier schon einmal abgelehnt (die Datei ist nicht, was ihr Etikett sagt); es wird auf eine neuere Version gewartet", "%s was refused here before (its binary is not what its label says); waiting for a newer release"},
	"upd.r_rolled_before":  {"%s wurde hier schon einmal zurückgerollt; es wird auf eine neuere Version gewartet", "%s was rolled back here before; waiting for a newer release"},
	"upd.r_downgrade":      {"älterer Stand abgelehnt: angeboten wird %s, älter als die laufende %s (allow_downgrade ist nicht gesetzt)", "downgrade refused: the repository offers %s, older than the running %s, without allow_downgrade"},
	"upd.r_no_release":     {"keine Version für Kanal %s auf %s", "no release for %s on %s"},
	"upd.r_boots":          {"%s wurde %s-mal gestartet, ohne fehlerfrei zu laufen (%s)", "%s started %s times without becoming healthy (%s)"},
	"upd.r_technical":      {"technische Meldung (englisch): %s", "%s"},

	// Readings of the test poll and the overview.
	"metric.door.open":              {"Tür offen", "door open"},
	"metric.door.openings":          {"Türöffnungen", "door openings"},
	"metric.device.reachable":       {"erreichbar", "reachable"},
	"metric.device.poll_failures":   {"Fehlversuche in Folge", "failed polls in a row"},
	"metric.device.uptime":          {"Laufzeit des Geräts", "device uptime"},
	"metric.setpoint":               {"Sollwert", "set point"},
	"metric.compressor.hours":       {"Betriebsstunden Kompressor", "compressor hours"},
	"metric.latency":                {"Antwortzeit", "latency"},
	"metric.latency.max":            {"Antwortzeit (höchste)", "latency (max)"},
	"metric.loss":                   {"Paketverlust", "packet loss"},
	"metric.output.voltage":         {"Ausgangsspannung", "output voltage"},
	"metric.output.current":         {"Ausgangsstrom", "output current"},
	"metric.output.frequency":       {"Ausgangsfrequenz", "output frequency"},
	"metric.battery.voltage":        {"Akkuspannung", "battery voltage"},
	"metric.battery.temperature":    {"Akkutemperatur", "battery temperature"},
	"metric.battery.age":            {"Akkualter", "battery age"},
	"metric.discover.hosts":         {"Geräte im Netz", "hosts on the network"},
	"metric.discover.hosts.new":     {"davon neu", "of which new"},
	"metric.discover.hosts.unknown": {"davon unbekannt", "of which unknown"},
	"metric.discover.hosts.gone":    {"nicht mehr da", "gone"},
	"metric.http.status":            {"HTTP-Status", "HTTP status"},
	"metric.pages":                  {"gedruckte Seiten", "pages printed"},

	"kind.ups-card":    {"USV-Netzwerkkarte", "UPS network card"},
	"kind.server":      {"Server", "server"},
	"kind.workstation": {"Arbeitsplatz-PC", "workstation"},
	"kind.phone":       {"Telefon", "phone"},
	"kind.iot":         {"vernetztes Kleingerät", "IoT device"},
	"kind.unknown":     {"unbekannt", "unknown"},

	"cc.partial": {"Ein Tag erscheint im Protokoll, sobald er begonnen hat; die Zeile von heute ist bis Mitternacht unvollständig (Mindest- und Höchstwert bis jetzt). Am ersten Tag enthält die Datei deshalb nur diese eine Zeile.", "A day appears in the record once it has begun; today's row stays partial until midnight (minimum and maximum so far). On the first day the file therefore holds only that one row."},
	"al.for_eg":  {"z. B. 15m", "e.g. 15m"},
}

func init() {
	for k, m := range firstRunCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: message " + k + " defined twice")
		}
		catalog[k] = m
	}
}
