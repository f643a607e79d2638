package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Numbers, sizes and spans as the technician reads them: a German page
// writes 5,06 °C, 22,1 GiB and "3 Std. 29 Min.", an English one 5.06 °C,
// 22.1 GiB and "3 h 29 min". Form inputs keep the plain Go notation (they
// accept both separators), these helpers are for what is only shown.

// fmtDec writes v with at most maxDec decimals, trailing zeros dropped,
// with the page language's decimal separator.
func fmtDec(lang string, v float64, maxDec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(v, 'f', maxDec, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	if lang != langEN {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// fmtFixed writes v with exactly dec decimals (a caption's "4,0 °C"
// lines up with "11,5 °C").
func fmtFixed(lang string, v float64, dec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if lang != langEN {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// fmtValue writes a metric's value with its unit: numbers with up to two
// decimals (sensors report 5.0625 °C; nobody needs the fourth place),
// booleans as ja/nein, text as the device sent it.
func fmtValue(lang string, m drivers.Metric) string {
	var s string
	switch v := m.Value.(type) {
	case float64:
		switch {
		case m.Unit == "" && flagMetrics[m.Name] && (v == 0 || v == 1):
			// drivers report some yes/no readings as 0 and 1
			return fmtYesNo(lang, v == 1)
		case m.Unit == "B":
			return fmtIEC(lang, v)
		case m.Unit == "s" && v >= 60 && v < 1e9:
			// a UPS's battery.runtime of 1800 s is "30 Min."
			return fmtSpan(lang, time.Duration(v*float64(time.Second)))
		}
		s = fmtDec(lang, v, 2)
	case bool:
		s = fmtYesNo(lang, v)
	case string:
		if m.Name == "ups.status" {
			return upsStatusWords(lang, v)
		}
		s = v
	default:
		s = fmt.Sprint(v)
	}
	if m.Unit != "" {
		s += " " + m.Unit
	}
	return s
}

// flagMetrics are readings that drivers send as the numbers 0 and 1 (so
// they can be graphed and given thresholds) but that mean no and yes.
var flagMetrics = map[string]bool{"door.open": true, "device.reachable": true}

func fmtYesNo(lang string, b bool) string {
	if b {
		return tr(lang, "yes")
	}
	return tr(lang, "no")
}

// fmtIEC writes a byte count in binary units (KiB, MiB, GiB, …): one
// decimal below ten, none above, so "9,6 GiB" but "67 GiB".
func fmtIEC(lang string, n float64) string {
	if math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
		return "–"
	}
	if n < 1024 {
		return fmtDec(lang, n, 0) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	n /= 1024
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	dec := 0
	if n < 10 {
		dec = 1
	}
	// 1023.7 KiB rounds to 1024 KiB: say 1 MiB instead.
	if math.Round(n) >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
		dec = 1
	}
	return fmtDec(lang, n, dec) + " " + units[i]
}

// fmtSpan writes a duration for reading, not for parsing: the two largest
// units, rounded down ("3 Std. 29 Min.", "2 Tg. 4 Std.", "45 s").
func fmtSpan(lang string, d time.Duration) string {
	if d < 0 {
		d = 0
	}
	u := spanUnits[langEN]
	if lang != langEN {
		u = spanUnits[langDE]
	}
	if d < time.Second {
		// a test poll's duration
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	parts := []int64{int64(d / (24 * time.Hour)), int64(d % (24 * time.Hour) / time.Hour), int64(d % time.Hour / time.Minute), int64(d % time.Minute / time.Second)}
	for i, p := range parts {
		if p == 0 {
			continue
		}
		s := strconv.FormatInt(p, 10) + " " + u[i]
		if i+1 < len(parts) && parts[i+1] > 0 {
			s += " " + strconv.FormatInt(parts[i+1], 10) + " " + u[i+1]
		}
		return s
	}
	return "0 " + u[3]
}

// spanUnits are days, hours, minutes and seconds per language.
var spanUnits = map[string][4]string{
	langDE: {"Tg.", "Std.", "Min.", "s"},
	langEN: {"d", "h", "min", "s"},
}

// fmtAgoL is how long ago t was ("vor 5 Min.", "5 min ago", "gerade
// eben" within half a second; – for never).
func fmtAgoL(lang string, now, t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	d := now.Sub(t).Round(time.Second)
	if d <= 0 {
		return tr(lang, "just_now")
	}
	return tf(lang, "ago", fmtSpan(lang, d))
}

// upsStatusWords spells out NUT's ups.status flags ("OL CHRG" is
// "Netzbetrieb, lädt (OL CHRG)"); unknown flags stay as they are.
func upsStatusWords(lang, v string) string {
	flags := strings.Fields(v)
	if len(flags) == 0 {
		return v
	}
	words := make([]string, len(flags))
	for i, f := range flags {
		words[i] = f
		if _, ok := catalog["ups."+f]; ok {
			words[i] = tr(lang, "ups."+f)
		}
	}
	return strings.Join(words, ", ") + " (" + strings.Join(flags, " ") + ")"
}

// decComma writes a plain number ("4.5", as fmtNum or a form's defaults
// make it) with the German page's decimal comma, for form fields: the
// technician sees 4,5 and may type either, parseNumber takes both.
// Anything that is not a plain number is left alone.
func decComma(lang, s string) string {
	if lang == langEN {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return s
	}
	return strings.Replace(s, ".", ",", 1)
}
