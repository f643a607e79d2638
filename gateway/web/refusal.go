package web

import (
	"net/http"
	"slices"
	"sort"
	"strings"
)

// Refusals in the page's own frame (issue 22): a form the CSRF check
// turned down, because it was stale (an old tab, a restart of the box) or
// its session had expired, is answered with the normal page, a German
// explanation and what was typed, ready to send again with a fresh token.
// Nothing is carried out without the technician pressing the button, and
// nothing secret (passwords, keys, the setup code, files) is echoed. A
// request from a foreign origin is refused without echoing anything.

// maxKeptFields bounds what a refusal page echoes.
const maxKeptFields = 64

// keptField is one typed value of a refused form. Hidden fields (a rule's
// index, a device id the form carried) are sent again but not listed.
type keptField struct {
	Name, Label, Value string
	// Shown is Value in the page's words (a severity, a checkbox).
	Shown  string
	Hidden bool
}

// refusedData is the refusal page: the kept values, where they go when
// sent again, and the page to go back to.
type refusedData struct {
	Fields []keptField
	// Secrets says that fields were left out for safety.
	Secrets bool
	// Action is where "Erneut senden" posts ("" when the visitor must
	// log in first).
	Action string
	Back   string
}

// keepPrefix marks kept values in the login form after an expired
// session, so that they survive the login.
const keepPrefix = "keep:"

