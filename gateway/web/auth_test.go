package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFirstStartNeedsSetupCode(t *testing.T) {
	e := newEnv(t)
	code := e.srv.SetupCode()
	if len(normaliseCode(code)) != 12 {
		t.Fatalf("setup code %q: want 12 characters", code)
	}
	// Nothing but the setup page works: no default password exists.
	resp, _ := e.get("/")
	wantRedirect(t, resp, "/setup")
	resp, _ = e.get("/login")
	wantRedirect(t, resp, "/setup")
	resp, body := e.get("/setup")
	wantStatus(t, resp, http.StatusOK, body)
	if !strings.Contains(body, "Einrichtungscode") {
		t.Fatalf("setup page is not German by default:\n%s", body)
	}
	resp, body = e.post("/login", url.Values{"user": {"admin"}, "password": {"admin"}})
	wantRedirect(t, resp, "/setup")

	form := func(code, pw, confirm string) url.Values {
		return url.Values{"code": {code}, "user": {"admin"}, "password": {pw}, "confirm": {confirm}}
	}
	resp, body = e.post("/setup", form("AAAA-BBBB-CCCC", testPassword, testPassword))
	wantStatus(t, resp, http.StatusForbidden, body)
	// A second guess right away is throttled, even with the right code.
	resp, body = e.post("/setup", form(code, testPassword, testPassword))
	wantStatus(t, resp, http.StatusTooManyRequests, body)
	e.clock.Advance(time.Second)

	tests := []struct {
		name, pw, confirm, want string
	}{
		{"short", "kurz", "kurz", "mindestens 10 Zeichen"},
		{"mismatch", testPassword, testPassword + "x", "stimmen nicht überein"},
	}
	for _, tt := range tests {
		resp, body = e.post("/setup", form(strings.ToLower(code), tt.pw, tt.confirm))
		wantStatus(t, resp, http.StatusUnprocessableEntity, body)
		if !strings.Contains(body, tt.want) {
			t.Errorf("%s: page lacks %q", tt.name, tt.want)
		}
	}
	resp, body = e.post("/setup", form(code, testPassword, testPassword))
	wantRedirect(t, resp, "/login")
	if e.srv.SetupCode() != "" {
		t.Fatal("setup code still valid after use")
	}
	st, err := os.Stat(filepath.Join(e.srv.dir, accountsFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("accounts file mode %v, want 0600", st.Mode().Perm())
	}
	var users map[string]string
	data, _ := os.ReadFile(filepath.Join(e.srv.dir, accountsFile))
	if err := json.Unmarshal(data, &users); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(users["admin"], "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("stored hash %q is not argon2id with OWASP's minimum", users["admin"])
	}
	if strings.Contains(string(data), testPassword) {
		t.Fatal("password stored in clear")
	}
	// The code cannot be used again.
	resp, _ = e.post("/setup", form(code, testPassword, testPassword))
	wantRedirect(t, resp, "/login")

	// A restart keeps the account and prints no new code.
	srv2, err := New(Options{Backend: e.be, Dir: e.srv.dir, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if srv2.SetupCode() != "" || srv2.Fingerprint() != e.srv.Fingerprint() {
		t.Fatalf("after restart: setup code %q, fingerprint changed %v", srv2.SetupCode(), srv2.Fingerprint() != e.srv.Fingerprint())
	}
	if !srv2.accounts.verify("admin", testPassword) {
		t.Fatal("account lost across restart")
	}
}

func TestLoginThrottledAndSessionRotated(t *testing.T) {
	e := newEnv(t)
	e.setUp()
	resp, _ := e.get("/login")
	before := sessionCookie(resp)
	if before == nil {
		// the anonymous session was created on the setup page already
		for _, c := range e.c.Jar.Cookies(mustURL(e.ts.URL)) {
			if c.Name == cookieName {
				before = c
			}
		}
	}
	if before == nil {
		t.Fatal("no anonymous session cookie before login")
	}
	resp, body := e.post("/login", url.Values{"user": {"admin"}, "password": {"falsch-falsch"}})
	wantStatus(t, resp, http.StatusUnauthorized, body)
	if !strings.Contains(body, "Benutzername oder Passwort falsch") {
		t.Fatalf("no message for a wrong password:\n%s", body)
	}
	// Right password, but too soon after a failure: refused unchecked.
	resp, body = e.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}})
	wantStatus(t, resp, http.StatusTooManyRequests, body)
	if !strings.Contains(body, "Zu viele Fehlversuche") {
		t.Fatalf("no throttling message:\n%s", body)
	}
	e.clock.Advance(time.Second)
	resp, body = e.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}})
	wantRedirect(t, resp, "/")
	after := sessionCookie(resp)
	if after == nil || after.Value == before.Value {
		t.Fatal("login did not issue a new session id")
	}
	if !after.Secure || !after.HttpOnly || after.SameSite != http.SameSiteStrictMode || after.Path != "/" || after.MaxAge <= 0 {
		t.Fatalf("session cookie flags: %+v", after)
	}
	// The old (anonymous) id carries no login: whoever planted or saw it
	// gains nothing (session fixation).
	if ss := e.srv.sessions.get(cookieReq(before)); ss != nil && ss.user != "" {
		t.Fatal("pre-login session id is logged in")
	}
	resp, body = e.get("/")
	wantStatus(t, resp, http.StatusOK, body)
}

