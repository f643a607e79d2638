package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/config"
)

type alarmsData struct {
	Alarms []alarmView
	Rules  []config.AlarmRule
	// Edit is the rule whose form is re-shown with messages (-1: none) and
	// Form its submitted values.
	Edit int
	Form ruleForm
	// Fridges have a cold-chain record to download (nil: none).
	Fridges []string
	// Fridge is the fridge profile's card, shown when a device of kind
	// fridge is configured.
	Fridge    fridgeCard
	HasFridge bool
	// Names maps device ids to their configured names.
	Names map[string]string
	// ReportMonth is the monthly report form's default month; "": no
	// report (coldchainreport.go).
	ReportMonth string
	// Units maps a metric to its unit as the devices report it, for the
	// threshold fields' labels.
	Units map[string]string
	// Cold are the fridges' cold-chain cards: the record's verdict, the
	// daily check, the calibration (coldchain.go).
	Cold []coldView
	// Fridge alarms ask for a comment when acknowledged (AckComment).
	AckComment map[string]bool
}

type ruleForm struct {
	Above, Below, For, Hysteresis, Severity string
}

func (s *Server) alarmsPage(w http.ResponseWriter, r *request, code int, d pageData, edit int, form ruleForm) {
	d.Nav = "alarms"
	saved := s.saved.get(s.be.Config())
	devs := s.be.Devices()
	names := deviceNames(devs)
	ad := alarmsData{Alarms: alarmViews(r.lang, s.be.Alarms(), names, s.now()), Rules: saved.Alarms, Edit: edit, Form: form,
		Fridge: fridgeFromConfig(saved), Names: names, Units: metricUnits(devs)}
	for _, d := range saved.Devices {
		ad.HasFridge = ad.HasFridge || d.Kind == config.FridgeKind
	}
	if edit == editFridge {
		ad.Fridge.Form = form
	}
	if s.cold != nil {
		ad.Fridges = s.cold.Fridges()
		ad.ReportMonth = s.reportMonth()
		ad.Cold = s.coldViews(r.lang, s.now())
		ad.AckComment = map[string]bool{}
		for _, a := range ad.Alarms {
			ad.AckComment[a.ID] = slices.Contains(ad.Fridges, a.Device)
		}
	}
	d.Data = ad
	s.render(w, r, code, "alarms", d)
}

func (s *Server) getAlarms(w http.ResponseWriter, r *request) {
	s.alarmsPage(w, r, http.StatusOK, pageData{}, -1, ruleForm{})
}

func (s *Server) postAck(w http.ResponseWriter, r *request) {
	id := r.PostFormValue("id")
	if id == "" || len(id) > 256 {
		s.fail(w, r, http.StatusBadRequest, "err.rule", nil)
		return
	}
	// The name shown is the person's, as typed (the login is often
	// shared by the practice); without one, the login's.
	user, err := coldchain.CleanText(r.PostFormValue("user"), coldchain.MaxUserLen, false)
	if err == nil && user == "" {
		user = r.sess.user
	}
	comment, cerr := coldchain.CleanText(r.PostFormValue("comment"), coldchain.MaxCommentLen, true)
	if err = errors.Join(err, cerr); err != nil {
		key := auditInputError(err)
		s.alarmsPage(w, r, http.StatusUnprocessableEntity, pageData{Error: tr(r.lang, key), Fields: map[string]string{"ack-" + id: tr(r.lang, key)}}, -1, ruleForm{})
		return
	}
	// A fridge's alarm goes into its cold-chain record: the inspector
	// asks why it happened and what was done.
	if comment == "" && s.cold != nil && slices.Contains(s.cold.Fridges(), alarmDevice(s.be.Alarms(), id)) {
		key := "err.cc_ack_comment"
		s.alarmsPage(w, r, http.StatusUnprocessableEntity, pageData{Error: tr(r.lang, key), Fields: map[string]string{"ack-" + id: tr(r.lang, key)}}, -1, ruleForm{})
		return
	}
	if err := s.be.AckAlarm(r.Context(), id, user, comment); err != nil {
		s.alarmsPage(w, r, http.StatusConflict, pageData{Error: err.Error()}, -1, ruleForm{})
		return
	}
	s.change(r, "alarm.ack", fmt.Sprintf("%s by %q: %q", id, user, comment))
	s.redirect(w, r, "/alarms", "flash.acked")
}

// alarmDevice is the device of the active alarm id ("" when none is).
func alarmDevice(as []alarm.Alarm, id string) string {
	for _, a := range as {
		if a.ID == id {
			return a.Device
		}
	}
	return ""
}

