package web

// Messages of the box health card, the localized alarm texts and the
// metric and driver-condition names, kept apart from i18n.go like
// i18n_apply.go; init merges them into the catalog.
var healthCatalog = map[string]msg{
	"yes":             {"ja", "yes"},
	"no":              {"nein", "no"},
	"ago":             {"vor %s", "%s ago"},
	"al.every_device": {"jedes Gerät", "every device"},
	"just_now":        {"gerade eben", "just now"},
	"hl.box":          {"Box:", "box:"},
	"hl.cpu":          {"CPU", "CPU"},
	"hl.memory":       {"Arbeitsspeicher", "Memory"},
	"hl.disk":         {"Speicher (Disk)", "Disk"},
	"hl.temperature":  {"Temperatur", "Temperature"},
	"hl.clock":        {"Uhrzeit synchronisiert", "Clock synchronised"},
	"hl.used":         {"belegt", "used"},
	"hl.free":         {"frei", "free"},
	"hl.of":           {"%s von %s frei", "%s of %s free"},
	"hl.all":          {"Alle Messwerte", "All readings"},
	"hl.none":         {"Noch keine Messwerte der Box.", "No readings of the box yet."},

	// Alarm texts: metric, " value unit" (may be empty), limit with unit,
	// how long.
	"at.above":       {"%s%s über dem Grenzwert %s (seit %s)", "%s%s above the limit of %s (for %s)"},
	"at.below":       {"%s%s unter dem Grenzwert %s (seit %s)", "%s%s below the limit of %s (for %s)"},
	"at.stale":       {"%s: keine Messwerte seit %s (Sensor offline?)", "%s: no readings for %s (sensor offline?)"},
	"at.unreachable": {"nicht erreichbar (seit %s)", "does not answer (for %s)"},

	"metric.temperature":     {"Temperatur", "temperature"},
	"metric.humidity":        {"Luftfeuchte", "humidity"},
	"metric.co2":             {"CO₂", "CO₂"},
	"metric.battery.charge":  {"Akkuladung", "battery charge"},
	"metric.battery.runtime": {"Akku-Restlaufzeit", "battery runtime"},
	"metric.ups.load":        {"USV-Last", "UPS load"},
	"metric.input.voltage":   {"Eingangsspannung", "input voltage"},
	"metric.ups.status":      {"USV-Status", "UPS status"},

	"kind.fridge":    {"Kühlschrank", "fridge"},
	"kind.ups":       {"USV", "UPS"},
	"kind.room":      {"Raum", "room"},
	"kind.climate":   {"Raumklima", "climate"},
	"kind.sensor":    {"Sensor", "sensor"},
	"kind.network":   {"Netzwerkerkennung", "network discovery"},
	"kind.host":      {"Rechner", "host"},
	"kind.imaging":   {"Bildgebung (DICOM)", "imaging (DICOM)"},
	"kind.printer":   {"Drucker", "printer"},
	"kind.nas":       {"NAS", "NAS"},
	"kind.switch":    {"Switch", "switch"},
	"kind.sim":       {"Simulator", "simulator"},
	"kind.snmp":      {"SNMP-Gerät", "SNMP device"},
	"kind.konnektor": {"TI-Konnektor", "TI connector"},

	"ups.OL":      {"Netzbetrieb", "on line"},
	"ups.OB":      {"Batteriebetrieb", "on battery"},
	"ups.LB":      {"Batterie schwach", "battery low"},
	"ups.CHRG":    {"lädt", "charging"},
	"ups.DISCHRG": {"entlädt", "discharging"},
	"ups.RB":      {"Batterie tauschen", "replace battery"},
	"ups.OVER":    {"Überlast", "overload"},
	"ups.BYPASS":  {"Bypass", "bypass"},
	"ups.OFF":     {"Ausgang aus", "output off"},
	"ups.FSD":     {"wird heruntergefahren", "forced shutdown"},
	"ups.ALARM":   {"Störung", "alarm"},
	"ups.TRIM":    {"senkt Spannung", "trimming voltage"},
	"ups.BOOST":   {"hebt Spannung an", "boosting voltage"},
	"ups.CAL":     {"kalibriert", "calibrating"},

	"cond.ups.on_battery":       {"USV läuft auf Batterie (Stromausfall)", "UPS is on battery (mains failure)"},
	"cond.ups.low_battery":      {"USV-Batterie fast leer, Abschaltung steht bevor", "UPS battery low, shutdown imminent"},
	"cond.ups.battery_low":      {"USV-Batterie fast leer", "UPS battery low"},
	"cond.ups.battery_depleted": {"USV-Batterie leer", "UPS battery depleted"},
	"cond.ups.battery_missing":  {"USV-Batterie fehlt", "UPS battery missing"},
	"cond.ups.battery_fault":    {"USV-Batterie defekt", "UPS battery fault"},
	"cond.ups.replace_battery":  {"USV-Batterie muss getauscht werden", "UPS battery needs replacing"},
	"cond.ups.battery_replace":  {"USV-Batterie muss getauscht werden", "UPS battery needs replacing"},
	"cond.ups.overload":         {"USV überlastet", "UPS overloaded"},
	"cond.ups.bypass":           {"USV im Bypass, die Geräte sind ungeschützt", "UPS on bypass, the load is unprotected"},
	"cond.ups.on_bypass":        {"USV im Bypass, die Geräte sind ungeschützt", "UPS on bypass, the load is unprotected"},
	"cond.ups.forced_shutdown":  {"USV fährt herunter", "UPS is shutting down"},
	"cond.ups.output_off":       {"USV-Ausgang abgeschaltet", "UPS output switched off"},
	"cond.ups.alarm":            {"USV meldet eine Störung", "UPS reports a fault"},
	"cond.nas.system_failed":    {"NAS meldet einen Systemfehler", "NAS reports a system failure"},
	"cond.nas.power_failed":     {"NAS-Netzteil ausgefallen", "NAS power supply failed"},
	"cond.nas.fan_failed":       {"NAS-Lüfter ausgefallen", "NAS fan failed"},
	"cond.nas.cpu_fan_failed":   {"NAS-CPU-Lüfter ausgefallen", "NAS CPU fan failed"},
	"cond.water_leak":           {"Wassermelder meldet ein Leck", "The water sensor reports a leak"},
	"cond.battery.low":          {"Batterie des Sensors fast leer", "The sensor's battery is low"},
	"cond.mqttsensor.offline":   {"Sensor meldet sich offline", "The sensor reports itself offline"},
}

func init() {
	for k, m := range healthCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: message " + k + " defined twice")
		}
		catalog[k] = m
	}
}
