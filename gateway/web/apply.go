package web

import (
	"net/http"
	"reflect"
	"strings"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// Applied says what became of a saved config: which of its top-level
// sections (the YAML keys of config.Config, plus SectionColdChain) are in
// effect already and which wait for a restart of the service. The page
// tells the technician exactly that, so nobody leaves the practice
// believing a new broker is in use when it is not.
type Applied struct {
	// Live are the sections this save changed that the running daemon
	// uses from now on.
	Live []string
	// Restart are the sections that differ from what the daemon runs with
	// (by this save or an earlier one) and take effect at its next start.
	Restart []string
}

// SectionColdChain names the cold-chain record's band, which follows the
// fridge: section but is only read when the daemon starts.
const SectionColdChain = "coldchain"

// Sections lists every section name Apply may report: the YAML keys of
// config.Config and SectionColdChain. The catalog has a label for each
// (TestSectionLabels).
func Sections() []string {
	var out []string
	t := reflect.TypeOf(config.Config{})
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return append(out, SectionColdChain)
}

// sectionLabels renders section names in the page's language.
func sectionLabels(lang string, secs []string) string {
	labels := make([]string, len(secs))
	for i, s := range secs {
		labels[i] = tr(lang, "sec."+s)
	}
	return strings.Join(labels, ", ")
}

// appliedFlash is the message after a successful save: "Gespeichert und
// sofort aktiv." or which parts wait for the restart.
func appliedFlash(lang string, a Applied) string {
	if len(a.Restart) == 0 {
		return tr(lang, "flash.applied")
	}
	msg := tr(lang, "flash.restart") + " " + sectionLabels(lang, a.Restart) + "."
	if len(a.Live) > 0 {
		msg += " " + tr(lang, "flash.live") + " " + sectionLabels(lang, a.Live) + "."
	}
	return msg
}

// savedRedirect ends a successful save: audit is done by the caller; the
// next page says what is in effect.
func (s *Server) savedRedirect(w http.ResponseWriter, r *request, to string, a Applied) {
	s.sessions.update(r.sess.id, func(ss *session) {
		ss.flash = "flash.applied"
		ss.applied = &a
	})
	http.Redirect(w, r.Request, to, http.StatusSeeOther)
}

// ChangedSections lists the sections (YAML keys of config.Config) in which
// b differs from a, in the struct's order. Values are compared after the
// loader filled in defaults, so writing a default out explicitly is no
// change; where a device stands in the file (Device.Line, which moves
// when the page re-encodes the file) is no change either.
func ChangedSections(a, b *config.Config) []string {
	var out []string
	va, vb := reflect.ValueOf(withoutLines(a)).Elem(), reflect.ValueOf(withoutLines(b)).Elem()
	t := va.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, tag)
		}
	}
	return out
}

func withoutLines(c *config.Config) *config.Config {
	cp := *c
	cp.Devices = append([]config.Device(nil), c.Devices...)
	for i := range cp.Devices {
		cp.Devices[i].Line = 0
	}
	return &cp
}
