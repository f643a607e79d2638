package report

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"

	"github.com/praxisgate/praxisgate/gateway/coldchain"
)

// Page geometry in mm: A4 portrait with margins wide enough for a
// binder's punch holes and any office printer's unprintable edge.
const (
	marginLeft   = 18.0
	marginRight  = 14.0
	marginTop    = 14.0
	marginBottom = 16.0
	pageWidth    = 210.0
	pageHeight   = 297.0
	bodyWidth    = pageWidth - marginLeft - marginRight
	rowHeight    = 5.0
	// maxBreaks bounds the chain breaks listed per fridge; the command
	// `praxisgate coldchain verify` lists all.
	maxBreaks = 12
	// maxCellLines bounds a comment's lines in a table, so one row
	// always fits on a page.
	maxCellLines = 30
)

// doc is one report being drawn.
type doc struct {
	pdf *fpdf.Fpdf
	r   Report
	// tr converts UTF-8 to the core fonts' Windows-1252.
	tr func(string) string
}

var months = [...]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}

var weekdays = [...]string{"So", "Mo", "Di", "Mi", "Do", "Fr", "Sa"}

// monthTitle is "November 2026".
func monthTitle(t time.Time) string { return months[t.Month()-1] + " " + t.Format("2006") }

func newDoc(r Report) *doc {
	pdf := fpdf.New("P", "mm", "A4", "")
	cp1252 := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	d := &doc{pdf: pdf, r: r, tr: func(s string) string { return cp1252(clean(s)) }}
	pdf.SetMargins(marginLeft, marginTop, marginRight)
	pdf.SetAutoPageBreak(true, marginBottom)
	pdf.AliasNbPages("")
	title := "Kühlketten-Monatsbericht " + monthTitle(r.Month.In(r.Location))
	pdf.SetTitle(title, true)
	pdf.SetSubject("Temperaturprotokoll der Medikamenten-Kühlschränke", true)
	pdf.SetAuthor(clean(r.Practice), true)
	pdf.SetCreator("praxisgate", true)
	pdf.SetLang("de-DE")
	// Fixed dates and object order: the same record gives the same file.
	pdf.SetCreationDate(r.Generated)
	pdf.SetModificationDate(r.Generated)
	pdf.SetCatalogSort(true)
	pdf.SetHeaderFunc(func() {
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(bodyWidth*0.6, 5, d.tr(title), "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 9)
		pdf.CellFormat(bodyWidth*0.4, 5, d.fit(r.Practice, bodyWidth*0.4), "", 1, "R", false, 0, "")
		pdf.SetLineWidth(0.3)
		y := pdf.GetY() + 1
		pdf.Line(marginLeft, y, pageWidth-marginRight, y)
		pdf.SetY(y + 4)
	})
	pdf.SetFooterFunc(func() {
		pdf.SetY(-(marginBottom - 4))
		pdf.SetFont("Helvetica", "", 8)
		gen := fmt.Sprintf("Erstellt am %s (Zeitzone %s) mit praxisgate", r.Generated.In(r.Location).Format("02.01.2006 15:04"), r.Location)
		pdf.CellFormat(bodyWidth*0.75, 4, d.tr(gen), "T", 0, "L", false, 0, "")
		pdf.CellFormat(bodyWidth*0.25, 4, fmt.Sprintf("Seite %d von {nb}", pdf.PageNo()), "T", 0, "R", false, 0, "")
	})
	return d
}

// clean makes text from outside (names, comments) safe for the PDF:
// invalid UTF-8 becomes "?" and control characters spaces (a "\n" has
// been split off by wrap before).
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError:
			return '?'
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// fit converts s and shortens it with "…" to fit width w in the current
// font.
func (d *doc) fit(s string, w float64) string {
	t := d.tr(s)
	room := w - 2*d.pdf.GetCellMargin()
	if d.pdf.GetStringWidth(t) <= room {
		return t
	}
	rs := []rune(s)
	// No cell holds more than 200 characters: start there, not at the
	// end of a text of any length.
	for n := min(len(rs)-1, 200); n > 0; n-- {
		t = d.tr(string(rs[:n]) + "…")
		if d.pdf.GetStringWidth(t) <= room {
			return t
		}
	}
	return d.tr("…")
}

// wrap breaks s into lines of width w in the current font, converted.
func (d *doc) wrap(s string, w float64) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		lines := d.pdf.SplitText(para, w)
		if len(lines) == 0 {
			lines = []string{""}
		}
		for _, l := range lines {
			out = append(out, d.tr(l))
		}
	}
	return out
}

