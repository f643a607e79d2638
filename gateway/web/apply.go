package web

import (
	"net/http"
	"strings"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// Applied says which sections of a saved config are in effect and which
// wait for a restart (config.Applied); the page tells the technician
// exactly that.
type Applied = config.Applied

// SectionColdChain names the cold-chain record's band (config.SectionColdChain).
const SectionColdChain = config.SectionColdChain

// Sections lists every section name Apply may report, from config's table
// of sections (config.Sections). The catalog has a label for each
// (TestSectionLabels).
func Sections() []string {
	var out []string
	for _, s := range config.Sections() {
		out = append(out, s.Name)
	}
	return out
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
