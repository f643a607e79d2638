package web

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"
)

// cookieName uses the __Host- prefix: browsers accept it only with Secure,
// Path=/ and no Domain, so no other host can plant or read it.
const cookieName = "__Host-praxisgate"

// langCookieName and flashCookieName carry what an anonymous visitor has
// besides the token: the chosen language and a one-shot message key.
const (
	langCookieName  = "__Host-praxisgate-lang"
	flashCookieName = "__Host-praxisgate-flash"
)

// anonPrefix starts the id of an anonymous session. Anonymous sessions
// keep no state on the box: the CSRF token of the login and setup forms is
// derived from the id with the page's key, so no flood of visitors can push
// out the technician's pending login form.
const anonPrefix = "a"

const (
	idleTimeout     = 30 * time.Minute
	absoluteTimeout = 12 * time.Hour
	// maxSessions bounds memory; only logged-in sessions are stored.
	maxSessions = 2048
)

// session is server-side state behind the cookie, or, for an anonymous
// visitor, what the cookies say. Anonymous sessions exist so the login and
// setup forms carry a CSRF token too; logging in replaces the session (new
// id) against session fixation.
type session struct {
	id      string
	user    string // "" before login
	csrf    string
	lang    string
	created time.Time
	seen    time.Time
	// flash is a one-shot message key shown on the next page.
	flash string
	// applied, with flash.applied, says what a save put into effect.
	applied *Applied
}

type sessions struct {
	now  func() time.Time
	sign *signer
	mu   sync.Mutex
	m    map[string]*session
}

func newSessions(now func() time.Time, sign *signer) *sessions {
	return &sessions{now: now, sign: sign, m: map[string]*session{}}
}

func (ss *session) anonymous() bool { return strings.HasPrefix(ss.id, anonPrefix) }

// get returns the live session named by the request's cookie, or nil.
func (s *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	if len(c.Value) == 27 && strings.HasPrefix(c.Value, anonPrefix) {
		now := s.now()
		lang := ""
		if lc, err := r.Cookie(langCookieName); err == nil {
			lang = pickLang(lc.Value)
		}
		return &session{id: c.Value, csrf: s.sign.mac("anon-csrf", c.Value), lang: lang, created: now, seen: now}
	}
	if len(c.Value) != 26 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[c.Value]
	if !ok {
		return nil
	}
	now := s.now()
	if now.Sub(ss.seen) > idleTimeout || now.Sub(ss.created) > absoluteTimeout {
		delete(s.m, ss.id)
		return nil
	}
	ss.seen = now
	cp := *ss
	return &cp
}

// create starts a new session and sets its cookie; an anonymous one
// (user "") is kept only in the visitor's cookies.
func (s *sessions) create(w http.ResponseWriter, user, lang string) *session {
	now := s.now()
	if user == "" {
		id := anonPrefix + rand.Text()
		ss := &session{id: id, csrf: s.sign.mac("anon-csrf", id), lang: lang, created: now, seen: now}
		setCookie(w, cookieName, id, absoluteTimeout)
		if lang != "" {
			// carried over from a session that ends (logout)
			setCookie(w, langCookieName, lang, deviceCookieLife)
		}
		return ss
	}
	ss := &session{id: rand.Text(), csrf: rand.Text(), user: user, lang: lang, created: now, seen: now}
	s.mu.Lock()
	if len(s.m) >= maxSessions {
		s.evictLocked(now)
	}
	s.m[ss.id] = ss
	s.mu.Unlock()
	setCookie(w, cookieName, ss.id, absoluteTimeout)
	cp := *ss
	return &cp
}

// setCookie sets a __Host- cookie of the page; a zero life deletes it.
func setCookie(w http.ResponseWriter, name, value string, life time.Duration) {
	maxAge := int(life.Seconds())
	if life == 0 {
		maxAge = -1
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// evictLocked drops expired sessions, then the oldest.
func (s *sessions) evictLocked(now time.Time) {
	for id, ss := range s.m {
		if now.Sub(ss.seen) > idleTimeout || now.Sub(ss.created) > absoluteTimeout {
			delete(s.m, id)
		}
	}
	for len(s.m) >= maxSessions {
		var oldest *session
		for _, ss := range s.m {
			if oldest == nil || ss.seen.Before(oldest.seen) {
				oldest = ss
			}
		}
		delete(s.m, oldest.id)
	}
}

// rotate ends session old and starts a new one in its place (new id, new
// CSRF token), carrying over only the language: login and logout both
// rotate, against session fixation.
func (s *sessions) rotate(w http.ResponseWriter, old *session, user string) *session {
	s.mu.Lock()
	delete(s.m, old.id)
	s.mu.Unlock()
	return s.create(w, user, old.lang)
}

// setLang stores the page language of ss: in the session, or for an
// anonymous visitor in a cookie.
func (s *sessions) setLang(w http.ResponseWriter, ss *session, lang string) {
	ss.lang = lang
	if ss.anonymous() {
		setCookie(w, langCookieName, lang, deviceCookieLife)
		return
	}
	s.update(ss.id, func(st *session) { st.lang = lang })
}

// setFlash stores the one-shot message key for the next page of ss.
func (s *sessions) setFlash(w http.ResponseWriter, ss *session, flash string) {
	if ss.anonymous() {
		setCookie(w, flashCookieName, flash, time.Minute)
		return
	}
	s.update(ss.id, func(st *session) { st.flash, st.applied = flash, nil })
}

// update changes a stored session (language, flash).
func (s *sessions) update(id string, f func(*session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.m[id]; ok {
		f(ss)
	}
}

// takeFlash returns and clears the session's one-shot message. An
// anonymous visitor's comes from a cookie and is shown only when it names
// a known message, so a planted cookie cannot put text on the page.
func (s *sessions) takeFlash(w http.ResponseWriter, r *http.Request, sess *session) (string, *Applied) {
	if sess.anonymous() {
		c, err := r.Cookie(flashCookieName)
		if err != nil {
			return "", nil
		}
		setCookie(w, flashCookieName, "", 0)
		if _, known := catalog[c.Value]; !known || !strings.HasPrefix(c.Value, "flash.") {
			return "", nil
		}
		return c.Value, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[sess.id]
	if !ok {
		return "", nil
	}
	f, a := ss.flash, ss.applied
	ss.flash, ss.applied = "", nil
	return f, a
}

// validToken compares a form's CSRF token with the session's.
func (ss *session) validToken(tok string) bool {
	return ss != nil && tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(ss.csrf)) == 1
}
