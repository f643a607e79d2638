package web

import (
	"net"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxFormBytes bounds every request body; certificate uploads are the
// largest legitimate input (a few kilobytes each).
const maxFormBytes = 1 << 20

// request is what every handler gets besides the ResponseWriter.
type request struct {
	*http.Request
	sess *session
	lang string
}

type handlerFunc func(w http.ResponseWriter, r *request)

// access levels of a route.
const (
	public   = iota // setup and login forms
	loggedIn        // everything else
)

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /static/style.css", serveCSS)
	m.Handle("GET /setup", s.wrap(public, s.getSetup))
	m.Handle("POST /setup", s.wrap(public, s.postSetup))
	m.Handle("GET /login", s.wrap(public, s.getLogin))
	m.Handle("POST /login", s.wrap(public, s.postLogin))
	m.Handle("POST /lang", s.wrap(public, s.postLang))
	m.Handle("POST /logout", s.wrap(loggedIn, s.postLogout))
	m.Handle("GET /{$}", s.wrap(loggedIn, s.getOverview))
	m.Handle("POST /checklist/test", s.wrap(loggedIn, s.postChecklistTest))
	m.Handle("GET /devices", s.wrap(loggedIn, s.getDevices))
	m.Handle("POST /devices/poll", s.wrap(loggedIn, s.postPoll))
	m.Handle("GET /devices/found", s.wrap(loggedIn, s.getFound))
	m.Handle("GET /devices/adopt", s.wrap(loggedIn, s.getAdopt))
	m.Handle("POST /devices/adopt", s.wrap(loggedIn, s.postAdopt))
	m.Handle("POST /devices/ignore", s.wrap(loggedIn, s.postIgnore))
	m.Handle("POST /devices/selftest", s.wrap(loggedIn, s.postSelfTest))
	m.Handle("GET /devices/adopt-attached", s.wrap(loggedIn, s.getAdoptAttached))
	m.Handle("POST /devices/adopt-attached", s.wrap(loggedIn, s.postAdoptAttached))
	m.Handle("GET /alarms", s.wrap(loggedIn, s.getAlarms))
	m.Handle("POST /alarms/ack", s.wrap(loggedIn, s.postAck))
	m.Handle("POST /alarms/rule", s.wrap(loggedIn, s.postRule))
	m.Handle("POST /alarms/fridge", s.wrap(loggedIn, s.postFridge))
	m.Handle("GET /coldchain.csv", s.wrap(loggedIn, s.getColdChainCSV))
	m.Handle("GET /coldchain.pdf", s.wrap(loggedIn, s.getColdChainReport))
	m.Handle("POST /coldchain/check", s.wrap(loggedIn, s.postDailyCheck))
	m.Handle("GET /settings", s.wrap(loggedIn, s.getSettings))
	m.Handle("POST /settings", s.wrap(loggedIn, s.postSettings))
	m.Handle("POST /settings/certs", s.wrap(loggedIn, s.postCerts))
	m.Handle("POST /settings/test", s.wrap(loggedIn, s.postTest))
	m.Handle("POST /settings/restart", s.wrap(loggedIn, s.postRestart))
	m.Handle("GET /diagnostics", s.wrap(loggedIn, s.getDiagnostics))
	m.Handle("GET /diagnostics/bundle", s.wrap(loggedIn, s.getBundle))
	m.Handle("POST /diagnostics/discover", s.wrap(loggedIn, s.postDiscover))
	m.Handle("GET /notify", s.wrap(loggedIn, s.getNotify))
	m.Handle("POST /notify/test", s.wrap(loggedIn, s.postNotifyTest))
	m.Handle("GET /update", s.wrap(loggedIn, s.getUpdate))
	m.Handle("POST /update/check", s.wrap(loggedIn, s.postUpdateCheck))
	m.Handle("POST /update/install", s.wrap(loggedIn, s.postUpdateInstall))
	m.Handle("/", s.wrap(public, s.notFound))
	s.mux = m
}

// setSecurityHeaders: no scripts at all, styles only from our own file,
// never framed (clickjacking on the ack and settings buttons), no MIME
// sniffing, no referrer to outside sites, nothing cached.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Strict-Transport-Security", "max-age=31536000")
}

// wrap applies the rules every route shares: security headers, the
// cross-origin check, a session (anonymous if need be), the CSRF token on
// every state-changing request, setup mode and login.
func (s *Server) wrap(level int, h handlerFunc) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		setSecurityHeaders(w.Header())
		r := &request{Request: hr, sess: s.sessions.get(hr)}
		unsafe := hr.Method != http.MethodGet && hr.Method != http.MethodHead
		if unsafe {
			hr.Body = http.MaxBytesReader(w, hr.Body, maxFormBytes)
			if err := parseForm(hr); err != nil {
				s.log.Warn("web: unreadable form", "path", hr.URL.Path, "err", err, "remote", remoteIP(hr))
				s.fail(w, r, http.StatusBadRequest, "err.bad_request", nil)
				return
			}
			if !validUTF8(hr) {
				s.fail(w, r, http.StatusBadRequest, "err.bad_request", nil)
				return
			}
			if !r.sess.validToken(hr.PostFormValue("csrf")) {
				s.refuseStale(w, hr)
				return
			}
		}
		if r.sess == nil {
			r.sess = s.sessions.create(w, "", "")
		}
		r.lang = pickLang(r.sess.lang)
		if level == loggedIn || strings.HasPrefix(hr.URL.Path, "/login") {
			if s.accounts.SetupCode() != "" {
				http.Redirect(w, hr, "/setup", http.StatusSeeOther)
				return
			}
		}
		if level == loggedIn && r.sess.user == "" {
			http.Redirect(w, hr, "/login", http.StatusSeeOther)
			return
		}
		h(w, r)
	})
	return s.cop.Handler(inner)
}

func parseForm(r *http.Request) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return r.ParseMultipartForm(maxFormBytes)
	}
	return r.ParseForm()
}

// validUTF8 reports whether every form value is UTF-8. Browsers send
// nothing else; anything else would end up in the YAML file or the log.
func validUTF8(r *http.Request) bool {
	for k, vs := range r.PostForm {
		if !utf8.ValidString(k) {
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}

func (s *Server) notFound(w http.ResponseWriter, r *request) {
	s.render(w, r, http.StatusNotFound, "error", pageData{Error: tr(r.lang, "err.not_found")})
}

// fail logs err and shows a message page.
func (s *Server) fail(w http.ResponseWriter, r *request, code int, key string, err error) {
	if err != nil {
		s.log.Error("web: request failed", "path", r.URL.Path, "err", err)
	}
	lang := langDE
	if r.sess != nil {
		lang = pickLang(r.sess.lang)
	}
	r.lang = lang
	s.render(w, r, code, "error", pageData{Error: tr(lang, key)})
}

func remoteIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// redirect after a successful POST (post/redirect/get), with a flash.
func (s *Server) redirect(w http.ResponseWriter, r *request, to, flash string) {
	if flash != "" {
		s.sessions.setFlash(w, r.sess, flash)
	}
	http.Redirect(w, r.Request, to, http.StatusSeeOther)
}

// change records an audit entry for a change made by the logged-in user.
func (s *Server) change(r *request, action, detail string) {
	e := AuditEntry{Time: s.now().UTC(), User: r.sess.user, Remote: remoteIP(r.Request), Action: action, Detail: detail}
	if err := s.audit.record(e); err != nil {
		s.log.Error("web: audit log", "err", err)
	}
	s.log.Info("web: change", "user", e.User, "action", action, "detail", detail, "remote", e.Remote)
}
