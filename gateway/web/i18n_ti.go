package web

// Messages of the overview's TI card (ti.go): the TI connector, its VPNs,
// cards and card terminals, with what the practice should do. init merges
// them into the catalog.
var tiCatalog = map[string]msg{
	"ov.ti":         {"TI (Telematikinfrastruktur)", "TI (telematics infrastructure)"},
	"ti.connector":  {"Konnektor", "Connector"},
	"ti.device":     {"Gerät", "Device"},
	"ti.polled":     {"Abgefragt", "Polled"},
	"ti.cards":      {"Karten", "Cards"},
	"ti.terminals":  {"Kartenterminals", "Card terminals"},
	"ti.no_cards":   {"Keine Karten gesteckt.", "No cards inserted."},
	"ti.no_terms":   {"Keine Kartenterminals gemeldet.", "No card terminals reported."},
	"ti.h_card":     {"Karte", "Card"},
	"ti.h_holder":   {"Inhaber", "Holder"},
	"ti.h_valid":    {"gültig bis", "valid until"},
	"ti.h_days":     {"Tage", "Days"},
	"ti.h_terminal": {"Terminal", "Terminal"},
	"ti.h_ip":       {"IP-Adresse", "IP address"},
	"ti.h_conn":     {"verbunden", "connected"},
	"ti.h_reach":    {"erreichbar", "reachable"},
	"ti.h_state":    {"Zustand", "State"},

	"ti.state.unreachable": {"Konnektor antwortet nicht: Strom und Netzwerkkabel des Konnektors prüfen", "The connector does not answer: check its power and network cable"},
	"ti.state.unknown":     {"noch keine Daten", "no data yet"},
	"ti.state.critical":    {"Störung: die TI ist gestört (kritische Fehlerzustände: %d, siehe Alarme)", "Fault: the TI is disturbed (critical error states: %d, see alarms)"},
	"ti.state.notes":       {"in Betrieb (Hinweise des Konnektors: %d, siehe Alarme)", "running (notices of the connector: %d, see alarms)"},
	"ti.state.ok":          {"in Betrieb, keine Fehlerzustände", "running, no error states"},

	"ti.vpn.ti.down":    {"getrennt: kein E-Rezept, keine eAU, ePA und KIM. Internet und Router prüfen, dann den Konnektor neu starten; hilft das nicht, den TI-Dienstleister anrufen", "down: no e-prescriptions, eAU, ePA or KIM. Check internet and router, then restart the connector; if that does not help, call the TI service provider"},
	"ti.vpn.sis.down":   {"getrennt: kein sicherer Internetzugang über die TI. Internet und Router prüfen, dann den Konnektor neu starten", "down: no secure internet access through the TI. Check internet and router, then restart the connector"},
	"ti.vpn.online":     {"verbunden", "connected"},
	"ti.vpn.offline":    {"nicht verbunden (ohne Alarm: Folge eines Internet- oder Stromausfalls, oder der Konnektor meldet noch keinen Fehler)", "not connected (no alarm: a consequence of an internet or power outage, or the connector reports no error yet)"},
	"ti.vpn.sis.unused": {"nicht verbunden: wird offenbar nicht genutzt, kein Fehler", "not connected: apparently not used, not a fault"},

	"ti.cardname.smc-b":   {"SMC-B (Praxisausweis)", "SMC-B (practice card)"},
	"ti.cardname.hsm-b":   {"HSM-B (Praxisausweis)", "HSM-B (practice card)"},
	"ti.cardname.hba":     {"HBA (Heilberufsausweis)", "HBA (health professional card)"},
	"ti.cardname.smc-kt":  {"SMC-KT (Gerätekarte)", "SMC-KT (terminal card)"},
	"ti.cardname.unknown": {"Karte", "Card"},
	"ti.card.expires_in":  {"%s läuft in %d Tagen ab", "%s expires in %d days"},
	"ti.card.tomorrow":    {"%s läuft morgen ab", "%s expires tomorrow"},
	"ti.card.today":       {"%s läuft heute ab", "%s expires today"},
	"ti.card.expired":     {"%s ist abgelaufen: %s", "%s has expired: %s"},
	"ti.card.valid":       {"gültig, noch %d Tage", "valid, %d days left"},
	"ti.card.no_expiry":   {"kein Ablaufdatum gemeldet", "no expiry date reported"},
	"ti.do.order":         {"Folgekarte bestellen", "order the follow-up card"},
	"ti.do.order_hba":     {"Folgeausweis bei der Kammer beantragen", "apply to the chamber for the follow-up card"},
	"ti.do.order_smckt":   {"neue Gerätekarte beim Terminal-Hersteller bestellen", "order a new terminal card from the terminal's vendor"},
	"ti.do.insert":        {"neue Karte stecken und freischalten", "insert and activate the new card"},

	"ti.term.connected": {"in Ordnung", "fine"},
	"ti.term.gone":      {"nicht erreichbar: Strom und Netzwerkkabel prüfen, Terminal neu starten", "unreachable: check power and network cable, restart the terminal"},
	"ti.term.never":     {"noch nie verbunden (kein Alarm)", "never connected (no alarm)"},
}

func init() {
	for k, m := range tiCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: duplicate catalog key " + k)
		}
		catalog[k] = m
	}
}
