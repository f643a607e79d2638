package web

// Messages of the monthly cold-chain report form, kept apart from
// i18n.go like i18n_health.go; init merges them into the catalog.
var reportCatalog = map[string]msg{
	"cr.title":       {"Monatsbericht zum Ausdrucken (PDF)", "Monthly report for printing (PDF)"},
	"cr.note":        {"Für die Kontrolle durch das Gesundheitsamt: je Kühlschrank die Tageswerte, Abweichungen mit Quittierung, Tageskontrollen und die Prüfung des Protokolls.", "For the health authority's inspection: per fridge the daily values, excursions with their acknowledgement, daily checks and the check of the record."},
	"cr.month":       {"Monat", "Month"},
	"cr.placeholder": {"JJJJ-MM", "YYYY-MM"},
	"cr.download":    {"Bericht öffnen", "Open report"},
	"err.month":      {"Monat bitte als JJJJ-MM, und nicht in der Zukunft.", "Month as YYYY-MM, please, and not in the future."},
}

func init() {
	for k, m := range reportCatalog {
		if _, dup := catalog[k]; dup {
			panic("web: message " + k + " defined twice")
		}
		catalog[k] = m
	}
}
