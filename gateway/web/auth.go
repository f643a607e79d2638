package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

type loginForm struct {
	User string
	// Kept are a refused form's values (session expired), carried as
	// hidden keep: fields through the login; Resume is where they go.
	Kept   []keptField
	Resume string
}

func (s *Server) getSetup(w http.ResponseWriter, r *request) {
	if s.accounts.SetupCode() == "" {
		http.Redirect(w, r.Request, "/login", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "setup", pageData{Data: loginForm{User: "admin"}})
}

func (s *Server) postSetup(w http.ResponseWriter, r *request) {
	if s.accounts.SetupCode() == "" {
		http.Redirect(w, r.Request, "/login", http.StatusSeeOther)
		return
	}
	user := strings.TrimSpace(r.PostFormValue("user"))
	form := loginForm{User: user}
	// Setup codes are limited per address only: wrong codes from another
	// host never make the technician's correct code wait.
	who := attempt{addr: remoteIP(r.Request)}
	if wait := s.setupThrottle.wait(who); wait > 0 {
		s.render(w, r, http.StatusTooManyRequests, "setup", pageData{Error: throttledMsg(r.lang, wait), Data: form})
		return
	}
	if !s.accounts.checkSetupCode(r.PostFormValue("code")) {
		s.setupThrottle.fail(who)
		s.log.Warn("web: wrong setup code", "remote", remoteIP(r.Request))
		s.render(w, r, http.StatusForbidden, "setup", pageData{Error: tr(r.lang, "err.setup_code"), Data: form})
		return
	}
	fields := map[string]string{}
	if !usernameOK(user) {
		fields["user"] = tr(r.lang, "err.username")
	}
	if p := passwordProblem(r.PostFormValue("password"), r.PostFormValue("confirm")); p != "" {
		fields["password"] = tr(r.lang, p)
	}
	if len(fields) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "setup", pageData{Fields: fields, Data: form})
		return
	}
	if err := s.accounts.setPassword(user, r.PostFormValue("password")); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	s.setupThrottle.succeed(who)
	s.writeIssue()
	// The browser that created the account is the technician's: it gets
	// the device cookie now, so its first login is already judged by its
	// own failures only, however many guesses others make meanwhile.
	s.sign.issueDevice(w, user, s.now())
	r.sess.user = user // for the audit entry only; the session stays anonymous
	s.change(r, "setup", "administrator "+user+" created")
	s.redirect(w, r, "/login", "flash.setup_done")
}

func (s *Server) getLogin(w http.ResponseWriter, r *request) {
	if r.sess.user != "" {
		http.Redirect(w, r.Request, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", pageData{})
}

// postLogin checks the throttle before the password, so a throttled
// attacker learns nothing and costs no argon2 work; on success the
// anonymous session is replaced by a new one (new id, new CSRF token).
func (s *Server) postLogin(w http.ResponseWriter, r *request) {
	user := strings.TrimSpace(r.PostFormValue("user"))
	form := loginForm{User: user, Resume: r.PostFormValue("resume")}
	form.Kept, _ = keptFields(r.lang, r.PostForm, keepPrefix)
	if len(user) > 64 {
		user = user[:64]
	}
	// A browser that logged in to this account before is judged by its
	// own failures only; others by their address, the account and a global
	// budget (throttle.go), so nobody on the LAN can lock the technician out.
	who := attempt{account: user, addr: remoteIP(r.Request), device: s.sign.device(r.Request, user, s.now())}
	if wait := s.throttle.wait(who); wait > 0 {
		s.log.Warn("web: login throttled", "user", user, "wait", wait, "remote", who.addr, "known_browser", who.device != "")
		s.render(w, r, http.StatusTooManyRequests, "login", pageData{Error: throttledMsg(r.lang, wait), Data: form})
		return
	}
	if !s.accounts.verify(user, r.PostFormValue("password")) {
		s.throttle.fail(who)
		s.log.Warn("web: failed login", "user", user, "remote", remoteIP(r.Request))
		s.render(w, r, http.StatusUnauthorized, "login", pageData{Error: tr(r.lang, "err.login"), Data: form})
		return
	}
	s.throttle.succeed(who)
	s.sign.issueDevice(w, user, s.now())
	r.sess = s.sessions.rotate(w, r.sess, user)
	s.change(r, "login", "")
	if s.resumeAfterLogin(w, r) {
		return
	}
	http.Redirect(w, r.Request, "/", http.StatusSeeOther)
}

func (s *Server) postLogout(w http.ResponseWriter, r *request) {
	s.change(r, "logout", "")
	r.sess = s.sessions.rotate(w, r.sess, "")
	s.redirect(w, r, "/login", "flash.logged_out")
}

// postLang switches the page language. It is a POST like every other
// change, so a link on a foreign page cannot flip it.
func (s *Server) postLang(w http.ResponseWriter, r *request) {
	lang := pickLang(r.PostFormValue("lang"))
	s.sessions.setLang(w, r.sess, lang)
	back := r.PostFormValue("back")
	// Only local paths: never an open redirect.
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		back = "/"
	}
	http.Redirect(w, r.Request, back, http.StatusSeeOther)
}

func throttledMsg(lang string, wait time.Duration) string {
	secs := int(wait.Seconds() + 0.999)
	var d string
	if secs < 120 {
		d = fmt.Sprintf("%d s", secs)
	} else {
		d = fmt.Sprintf("%d min", (secs+59)/60)
	}
	return fmt.Sprintf(tr(lang, "err.throttled"), d)
}
