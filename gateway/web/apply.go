package web

import (
	"net/http"
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
