package web

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"slices"
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
