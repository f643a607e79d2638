package web

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"sync"
	"time"
)

// cookieName uses the __Host- prefix: browsers accept it only with Secure,
// Path=/ and no Domain, so no other host can plant or read it.
const cookieName = "__Host-praxisgate"

const (
	idleTimeout     = 30 * time.Minute
	absoluteTimeout = 12 * time.Hour
	// maxSessions bounds memory: anonymous sessions (login form, language)
	// are created for every visitor.
	maxSessions = 2048
)

// session is server-side state behind the cookie. Anonymous sessions exist
// so the login and setup forms carry a CSRF token too; logging in replaces
// the session (new id) against session fixation.
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
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: map[string]*session{}}
}

// get returns the live session named by the request's cookie, or nil.
func (s *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || len(c.Value) != 26 {
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

// create starts a new session and sets its cookie.
func (s *sessions) create(w http.ResponseWriter, user, lang string) *session {
	now := s.now()
	ss := &session{id: rand.Text(), csrf: rand.Text(), user: user, lang: lang, created: now, seen: now}
	s.mu.Lock()
	if len(s.m) >= maxSessions {
		s.evictLocked(now)
	}
	s.m[ss.id] = ss
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: ss.id, Path: "/", MaxAge: int(absoluteTimeout.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	cp := *ss
	return &cp
}

// evictLocked drops expired sessions, then anonymous ones, then the oldest.
func (s *sessions) evictLocked(now time.Time) {
	for id, ss := range s.m {
		if now.Sub(ss.seen) > idleTimeout || now.Sub(ss.created) > absoluteTimeout || ss.user == "" {
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

// rotate ends session id and starts a new one in its place (new id, new
// CSRF token), carrying over only the language: login and logout both
// rotate, against session fixation.
func (s *sessions) rotate(w http.ResponseWriter, id, user string) *session {
	s.mu.Lock()
	lang := ""
	if old, ok := s.m[id]; ok {
		lang = old.lang
	}
	delete(s.m, id)
	s.mu.Unlock()
	return s.create(w, user, lang)
}

// update changes a stored session (language, flash).
func (s *sessions) update(id string, f func(*session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.m[id]; ok {
		f(ss)
	}
}

// takeFlash returns and clears the session's one-shot message.
func (s *sessions) takeFlash(id string) (string, *Applied) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[id]
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