// secretField reports whether a form field must never be echoed.
func secretField(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"password", "confirm", "key", "code", "secret", "csrf", "token", "pem"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// hiddenFields are carried along but mean nothing to a reader.
var hiddenFields = []string{"rule", "source", "mac", "back", "host"}

// fieldLabels name a form field in the page's words.
var fieldLabels = map[string]string{
	"above": "al.above", "below": "al.below", "for": "al.for", "hysteresis": "al.hysteresis", "severity": "al.severity",
	"user": "login.user", "broker": "set.broker", "username": "set.username", "site": "set.site", "gateway": "set.gateway",
	"interval": "set.interval", "device": "al.device", "name": "dev.name", "profile": "inv.profile", "contact": "nt.contacts",
	"id": "dev.id", "from": "cc.from", "to": "cc.to", "force": "upd.force", "lang": "lang.switch",
}

// keptFields picks the values of a refused form worth keeping, sorted by
// name. strip removes a prefix from every name first (keep: in the login
// form); names without it are skipped then.
func keptFields(lang string, form map[string][]string, strip string) (fields []keptField, secrets bool) {
	for name, vs := range form {
		if strip != "" {
			if !strings.HasPrefix(name, strip) {
				continue
			}
			name = strings.TrimPrefix(name, strip)
		}
		if secretField(name) {
			secrets = secrets || (name != "csrf" && len(vs) > 0 && vs[0] != "")
			continue
		}
		for _, v := range vs {
			if len(fields) >= maxKeptFields {
				break
			}
			f := keptField{Name: name, Label: name, Value: v, Shown: v, Hidden: slices.Contains(hiddenFields, name)}
			if k, ok := fieldLabels[name]; ok {
				f.Label = tr(lang, k)
			}
			switch _, sev := catalog["sev."+v]; {
			case name == "severity" && sev:
				f.Shown = tr(lang, "sev."+v)
			case name == "force" && v == "1":
				f.Shown = tr(lang, "yes")
			}
			fields = append(fields, f)
		}
	}
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	return fields, secrets
}

// backTo is the page a form belongs to: its path's first segment.
func backTo(path string) string {
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")[0]
	switch seg {
	case "", "lang", "logout", "login", "setup", "checklist":
		return "/"
	}
	return "/" + seg
}

// refuseForeign answers a cross-origin state change (the CSRF protection's
// deny handler): the normal frame, nothing of the request echoed.
func (s *Server) refuseForeign(w http.ResponseWriter, hr *http.Request) {
	setSecurityHeaders(w.Header())
	s.log.Warn("web: request refused by CSRF protection", "method", hr.Method, "path", hr.URL.Path, "remote", remoteIP(hr))
	r := s.refusalRequest(w, hr)
	s.render(w, r, http.StatusForbidden, "refused", pageData{Error: tr(r.lang, "rf.foreign"), Data: refusedData{Back: backTo(hr.URL.Path)}})
}

// refuseStale answers a same-origin form whose CSRF token does not fit:
// the form is stale or its session expired. The form is parsed already.
func (s *Server) refuseStale(w http.ResponseWriter, hr *http.Request) {
	s.log.Warn("web: stale form refused", "method", hr.Method, "path", hr.URL.Path, "remote", remoteIP(hr))
	r := s.refusalRequest(w, hr)
	switch hr.URL.Path {
	case "/login", "/setup":
		page := strings.TrimPrefix(hr.URL.Path, "/")
		if page == "setup" && s.accounts.SetupCode() == "" {
			page = "login"
		}
		user := strings.TrimSpace(hr.PostFormValue("user"))
		if len(user) > 64 {
			user = user[:64]
		}
		lf := loginForm{User: user}
		// The kept values of an earlier refusal survive a stale login too.
		lf.Kept, _ = keptFields(r.lang, hr.PostForm, keepPrefix)
		lf.Resume = hr.PostFormValue("resume")
		s.render(w, r, http.StatusForbidden, page, pageData{Error: tr(r.lang, "rf.login_stale"), Data: lf})
		return
	case "/logout":
		http.Redirect(w, hr, "/login", http.StatusSeeOther)
		return
	case "/lang":
		// the language switch of a page from before a restart: nothing
		// to keep, the visitor just wants the other language
		http.Redirect(w, hr, "/", http.StatusSeeOther)
		return
	}
	fields, secrets := keptFields(r.lang, hr.PostForm, "")
	if r.sess.user == "" {
		// The session expired: log in again; the values ride along in the
		// login form and come back on the resend page after it.
		if s.accounts.SetupCode() != "" {
			http.Redirect(w, hr, "/setup", http.StatusSeeOther)
			return
		}
		lf := loginForm{Kept: fields, Resume: hr.URL.Path}
		s.render(w, r, http.StatusForbidden, "login", pageData{Error: tr(r.lang, "rf.expired"), Data: lf})
		return
	}
	s.render(w, r, http.StatusForbidden, "refused", pageData{Error: tr(r.lang, "rf.stale"),
		Data: refusedData{Fields: fields, Secrets: secrets, Action: hr.URL.Path, Back: backTo(hr.URL.Path)}})
}

// refusalRequest gives a refused request what rendering needs: its
// session (a fresh anonymous one when it has none) and language.
func (s *Server) refusalRequest(w http.ResponseWriter, hr *http.Request) *request {
	r := &request{Request: hr, sess: s.sessions.get(hr)}
	if r.sess == nil {
		lang := ""
		if c, err := hr.Cookie(langCookieName); err == nil {
			lang = pickLang(c.Value)
		}
		r.sess = s.sessions.create(w, "", lang)
	}
	r.lang = pickLang(r.sess.lang)
	return r
}

// resumeAfterLogin shows the values kept through a login (an expired
// session's refused form) with a fresh token; false when there are none.
func (s *Server) resumeAfterLogin(w http.ResponseWriter, r *request) bool {
	resume := r.PostFormValue("resume")
	if !localPath(resume) {
		return false
	}
	fields, _ := keptFields(r.lang, r.PostForm, keepPrefix)
	if len(fields) == 0 {
		return false
	}
	s.render(w, r, http.StatusOK, "refused", pageData{Flash: tr(r.lang, "rf.after_login"),
		Data: refusedData{Fields: fields, Action: resume, Back: backTo(resume)}})
	return true
}

// localPath reports whether p is a path of this page to post to: local,
// no scheme-relative "//", no backslash, query, fragment or control
// character, and short.
func localPath(p string) bool {
	if len(p) < 2 || len(p) > 128 || p[0] != '/' || p[1] == '/' {
		return false
	}
	for _, c := range p {
		if c < 0x21 || c == 0x7f || c == '\\' || c == '?' || c == '#' || c > 0x7e {
			return false
		}
	}
	return true
}