// para writes a paragraph over the body width.
func (d *doc) para(s string, size float64, style string) {
	d.pdf.SetFont("Helvetica", style, size)
	lh := size * 0.45
	for _, l := range d.wrap(s, bodyWidth) {
		d.pdf.CellFormat(bodyWidth, lh, l, "", 1, "L", false, 0, "")
	}
}

// need starts a new page unless h mm are left; it reports whether it did.
func (d *doc) need(h float64) bool {
	if d.pdf.GetY()+h <= pageHeight-marginBottom {
		return false
	}
	d.pdf.AddPage()
	return true
}

func (d *doc) heading(s string) {
	d.need(4 * rowHeight)
	d.pdf.Ln(3)
	d.pdf.SetFont("Helvetica", "B", 11)
	d.pdf.CellFormat(bodyWidth, 6, d.tr(s), "", 1, "L", false, 0, "")
}

// column is one table column: header text, width and alignment.
type column struct {
	head  string
	w     float64
	align string
}

// tableHead draws the head row; a "\n" in a head splits it over two
// lines (name and unit).
func (d *doc) tableHead(cols []column) {
	p := d.pdf
	p.SetFont("Helvetica", "B", 8)
	p.SetFillColor(225, 225, 225)
	lines := 1
	for _, c := range cols {
		lines = max(lines, strings.Count(c.head, "\n")+1)
	}
	const lh = 3.6
	h := float64(lines)*lh + 1.5
	x, y := p.GetX(), p.GetY()
	for _, c := range cols {
		p.Rect(x, y, c.w, h, "FD")
		for i, l := range strings.Split(c.head, "\n") {
			p.SetXY(x, y+0.75+float64(i)*lh)
			p.CellFormat(c.w, lh, d.fit(l, c.w), "", 0, c.align, false, 0, "")
		}
		x += c.w
	}
	p.SetXY(marginLeft, y+h)
}

// row draws one table row of single-line cells, repeating the head on a
// new page.
func (d *doc) row(cols []column, cells []string, style string) {
	if d.need(rowHeight) {
		d.tableHead(cols)
	}
	d.pdf.SetFont("Helvetica", style, 8)
	for i, c := range cols {
		d.pdf.CellFormat(c.w, rowHeight, d.fit(cells[i], c.w), "1", 0, c.align, false, 0, "")
	}
	d.pdf.Ln(-1)
}

// wrappedRow draws a row whose last cell may take several lines.
func (d *doc) wrappedRow(cols []column, cells []string) {
	d.pdf.SetFont("Helvetica", "", 8)
	last := len(cols) - 1
	lines := d.wrap(cells[last], cols[last].w)
	if len(lines) > maxCellLines {
		lines = append(lines[:maxCellLines-1], d.tr("…"))
	}
	lh := 4.0
	h := math.Max(rowHeight, float64(len(lines))*lh+1)
	if d.need(h) {
		d.tableHead(cols)
		d.pdf.SetFont("Helvetica", "", 8)
	}
	x, y := d.pdf.GetX(), d.pdf.GetY()
	for i, c := range cols[:last] {
		d.pdf.Rect(x, y, c.w, h, "D")
		d.pdf.SetXY(x, y)
		d.pdf.CellFormat(c.w, rowHeight, d.fit(cells[i], c.w), "", 0, c.align, false, 0, "")
		x += c.w
	}
	d.pdf.Rect(x, y, cols[last].w, h, "D")
	for i, l := range lines {
		d.pdf.SetXY(x, y+0.5+float64(i)*lh)
		d.pdf.CellFormat(cols[last].w, lh, l, "", 0, "L", false, 0, "")
	}
	d.pdf.SetXY(marginLeft, y+h)
}

// fridge draws one fridge's section, starting on a new page.
func (d *doc) fridge(f Fridge) {
	p := d.pdf
	p.AddPage()
	name := f.Name
	if name == "" || name == f.ID {
		name = f.ID
	} else {
		name += " (" + f.ID + ")"
	}
	p.SetFont("Helvetica", "B", 14)
	p.CellFormat(bodyWidth, 8, d.fit("Kühlschrank: "+name, bodyWidth), "", 1, "L", false, 0, "")

	bands := make([]string, 0, len(f.Bands))
	for _, b := range f.Bands {
		bands = append(bands, celsius(b.Low, 1)+" bis "+celsius(b.High, 1))
	}
	band := "unbekannt (noch kein Eintrag)"
	if len(bands) > 0 {
		band = strings.Join(bands, "; ")
	}
	d.para(fmt.Sprintf("Sollbereich: %s · Zeitzone: %s · Monat: %s", band, d.r.Location, monthTitle(d.r.Month.In(d.r.Location))), 9, "")
	d.para(d.summary(f), 9, "")

	d.heading("Tageswerte")
	d.days(f)

	d.heading("Abweichungen vom Sollbereich")
	d.excursions(f)

	d.heading("Tageskontrollen")
	d.checks(f)

	d.heading("Prüfung des Protokolls")
	d.verification(f.Verification)
}

