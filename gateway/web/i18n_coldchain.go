package web

// Messages of the cold-chain record's audit trail on the alarms page:
// the daily check ("Tageskontrolle"), the comment asked for when a
// fridge's alarm is acknowledged, the record's verification and the
// probe's calibration. Merged into the catalog by init like
// i18n_notify.go.
var coldchainCatalog = map[string]msg{
	"cc.user":             {"Name/Kürzel", "Name/initials"},
	"cc.comment":          {"Kommentar", "Comment"},
	"cc.ack_comment":      {"Kommentar, z. B. Tür war offen, Ware geprüft", "Comment, e.g. door was open, stock checked"},
	"cc.check_today":      {"Tageskontrolle heute", "Daily check today"},
	"cc.check_none":       {"noch nicht bestätigt", "not confirmed yet"},
	"cc.check_due":        {"fällig bis", "due by"},
	"cc.check_confirm":    {"Tageskontrolle bestätigen", "Confirm daily check"},
	"cc.calibration":      {"Kalibrierung des Fühlers", "Probe calibration"},
	"cc.offset":           {"Korrektur", "offset"},
	"cc.cal_due":          {"nächste Kalibrierung am", "next calibration on"},
	"cc.cal_overdue":      {"überfällig", "overdue"},
	"cc.cal_days":         {"in %d Tagen", "in %d days"},
	"flash.checked":       {"Tageskontrolle gespeichert.", "Daily check saved."},
	"err.cc_user":         {"Bitte Name oder Kürzel eintragen.", "Please enter a name or initials."},
	"err.cc_user_long":    {"Name oder Kürzel ist zu lang (höchstens 64 Zeichen).", "Name or initials too long (at most 64 characters)."},
	"err.cc_comment_long": {"Kommentar ist zu lang (höchstens 500 Zeichen).", "Comment too long (at most 500 characters)."},
	"err.cc_text":         {"Der Text enthält unzulässige Zeichen.", "The text contains characters that are not allowed."},
	"err.cc_ack_comment":  {"Bitte einen Kommentar eintragen: Was war die Ursache, was wurde getan?", "Please enter a comment: what was the cause, what was done?"},

	"cond.coldchain.integrity":   {"Kühlketten-Protokoll beschädigt: die Prüfung findet geänderte oder fehlende Tage", "Cold-chain record damaged: verification finds changed or missing days"},
	"cond.coldchain.daily_check": {"Tageskontrolle des Kühlschranks noch nicht bestätigt", "Daily fridge check not confirmed yet"},
	"cond.coldchain.calibration": {"Kalibrierung des Temperaturfühlers fällig", "Temperature probe calibration due"},
}

func init() {
	for k, m := range coldchainCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: message " + k + " defined twice")
		}
		catalog[k] = m
	}
}
