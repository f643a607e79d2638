package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/praxisgate/praxisgate/gateway/coldchain"
)

var dateRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`)

// getColdChainCSV downloads one fridge's daily records. It only reads, so
// it is a GET; the form on the alarms page needs no token.
func (s *Server) getColdChainCSV(w http.ResponseWriter, r *request) {
	if s.cold == nil {
		s.notFound(w, r)
		return
	}
	q := r.URL.Query()
	dev, from, to := q.Get("device"), q.Get("from"), q.Get("to")
	if !slices.Contains(s.cold.Fridges(), dev) {
		s.fail(w, r, http.StatusNotFound, "err.unknown_device", nil)
		return
	}
	if (from != "" && !dateRE.MatchString(from)) || (to != "" && !dateRE.MatchString(to)) {
		s.fail(w, r, http.StatusBadRequest, "err.date", nil)
		return
	}
	var buf bytes.Buffer
	if err := s.cold.WriteCSV(&buf, dev, from, to); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	name := "kuehlkette-" + dev
	if from != "" {
		name += "-ab-" + from
	}
	if to != "" {
		name += "-bis-" + to
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	w.Write(buf.Bytes())
}

// coldView is one fridge's cold-chain card on the alarms page.
type coldView struct {
	Device string
	Intact bool
	// Verdict is "Protokoll geprüft: intakt (N Tage)" or where the record
	// breaks, in the page's language.
	Verdict string
	Checks  []checkView
	// Due is the time the daily check is due by (HH:MM; empty: none
	// configured); Missing says it is past and no check was confirmed.
	Due     string
	Missing bool
	// Offset and CalDue describe the probe's calibration (empty: none);
	// CalSoon and CalOverdue mark a due date within 30 days or past.
	Offset     string
	CalDue     string
	CalDays    int
	CalSoon    bool
	CalOverdue bool
	HasCal     bool
}

// checkView is one confirmed daily check.
type checkView struct {
	Time, User, Comment, Temp string
}

// coldViews builds the fridges' cards for lang at now.
func (s *Server) coldViews(lang string, now time.Time) []coldView {
	if s.cold == nil {
		return nil
	}
	status := map[string]coldchain.Status{}
	for _, st := range s.cold.Integrity() {
		status[st.Device] = st
	}
	var out []coldView
	for _, d := range s.cold.Today(now) {
		st, ok := status[d.Device]
		if !ok {
			st = coldchain.Status{Device: d.Device}
		}
		v := coldView{Device: d.Device, Intact: st.Intact(), Verdict: st.English()}
		if lang != langEN {
			v.Verdict = st.German()
		}
		loc := d.Location
		if loc == nil {
			loc = now.Location()
		}
		if !d.CheckDue.IsZero() {
			v.Due, v.Missing = d.CheckDue.In(loc).Format("15:04"), d.CheckMissing
		}
		for _, c := range d.Checks {
			cv := checkView{Time: c.At.In(loc).Format("15:04"), User: c.User, Comment: c.Comment}
			if c.TempC != nil {
				cv.Temp = decComma(lang, fmtNum(*c.TempC)) + " °C"
			}
			v.Checks = append(v.Checks, cv)
		}
		cal := d.Calibration
		if cal.Offset != nil {
			v.Offset = decComma(lang, fmt.Sprintf("%+g", *cal.Offset)) + " °C"
			v.HasCal = true
		}
		if cal.Due != "" {
			v.CalDue, v.CalDays, v.CalSoon, v.CalOverdue = localDate(lang, cal.Due), cal.DaysLeft, cal.Soon, cal.DaysLeft < 0
			v.HasCal = true
		}
		out = append(out, v)
	}
	return out
}

// localDate writes YYYY-MM-DD as DD.MM.YYYY in German.
func localDate(lang, date string) string {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil || lang == langEN {
		return date
	}
	return t.Format("02.01.2006")
}

// postDailyCheck records a fridge's daily check ("Tageskontrolle") with the
// name or initials and the comment the person typed.
func (s *Server) postDailyCheck(w http.ResponseWriter, r *request) {
	if s.cold == nil {
		s.notFound(w, r)
		return
	}
	dev := r.PostFormValue("device")
	if !slices.Contains(s.cold.Fridges(), dev) {
		s.fail(w, r, http.StatusNotFound, "err.unknown_device", nil)
		return
	}
	user, comment := r.PostFormValue("user"), r.PostFormValue("comment")
	c, err := s.cold.ConfirmCheck(dev, user, comment, s.now())
	if err != nil {
		if key := auditInputError(err); key != "" {
			s.alarmsPage(w, r, http.StatusUnprocessableEntity, pageData{Error: tr(r.lang, key), Fields: map[string]string{"check-" + dev: tr(r.lang, key)}}, -1, ruleForm{})
			return
		}
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	s.change(r, "coldchain.check", fmt.Sprintf("%s by %q: %q", dev, c.User, c.Comment))
	s.redirect(w, r, "/alarms#cc-"+dev, "flash.checked")
}

// auditInputError names the message of a name or comment the record
// refused; "" when err is not about the input.
func auditInputError(err error) string {
	switch {
	case errors.Is(err, coldchain.ErrNoUser):
		return "err.cc_user"
	case errors.Is(err, coldchain.ErrUserLong):
		return "err.cc_user_long"
	case errors.Is(err, coldchain.ErrCommentLong):
		return "err.cc_comment_long"
	case errors.Is(err, coldchain.ErrBadText):
		return "err.cc_text"
	}
	return ""
}
