package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// clientFrom is another browser on the LAN: its own cookie jar, and its
// connections come from the loopback address src (all of 127.0.0.0/8 is
// this machine), so the page sees a different client address.
func (e *env) clientFrom(src string) *env {
	e.t.Helper()
	tr := e.ts.Client().Transport.(*http.Transport).Clone()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	c := &http.Client{Transport: tr, CheckRedirect: e.c.CheckRedirect}
	c.Jar, _ = cookiejar.New(nil)
	cp := *e
	cp.c, cp.csrf = c, ""
	return &cp
}

// TestLockoutAttack plays OWASP ASVS 2.2.1 as the attack on the LAN was
// measured: a host hammering the setup code and then the login with
// rotating user names must leave the technician, at another address, able
// to set up and log in at once (the clock does not move: no wait at all).
func TestLockoutAttack(t *testing.T) {
	e := newEnv(t)
	attacker := e.clientFrom("127.0.0.66")

	// Setup: wrong codes from the attacker.
	attacker.get("/setup")
	for i := range 8 {
		resp, body := attacker.post("/setup", url.Values{"code": {fmt.Sprintf("AAAA-BBBB-%04d", i)}, "user": {"admin"},
			"password": {testPassword}, "confirm": {testPassword}})
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("attacker's setup code %d: status %d\n%s", i, resp.StatusCode, body)
		}
	}
	e.setUp() // fails the test unless the technician's code is taken at once

	// Login: rotating names, as fast as the page answers.
	attacker.get("/login")
	throttled := 0
	for i := range 60 {
		resp, _ := attacker.post("/login", url.Values{"user": {fmt.Sprintf("user%02d", i)}, "password": {"falsch-falsch"}})
		if resp.StatusCode == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("the attacker was never throttled")
	}
	e.get("/login")
	resp, body := e.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("technician locked out by the attack: status %d\n%s", resp.StatusCode, body)
	}
}

// TestKnownBrowserOutlastsAccountAttack: an attacker guessing the admin
// password from many addresses spends the account's and the global
// budget; the technician's browser, which logged in before, is not slowed,
// while an unknown browser is.
func TestKnownBrowserOutlastsAccountAttack(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.post("/logout", nil)

	for i := range 40 {
		a := e.clientFrom(fmt.Sprintf("127.0.1.%d", 10+i))
		a.get("/login")
		a.post("/login", url.Values{"user": {"admin"}, "password": {"falsch-falsch"}})
	}
	stranger := e.clientFrom("127.0.2.9")
	stranger.get("/login")
	resp, body := stranger.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}})
	wantStatus(t, resp, http.StatusTooManyRequests, body)

	// A forged device cookie is no device cookie.
	forger := e.clientFrom("127.0.2.10")
	u, _ := url.Parse(e.ts.URL)
	forger.c.Jar.SetCookies(u, []*http.Cookie{{Name: deviceCookieName, Value: "v1.YWRtaW4.1.x.forged", Path: "/", Secure: true}})
	forger.get("/login")
	resp, body = forger.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}})
	wantStatus(t, resp, http.StatusTooManyRequests, body)

	e.get("/login")
	resp, body = e.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("known browser slowed by the attack: status %d\n%s", resp.StatusCode, body)
	}
}

// TestDeviceCookieSurvivesRestart: the signing key is kept in the web
// directory, so the technician's browser is still known after the box
// rebooted, and a cookie for one account does not vouch for another.
func TestDeviceCookieSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	e.login()
	u, _ := url.Parse(e.ts.URL)
	var dev *http.Cookie
	for _, c := range e.c.Jar.Cookies(u) {
		if c.Name == deviceCookieName {
			dev = c
		}
	}
	if dev == nil {
		t.Fatal("no device cookie after login")
	}
	again, err := New(Options{Backend: e.be, Dir: e.srv.dir, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodPost, "https://box/login", nil)
	r.AddCookie(dev)
	if again.sign.device(r, "admin", e.clock.Now()) == "" {
		t.Fatal("device cookie not recognised after a restart")
	}
	if again.sign.device(r, "other", e.clock.Now()) != "" {
		t.Fatal("device cookie vouches for another account")
	}
	if again.sign.device(r, "admin", e.clock.Now().Add(deviceCookieLife+time.Hour)) != "" {
		t.Fatal("device cookie valid past its life")
	}
}

// TestAnonymousFloodKeepsPendingLogin: thousands of anonymous visitors
// (the measured attack pushed out every stored session with about 2,100
// GETs) leave the technician's open login form working, and the language
// chosen before logging in is kept.
func TestAnonymousFloodKeepsPendingLogin(t *testing.T) {
	e := newEnv(t)
	e.setUp()
	e.get("/login")
	resp, body := e.post("/lang", url.Values{"lang": {"en"}, "back": {"/login"}})
	wantRedirect(t, resp, "/login")
	_, body = e.get("/login")
	if !strings.Contains(body, "Password") {
		t.Fatalf("login page not in English after the switch:\n%s", body)
	}
	flood := e.clientFrom("127.0.0.77")
	for range 3000 {
		flood.c.Jar, _ = cookiejar.New(nil)
		if resp, _ := flood.get("/login"); resp.StatusCode != http.StatusOK {
			t.Fatalf("flood GET /login: %d", resp.StatusCode)
		}
	}
	if n := len(e.srv.sessions.m); n != 0 {
		t.Fatalf("anonymous visitors left %d stored sessions", n)
	}
	resp, body = e.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pending login broken by the flood: status %d\n%s", resp.StatusCode, body)
	}
	_, body = e.get("/")
	if !strings.Contains(body, `lang="en"`) {
		t.Fatal("language chosen before login lost")
	}
	// Logging out keeps the language for the login page that follows.
	resp, _ = e.post("/logout", nil)
	wantRedirect(t, resp, "/login")
	if _, body = e.get("/login"); !strings.Contains(body, "Logged out") {
		t.Fatalf("logout message not in the chosen language:\n%s", body)
	}
	// A token from another anonymous visitor is refused.
	other := e.clientFrom("127.0.0.78")
	other.get("/login")
	stranger := e.clientFrom("127.0.0.79")
	stranger.get("/login")
	resp, body = stranger.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}, "csrf": {other.csrf}})
	wantStatus(t, resp, http.StatusForbidden, body)
}
