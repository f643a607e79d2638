package web

import (
	"fmt"
	"net/http"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// editFridge marks the fridge profile's form as the one re-shown with
// messages on the alarms page (rules use their index).
const editFridge = -2

// fridgeCard is the fridge: section as the alarms page shows it: the
// saved values (empty: the default, shown as placeholder).
type fridgeCard struct {
	Form     ruleForm
	Defaults ruleForm
}

func fridgeFromConfig(c *config.Config) fridgeCard {
	fp := c.Fridge
	card := fridgeCard{Defaults: ruleForm{Above: fmtNum(config.DefaultFridgeHigh), Below: fmtNum(config.DefaultFridgeLow),
		For: fmtDur(config.DefaultFridgeDelay), Hysteresis: fmtNum(config.DefaultFridgeHysteresis), Severity: string(config.DefaultFridgeSeverity)}}
	if fp.High != nil {
		card.Form.Above = fmtNum(*fp.High)
	}
	if fp.Low != nil {
		card.Form.Below = fmtNum(*fp.Low)
	}
	if fp.Delay != nil {
		card.Form.For = fmtDur(*fp.Delay)
	}
	if fp.Hysteresis != nil {
		card.Form.Hysteresis = fmtNum(*fp.Hysteresis)
	}
	card.Form.Severity = string(fp.Severity)
	return card
}

// postFridge changes the fridge profile: the 2–8 °C band, door delay,
// hysteresis and severity every fridge without a rule of its own gets.
// It is live at once (Backend.Apply); the cold-chain record's band
// follows at the next restart, and the flash says so.
func (s *Server) postFridge(w http.ResponseWriter, r *request) {
	f := readRuleForm(r)
	// An empty field means its default, and the band must hold with the
	// defaults too (the loader compares low and high only when both are
	// written out).
	cmp := f
	if cmp.Above == "" {
		cmp.Above = fmtNum(config.DefaultFridgeHigh)
	}
	if cmp.Below == "" {
		cmp.Below = fmtNum(config.DefaultFridgeLow)
	}
	fields := checkRule(cmp, true, r.lang)
	if fields["above"] != "" && f.Above == "" && f.Below != "" {
		delete(fields, "above")
		fields["below"] = fmt.Sprintf(tr(r.lang, "err.below_high"), cmp.Above)
	}
	edits, parsed := fridgeEdits(f, r.lang)
	res, ok := s.saveRuleForm(w, r, editFridge, f, fields, parsed, edits, map[string]string{
		"fridge.high": "above", "fridge.low": "below", "fridge.delay": "for", "fridge.hysteresis": "hysteresis",
		"fridge.severity": "severity", "fridge": "above",
	})
	if !ok {
		return
	}
	s.change(r, "config.fridge", fmt.Sprintf("high=%q low=%q delay=%q hysteresis=%q severity=%q", f.Above, f.Below, f.For, f.Hysteresis, f.Severity))
	s.savedRedirect(w, r, "/alarms", res.Applied)
}

// fridgeEdits turns the profile form into edits of the fridge: section;
// an empty field removes its key, so the default applies.
func fridgeEdits(f ruleForm, lang string) ([]edit, map[string]string) {
	fields := map[string]string{}
	var edits []edit
	num := func(form, key, v string) {
		if v == "" {
			edits = append(edits, remove("fridge", key))
			return
		}
		n, ok := parseNumber(v)
		if !ok {
			fields[form] = tr(lang, "err.number")
			return
		}
		edits = append(edits, edit{path: []any{"fridge", key}, value: &n, tag: "!!float"})
	}
	num("above", "high", f.Above)
	num("below", "low", f.Below)
	num("hysteresis", "hysteresis", f.Hysteresis)
	switch {
	case f.For == "":
		edits = append(edits, remove("fridge", "delay"))
	case !validDuration(f.For):
		fields["for"] = tr(lang, "err.duration")
	default:
		edits = append(edits, setPlain(f.For, "fridge", "delay"))
	}
	if f.Severity == "" {
		edits = append(edits, remove("fridge", "severity"))
	} else {
		edits = append(edits, setStr(f.Severity, "fridge", "severity"))
	}
	return edits, fields
}