// postRule changes one threshold rule in the config file.
func (s *Server) postRule(w http.ResponseWriter, r *request) {
	rules := s.saved.get(s.be.Config()).Alarms
	idx, err := strconv.Atoi(r.PostFormValue("rule"))
	if err != nil || idx < 0 || idx >= len(rules) {
		s.fail(w, r, http.StatusBadRequest, "err.rule", nil)
		return
	}
	f := readRuleForm(r)
	fields := checkRule(f, rules[idx].StaleAfter > 0, r.lang)
	edits, parsed := ruleEdits(idx, f, r.lang)
	prefix := fmt.Sprintf("alarms[%d].", idx)
	res, ok := s.saveRuleForm(w, r, idx, f, fields, parsed, edits, map[string]string{
		prefix + "above": "above", prefix + "below": "below", prefix + "for": "for",
		prefix + "hysteresis": "hysteresis", prefix + "severity": "severity", prefix[:len(prefix)-1]: "above",
	})
	if !ok {
		return
	}
	rule := rules[idx]
	s.change(r, "config.alarm", fmt.Sprintf("%s %s: above=%q below=%q for=%q hysteresis=%q severity=%q",
		rule.Device, rule.Metric, f.Above, f.Below, f.For, f.Hysteresis, f.Severity))
	s.savedRedirect(w, r, "/alarms", res.Applied)
}

// readRuleForm reads the threshold fields that the rule and the fridge
// profile forms share.
func readRuleForm(r *request) ruleForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return ruleForm{Above: v("above"), Below: v("below"), For: v("for"), Hysteresis: v("hysteresis"), Severity: v("severity")}
}

// saveRuleForm saves a rule or fridge form's edits once the form's own
// checks (fields) and the parse messages of its values (parsed) found
// nothing, and otherwise re-shows the alarms page with the messages; edit
// says which form gets them, paths maps config paths to form fields. It
// answers the request itself unless the save worked.
func (s *Server) saveRuleForm(w http.ResponseWriter, r *request, edit int, f ruleForm, fields, parsed map[string]string,
	edits []edit, paths map[string]string) (saveResult, bool) {
	for k, v := range parsed {
		if fields[k] == "" {
			fields[k] = v
		}
	}
	if len(fields) > 0 {
		s.alarmsPage(w, r, http.StatusUnprocessableEntity, pageData{Fields: fields}, edit, f)
		return saveResult{}, false
	}
	res, err := s.saveConfig(r.Context(), r.lang, edits, paths)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return saveResult{}, false
	}
	if !res.ok() {
		s.alarmsPage(w, r, http.StatusUnprocessableEntity, pageData{Error: tr(r.lang, "err.config_refused"), Fields: res.Fields, Problems: res.Problems}, edit, f)
		return saveResult{}, false
	}
	return res, true
}

// ruleEdits turns the threshold form into edits of alarms[idx], with a
// message per field the form itself can judge; the config loader judges
// the rest.
func ruleEdits(idx int, f ruleForm, lang string) ([]edit, map[string]string) {
	fields := map[string]string{}
	var edits []edit
	num := func(name, v string) {
		if v == "" {
			edits = append(edits, remove("alarms", idx, name))
			return
		}
		n, ok := parseNumber(v)
		if !ok {
			fields[name] = tr(lang, "err.number")
			return
		}
		edits = append(edits, edit{path: []any{"alarms", idx, name}, value: &n, tag: "!!float"})
	}
	num("above", f.Above)
	num("below", f.Below)
	num("hysteresis", f.Hysteresis)
	switch {
	case f.For == "":
		edits = append(edits, remove("alarms", idx, "for"))
	case !validDuration(f.For):
		fields["for"] = tr(lang, "err.duration")
	default:
		edits = append(edits, setPlain(f.For, "alarms", idx, "for"))
	}
	if f.Severity != "" {
		// quoted: a plain ~ or null would silently mean "default"
		edits = append(edits, setStr(f.Severity, "alarms", idx, "severity"))
	}
	return edits, fields
}

// parseNumber accepts the German decimal comma too: a technician types
// "8,5" as often as "8.5".
func parseNumber(s string) (string, bool) {
	s = strings.Replace(s, ",", ".", 1)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f > 1e12 || f < -1e12 {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// validDuration accepts Go durations and a day count (30d, 1d12h), the
// syntax the config file takes; the config loader has the last word.
func validDuration(s string) bool {
	if len(s) > 32 {
		return false
	}
	if i := strings.IndexByte(s, 'd'); i > 0 {
		if _, err := strconv.Atoi(s[:i]); err != nil {
			return false
		}
		s = s[i+1:]
		if s == "" {
			return true
		}
	}
	_, err := time.ParseDuration(s)
	return err == nil
}

// metricUnits collects each metric's unit from the devices' latest
// readings (the config's rules carry none).
func metricUnits(devs []Device) map[string]string {
	u := map[string]string{}
	for _, d := range devs {
		for _, m := range d.Metrics {
			if m.Unit != "" && u[m.Name] == "" {
				u[m.Name] = m.Unit
			}
		}
	}
	return u
}