// summary is the month in one sentence: extremes, time-weighted mean and
// MKT over the days' covered time, excursions, time without data.
func (d *doc) summary(f Fridge) string {
	var mn, mx = math.Inf(1), math.Inf(-1)
	var sumMean, sumArr, covered, out, noData float64
	days, exc := 0, len(f.Excursions)
	for _, day := range f.Days {
		out += day.MinutesOut
		noData += day.MinutesNoData
		if day.Min == nil || day.Max == nil || day.Mean == nil || day.MKT == nil {
			continue
		}
		days++
		mn, mx = math.Min(mn, *day.Min), math.Max(mx, *day.Max)
		if day.CoveredMinutes > 0 {
			sumMean += *day.Mean * day.CoveredMinutes
			sumArr += arrhenius(*day.MKT) * day.CoveredMinutes
			covered += day.CoveredMinutes
		}
	}
	if days == 0 {
		return fmt.Sprintf("Im Monat liegen keine Messwerte vor. Zeit ohne Daten: %s min.", number(noData, 0))
	}
	s := fmt.Sprintf("Monat: Minimum %s, Maximum %s", celsius(mn, 1), celsius(mx, 1))
	if covered > 0 {
		s += fmt.Sprintf(", Mittelwert %s, MKT %s", celsius(sumMean/covered, 2), celsius(mktFromWeighted(sumArr, covered), 2))
	}
	return s + fmt.Sprintf("; %d %s, %s min außerhalb des Sollbereichs; %s min ohne Daten.",
		exc, plural(exc, "Abweichung", "Abweichungen"), number(out, 0), number(noData, 0))
}

var dayCols = []column{
	{"Tag", 22, "L"}, {"Min\n°C", 12, "R"}, {"Max\n°C", 12, "R"}, {"Mittel\n°C", 14, "R"}, {"MKT\n°C", 13, "R"},
	{"außerhalb\nmin", 16, "R"}, {"ohne Daten\nmin", 18, "R"}, {"Abw.", 10, "R"}, {"Kontrolle", 31, "L"}, {"Eintrag\nSHA-256 (Anfang)", 30, "L"},
}

// hashShown is how much of a day's hash the table shows: enough to find
// the day among the provider's copies.
const hashShown = 16

func (d *doc) days(f Fridge) {
	if len(f.Days) == 0 {
		d.para("Für diesen Monat gibt es keine Tage im Protokoll.", 9, "")
		return
	}
	d.need(3 * rowHeight)
	d.tableHead(dayCols)
	checks := map[string]Check{}
	for _, c := range f.Checks {
		k := c.At.In(d.r.Location).Format(time.DateOnly)
		if _, ok := checks[k]; !ok {
			checks[k] = c
		}
	}
	for _, day := range f.Days {
		date := day.Date
		if t, err := time.Parse(time.DateOnly, day.Date); err == nil {
			date = weekdays[t.Weekday()] + " " + t.Format("02.01.2006")
		}
		opt := func(v *float64, digits int) string {
			if v == nil {
				return "–"
			}
			return number(*v, digits)
		}
		check := ""
		if c, ok := checks[day.Date]; ok {
			check = c.At.In(d.r.Location).Format("15:04") + " " + c.By
		}
		entry, style := day.Hash[:min(hashShown, len(day.Hash))], ""
		switch day.Status {
		case Incomplete:
			entry, style = "unvollständig", "I"
		case Missing:
			entry, style = "kein Eintrag", "B"
		}
		cells := []string{date, opt(day.Min, 1), opt(day.Max, 1), opt(day.Mean, 2), opt(day.MKT, 2),
			number(day.MinutesOut, 0), number(day.MinutesNoData, 0), fmt.Sprint(day.Excursions), check, entry}
		if day.Status == Missing {
			cells = []string{date, "", "", "", "", "", "", "", check, entry}
		}
		d.row(dayCols, cells, style)
	}
	d.pdf.SetFont("Helvetica", "", 7)
	for _, l := range d.wrap("MKT: mittlere kinetische Temperatur nach USP <1079.2> (Aktivierungsenergie 83,144 kJ/mol); "+
		"Mittelwert und MKT gewichten jeden Messwert mit der Zeit, die er galt. Eintrag: Anfang des SHA-256-Hashs des "+
		"gespeicherten Tageseintrags; der Folgetag und die Kettenspitze verweisen auf ihn.", bodyWidth) {
		d.pdf.CellFormat(bodyWidth, 3.5, l, "", 1, "L", false, 0, "")
	}
}

