package web

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
)

// ColdChainReport is a ColdChain that can also print the monthly report
// (gateway/coldchain/report). The alarms page offers the PDF only when
// the ColdChain given to New implements it.
type ColdChainReport interface {
	// CurrentMonth is the month in progress (YYYY-MM) in the record's
	// time zone: the default, and the latest month a report exists for.
	CurrentMonth() string
	// WriteReport writes month's PDF report of every fridge.
	WriteReport(w io.Writer, month string) error
}

var monthRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// reportMonth is the month the page's report form starts at; "" when the
// report is not available.
func (s *Server) reportMonth() string {
	if rep, ok := s.cold.(ColdChainReport); ok {
		return rep.CurrentMonth()
	}
	return ""
}

// getColdChainReport serves the monthly PDF for printing. It opens in
// the browser's PDF viewer (inline), from where staff print it; it only
// reads, so it is a GET like the CSV.
func (s *Server) getColdChainReport(w http.ResponseWriter, r *request) {
	rep, ok := s.cold.(ColdChainReport)
	if !ok {
		s.notFound(w, r)
		return
	}
	cur := rep.CurrentMonth()
	month := r.URL.Query().Get("month")
	if month == "" {
		month = cur
	}
	if !monthRE.MatchString(month) || month > cur {
		s.fail(w, r, http.StatusBadRequest, "err.month", nil)
		return
	}
	var buf bytes.Buffer
	if err := rep.WriteReport(&buf, month); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="kuehlkette-bericht-%s.pdf"`, month))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
