package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var styleCSS []byte

// pageData is what every template receives.
type pageData struct {
	Lang        string
	Nav         string // active menu entry
	User        string
	CSRF        string
	Fingerprint string
	Flash       string
	Error       string
	// Problems lists config problems not tied to a form field; Fields maps
	// a form field's name to its message.
	Problems []string
	Fields   map[string]string
	Now      time.Time
	// Path is the page's own path, where the language switch returns to.
	Path string
	// NotifyOn shows the SMS alarm page in the menu.
	NotifyOn bool
	Data     any
}

type pages struct {
	byName map[string]*template.Template
}

// parsePages parses every page once, at start: each page is the layout
// plus its own file.
func parsePages() (*pages, error) {
	funcs := template.FuncMap{
		"t":     tr,
		"tf":    func(lang, key string, args ...any) string { return fmt.Sprintf(tr(lang, key), args...) },
		"when":  fmtWhen,
		"ago":   fmtAgoL,
		"span":  fmtSpan,
		"value": fmtValue,
		"sev":   func(lang string, s drivers.Severity) string { return tr(lang, "sev."+string(s)) },
		"bytes": func(lang string, n int64) string { return fmtIEC(lang, float64(n)) },
		"num":   func(lang string, f float64) string { return decComma(lang, fmtNum(f)) },
		"dec":   decComma,
		"num1":  func(lang string, f float64) string { return fmtFixed(lang, f, 1) },
		"numptr": func(lang string, p *float64) string {
			if p == nil {
				return ""
			}
			return decComma(lang, fmtNum(*p))
		},
		"dur":    fmtDur,
		"metric": metricLabel,
		"name":   deviceName,
		"kind":   kindLabel,
		"field":  func(m map[string]string, k string) string { return m[k] },
		"reason": updateReason,
		"unit":   func(units map[string]string, metric string) string { return units[metric] },
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", f, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *request, code int, name string, d pageData) {
	t, ok := s.pages.byName[name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	d.Lang = r.lang
	d.Fingerprint = s.fp
	d.Now = s.now()
	d.Path = r.URL.Path
	d.NotifyOn = s.notify != nil
	if r.Method != http.MethodGet {
		d.Path = "/" + strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
	}
	if r.sess != nil {
		d.User = r.sess.user
		d.CSRF = r.sess.csrf
		if d.Flash == "" {
			switch f, a := s.sessions.takeFlash(w, r.Request, r.sess); {
			case a != nil:
				d.Flash = appliedFlash(r.lang, *a)
			case f != "":
				d.Flash = tr(r.lang, f)
			}
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.Error("web: render", "page", name, "err", err)
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func serveCSS(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(styleCSS)
}

// Times are shown in the box's local zone (the practice's), to the second.
func fmtWhen(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Local().Format("02.01.2006 15:04:05")
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd%s", d/(24*time.Hour), strings.TrimSuffix((d%(24*time.Hour)).Truncate(time.Minute).String(), "0s"))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func fmtNum(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
