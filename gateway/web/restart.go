package web

import (
	"net/http"
	"time"
)

// restartDelay lets the "restarting" page reach the browser before the
// daemon stops serving it.
const restartDelay = time.Second

// postRestart restarts the service on the technician's request, after a
// save whose sections wait for the restart (the flash says which). The
// daemon stops like on SIGTERM (buffer closed cleanly) and the service
// manager starts it again (docs/web.md). Only offered when the daemon
// gave the page a way to restart (Options.Restart).
func (s *Server) postRestart(w http.ResponseWriter, r *request) {
	if s.restart == nil {
		s.notFound(w, r)
		return
	}
	s.change(r, "service.restart", "requested on the web page")
	s.render(w, r, http.StatusAccepted, "error", pageData{Flash: tr(r.lang, "flash.restarting")})
	restart, reason := s.restart, "web page: "+r.sess.user
	time.AfterFunc(s.restartDelay, func() { restart(reason) })
}