var excCols = []column{
	{"Beginn", 26, "L"}, {"Ende", 26, "L"}, {"Dauer", 16, "R"}, {"Art", 16, "L"}, {"Spitze", 16, "R"}, {"Quittierung und Begründung", 78, "L"},
}

func (d *doc) excursions(f Fridge) {
	if len(f.Excursions) == 0 {
		d.para("Keine Abweichungen in diesem Monat.", 9, "")
		return
	}
	d.need(3 * rowHeight)
	d.tableHead(excCols)
	for _, e := range f.Excursions {
		end := "andauernd"
		if e.End != nil {
			end = e.End.In(d.r.Location).Format("02.01.2006 15:04")
		}
		kind := "zu kalt"
		if e.Above {
			kind = "zu warm"
		}
		ack := "nicht quittiert"
		if e.Ack != nil {
			ack = fmt.Sprintf("%s am %s", e.Ack.By, e.Ack.At.In(d.r.Location).Format("02.01.2006 15:04"))
			if e.Ack.Comment != "" {
				ack += ": " + e.Ack.Comment
			}
		}
		d.wrappedRow(excCols, []string{e.Start.In(d.r.Location).Format("02.01.2006 15:04"), end,
			duration(e.Minutes), kind, celsius(e.Peak, 1), ack})
	}
}

var checkCols = []column{{"Datum und Uhrzeit", 34, "L"}, {"Name", 44, "L"}, {"Bemerkung", 100, "L"}}

func (d *doc) checks(f Fridge) {
	if len(f.Checks) == 0 {
		d.para("Keine Tageskontrollen im Protokoll für diesen Monat.", 9, "")
		return
	}
	d.need(3 * rowHeight)
	d.tableHead(checkCols)
	for _, c := range f.Checks {
		d.wrappedRow(checkCols, []string{c.At.In(d.r.Location).Format("02.01.2006 15:04"), c.By, c.Comment})
	}
}

func (d *doc) verification(v Verification) {
	p := d.pdf
	switch {
	case v.Error != "":
		d.para("Protokoll nicht lesbar: "+v.Error, 10, "B")
	default:
		d.para(v.Verdict, 10, "B")
		for i, b := range v.Breaks {
			if i == maxBreaks {
				d.para(fmt.Sprintf("… und %d weitere Stellen (praxisgate coldchain verify listet alle).", len(v.Breaks)-maxBreaks), 8, "")
				break
			}
			d.para("• "+b, 8, "")
		}
	}
	p.Ln(2)
	if v.HeadHash == "" {
		d.para("Kettenspitze: noch kein Tag geschrieben.", 9, "")
		return
	}
	date := v.HeadDate
	if t, err := time.Parse(time.DateOnly, v.HeadDate); err == nil {
		date = t.Format("02.01.2006")
	}
	d.need(4 * rowHeight)
	d.para("Kettenspitze (Hash des neuesten Tageseintrags vom "+date+"):", 9, "")
	p.SetFont("Courier", "", 9)
	p.CellFormat(bodyWidth, 5, v.HeadHash, "", 1, "L", false, 0, "")
	d.para("Die Kettenspitze wird täglich auch an den Dienstleister übermittelt. Stimmt sie mit dessen Kopie überein, "+
		"ist das Protokoll bis zu diesem Tag unverändert.", 8, "")
}

// number formats v with a decimal comma.
func number(v float64, digits int) string {
	if p := math.Pow(10, float64(digits)); math.Round(v*p) == 0 {
		v = 0 // no "-0,0"
	}
	return strings.Replace(fmt.Sprintf("%.*f", digits, v), ".", ",", 1)
}

func celsius(v float64, digits int) string { return number(v, digits) + " °C" }

// duration is "38 min" or "2 h 05 min".
func duration(minutes float64) string {
	m := int(math.Round(minutes))
	if m < 60 {
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d h %02d min", m/60, m%60)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// The month's MKT is the days' MKTs combined with their covered time as
// weights, which is exactly the MKT over the whole month's readings: a
// day's MKT T_d stands for Σ exp(−ΔH/(R·T))·t = exp(−ΔH/(R·T_d))·t_d.
const activationOverR, zeroCelsius = coldchain.ActivationOverR, 273.15

func arrhenius(c float64) float64 { return math.Exp(-activationOverR / (c + zeroCelsius)) }

func mktFromWeighted(sum, total float64) float64 {
	return activationOverR/-math.Log(sum/total) - zeroCelsius
}