// Failures from another address do not delay the technician (below the
// global budget).
func TestThrottleIsPerAddress(t *testing.T) {
	e := newEnv(t)
	e.setUp()
	for i := range 10 {
		e.srv.throttle.fail(attempt{account: fmt.Sprintf("user%d", i), addr: "192.0.2.66"})
	}
	e.get("/login")
	resp, body := e.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("technician throttled by someone else's failures: %d\n%s", resp.StatusCode, body)
	}
}

func TestSessionExpiry(t *testing.T) {
	for _, tt := range []struct {
		name string
		step time.Duration
		n    int
	}{
		{"idle", idleTimeout + time.Second, 1},
		// busy all day: each request within the idle window, but the
		// absolute limit still ends the session
		{"absolute", idleTimeout - time.Minute, int(absoluteTimeout/(idleTimeout-time.Minute)) + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.login()
			var resp *http.Response
			for i := 0; i < tt.n; i++ {
				e.clock.Advance(tt.step)
				resp, _ = e.get("/")
			}
			wantRedirect(t, resp, "/login")
		})
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	e.login()
	resp, _ := e.post("/logout", nil)
	wantRedirect(t, resp, "/login")
	resp, _ = e.get("/")
	wantRedirect(t, resp, "/login")
}

func TestThrottle(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	th := newThrottle(clock.Now)
	admin := attempt{account: "admin", addr: "192.0.2.1"}
	if w := th.wait(admin); w != 0 {
		t.Fatalf("fresh account waits %v", w)
	}
	// exponential per account and address
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		th.fail(admin)
		if w := th.wait(admin); w != want {
			t.Fatalf("after %d failures wait %v, want %v", i+1, w, want)
		}
	}
	for _, tt := range []struct {
		name string
		a    attempt
		want time.Duration
	}{
		{"another account, another address", attempt{account: "other", addr: "192.0.2.2"}, 0},
		{"the account from another unknown browser", attempt{account: "admin", addr: "192.0.2.2"}, time.Second},
		{"the address with another account", attempt{account: "other", addr: "192.0.2.1"}, 8 * time.Second},
		{"a known browser of the account", attempt{account: "admin", addr: "192.0.2.1", device: "d1"}, 0},
	} {
		if w := th.wait(tt.a); w != tt.want {
			t.Errorf("%s: wait %v, want %v", tt.name, w, tt.want)
		}
	}
	// a known browser's failures count for that browser only
	known := attempt{account: "admin", addr: "192.0.2.3", device: "d2"}
	th.fail(known)
	if w := th.wait(known); w != time.Second {
		t.Fatalf("known browser after one failure waits %v", w)
	}
	if w := th.wait(attempt{account: "admin", addr: "192.0.2.3", device: "d3"}); w != 0 {
		t.Fatalf("another known browser waits %v", w)
	}
	// capped: the technician is never locked out for good
	for range 30 {
		th.fail(admin)
	}
	if w := th.wait(admin); w != th.maxDelay {
		t.Fatalf("after many failures wait %v, want the cap %v", w, th.maxDelay)
	}
	clock.Advance(th.maxDelay)
	if w := th.wait(admin); w != 0 {
		t.Fatalf("after the cap passed wait %v", w)
	}
	th.succeed(admin)
	th.fail(admin)
	if w := th.wait(admin); w != time.Second {
		t.Fatalf("success did not reset: wait %v", w)
	}

	// global: many addresses and names, one failure each, trip the
	// global budget, which slows unknown browsers only
	clock.Advance(time.Hour)
	g := newThrottle(clock.Now)
	for i := range g.globalMax {
		g.fail(attempt{account: fmt.Sprintf("user%d", i), addr: fmt.Sprintf("192.0.2.%d", 10+i)})
	}
	if w := g.wait(attempt{account: "fresh", addr: "192.0.2.200"}); w <= 0 || w > g.globalWindow {
		t.Fatalf("global cap not applied to an unknown browser: wait %v", w)
	}
	if w := g.wait(attempt{account: "admin", addr: "192.0.2.200", device: "d1"}); w != 0 {
		t.Fatalf("global cap applied to a known browser: wait %v", w)
	}
	clock.Advance(g.globalWindow)
	if w := g.wait(attempt{account: "fresh", addr: "192.0.2.200"}); w != 0 {
		t.Fatalf("global cap outlived its window: %v", w)
	}

	// setup codes: per address only, no global budget
	st := newSetupThrottle(clock.Now)
	for i := range 100 {
		st.fail(attempt{addr: fmt.Sprintf("10.0.%d.%d", i/250, i%250)})
	}
	if w := st.wait(attempt{addr: "192.0.2.5"}); w != 0 {
		t.Fatalf("setup code from a fresh address waits %v after others' failures", w)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("korrekt pferd batterie")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := hashPassword("korrekt pferd batterie")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, tt := range []struct {
		stored, pw string
		ok         bool
		err        bool
	}{
		{h, "korrekt pferd batterie", true, false},
		{h, "korrekt pferd batterie ", false, false},
		{h, "", false, false},
		{"$argon2i$v=19$m=19456,t=2,p=1$AAAA$AAAA", "x", false, true},
		{"$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", "x", false, true},
		{"plain", "plain", false, true},
	} {
		ok, err := checkPassword(tt.stored, tt.pw)
		if ok != tt.ok || (err != nil) != tt.err {
			t.Errorf("checkPassword(%q, %q) = %v, %v", tt.stored, tt.pw, ok, err)
		}
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func cookieReq(c *http.Cookie) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "https://box/", nil)
	r.AddCookie(c)
	return r
}
