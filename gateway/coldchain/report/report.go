// Package report renders the cold-chain record of one month as a German
// PDF that a practice prints for the health authority's inspector: per
// fridge the daily minimum, maximum, mean and mean kinetic temperature,
// the excursions with their acknowledgements, the daily checks, and the
// verdict of the record's hash chain with the chain head hash the provider
// also holds.
//
// The renderer (Render) takes a plain Report, so it knows nothing of
// where the figures come from; Collect fills a Report from the files
// gateway/coldchain writes. The PDF is built with codeberg.org/go-pdf/fpdf
// and its built-in Helvetica and Courier fonts in the Windows-1252 code
// page, which holds every German letter, "°" and "–": no font file is
// embedded, and a viewer or printer has the fonts anyway.
package report

import (
	"fmt"
	"io"
	"time"
)

// Report is one month of every fridge's record, ready to print.
type Report struct {
	// Practice names the practice or the box ("praxis-beispiel / gw-01").
	Practice string
	// Month is any time in the month reported, in Location.
	Month time.Time
	// Generated is when the report was made.
	Generated time.Time
	// Location is the time zone the record's days follow; every time in
	// the report is shown in it. Default UTC.
	Location *time.Location
	Fridges  []Fridge
}

// Fridge is one fridge's month.
type Fridge struct {
	ID string
	// Name is the label the practice knows the fridge by; empty: ID.
	Name string
	// Bands are the distinct target bands of the month's days, in order
	// of appearance (usually one).
	Bands []Band
	// Days are the month's days up to today, oldest first, including days
	// without a record (Missing).
	Days       []Day
	Excursions []Excursion
	// Checks are the daily checks staff confirmed ("Tageskontrolle").
	Checks       []Check
	Verification Verification
}

// Band is the target range a day's excursions were measured against.
type Band struct{ Low, High float64 }

// DayStatus says how far a day's row can be relied on.
type DayStatus int

const (
	// Complete is a written day of the hash-chained record.
	Complete DayStatus = iota
	// Incomplete is the day in progress: its figures still change, and it
	// has no hash yet ("unvollständig").
	Incomplete
	// Missing is a day the record has no entry for (the box was off for
	// the whole day and has not caught up, or the entry was removed).
	Missing
)

// Day is one row of a fridge's daily table.
type Day struct {
	// Date is the local calendar day (YYYY-MM-DD).
	Date   string
	Status DayStatus
	// Samples is the number of readings; Min, Max, Mean and MKT are nil on
	// a day without readings.
	Samples             int
	Min, Max, Mean, MKT *float64
	// MinutesOut is the time out of the band, MinutesNoData the time no
	// reading covers; CoveredMinutes is the time readings do cover, which
	// weights the day in the month's mean and MKT.
	MinutesOut, MinutesNoData, CoveredMinutes float64
	// Excursions is the number of excursions on the day.
	Excursions int
	// Hash is the SHA-256 of the day's stored record (Complete only).
	Hash string
}

// Excursion is a time out of the band, over midnight as one.
type Excursion struct {
	Start time.Time
	// End is nil while the excursion goes on.
	End *time.Time
	// Above is a warm excursion, else a freezing one.
	Above bool
	// Peak is the reading farthest out of the band, in °C.
	Peak float64
	// Minutes is the time out of the band within the record.
	Minutes float64
	// Ack is who acknowledged the alarm and why; nil: not acknowledged
	// (or the acknowledgement is not part of the record).
	Ack *Ack
}

// Ack is an acknowledgement of an excursion's alarm.
type Ack struct {
	By      string
	At      time.Time
	Comment string
}

// Check is one confirmed daily check.
type Check struct {
	At      time.Time
	By      string
	Comment string
}

// Verification is the check of the fridge's whole hash chain.
type Verification struct {
	// Verdict is coldchain.Status.German(): "Protokoll geprüft: intakt
	// (N Tage)" or where the record breaks.
	Verdict string
	Intact  bool
	// Breaks say in German where the chain does not hold.
	Breaks []string
	// Error is set when the record could not be read at all.
	Error string
	// HeadDate and HeadHash are the newest day of the chain head and its
	// hash; empty before the first day was written.
	HeadDate, HeadHash string
}

// Render writes r as a PDF (A4, one section per fridge, page numbers).
func Render(w io.Writer, r Report) error {
	if r.Location == nil {
		r.Location = time.UTC
	}
	d := newDoc(r)
	if len(r.Fridges) == 0 {
		d.pdf.AddPage()
		d.para("Keine Kühlschränke mit Kühlketten-Protokoll.", 11, "")
	}
	for _, f := range r.Fridges {
		d.fridge(f)
	}
	if err := d.pdf.Output(w); err != nil {
		return fmt.Errorf("report: render PDF: %w", err)
	}
	return nil
}
