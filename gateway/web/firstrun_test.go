package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// TestSetupCodeOnConsole: the setup code is stored, so the console screen,
// a staging sticker and the journal show one code across restarts; the
// console text names it and the fingerprint, and both the stored code and
// the console text are gone once the administrator exists.
func TestSetupCodeOnConsole(t *testing.T) {
	dir := t.TempDir()
	webDir := filepath.Join(dir, "web")
	staged, err := PendingSetupCode(webDir)
	if err != nil {
		t.Fatal(err)
	}
	if !validSetupCode(staged) {
		t.Fatalf("staged code %q has not the form of a setup code", staged)
	}
	again, err := PendingSetupCode(webDir)
	if err != nil || again != staged {
		t.Fatalf("second call: %q, %v; want the stored %q", again, err, staged)
	}
	if st, err := os.Stat(filepath.Join(webDir, setupCodeFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stored code: %v, %v", st, err)
	}
	sticker := Sticker(staged, "gw-01", "")
	for _, w := range []string{staged, "gw-01", "Einrichtungscode"} {
		if !strings.Contains(sticker, w) {
			t.Errorf("sticker lacks %q:\n%s", w, sticker)
		}
	}

	e := newEnv(t)
	issue := filepath.Join(dir, "run", "setup.issue")
	os.MkdirAll(filepath.Dir(issue), 0o750)
	srv, err := New(Options{Backend: e.be, Dir: webDir, IssueFile: issue, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if srv.SetupCode() != staged {
		t.Fatalf("daemon uses %q, the sticker says %q", srv.SetupCode(), staged)
	}
	text, err := os.ReadFile(issue)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{staged, srv.Fingerprint(), `https://\4/`, "Einrichtungscode"} {
		if !strings.Contains(string(text), w) {
			t.Errorf("console text lacks %q:\n%s", w, text)
		}
	}
	if fp := CertFingerprint(webDir); fp != srv.Fingerprint() {
		t.Errorf("CertFingerprint %q, server %q", fp, srv.Fingerprint())
	}
	// Setup through the page with the console's code.
	ts := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(ts.Close)
	e.srv, e.ts = srv, ts
	e.c = ts.Client()
	e.c.Jar, _ = cookiejar.New(nil)
	e.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.get("/setup")
	resp, body := e.post("/setup", url.Values{"code": {strings.ToLower(staged)}, "user": {"admin"}, "password": {testPassword}, "confirm": {testPassword}})
	wantRedirect(t, resp, "/login")
	_ = body
	if _, err := os.Stat(issue); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("console text still there after setup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(webDir, setupCodeFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spent setup code still stored: %v", err)
	}
	if _, err := PendingSetupCode(webDir); !errors.Is(err, ErrSetUp) {
		t.Errorf("PendingSetupCode after setup: %v, want ErrSetUp", err)
	}
	// A restart with accounts writes no console text.
	if _, err := New(Options{Backend: e.be, Dir: webDir, IssueFile: issue, Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(issue); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("console text after a restart of a set-up page: %v", err)
	}
}

func TestSetupCodeDamagedFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, setupCodeFile), []byte("0000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, err := PendingSetupCode(dir)
	if err != nil || !validSetupCode(code) {
		t.Fatalf("code %q, %v", code, err)
	}
	for _, bad := range []string{"", "ABCD-EFGH-JKM", "ABCD-EFGH-JKM0", "ABCDxEFGH-JKMN", "abcd-efgh-jkmn"} {
		if validSetupCode(bad) {
			t.Errorf("%q accepted as a setup code", bad)
		}
	}
}

// TestChecklist: the overview's first-hour list shows each open item with
// the page that fixes it, ticks what the backend reports as working, takes
// the technician's confirmation of the test alarm, and is put away for good
// once everything was done.
func TestChecklist(t *testing.T) {
	e, nf := notifyEnv(t)
	_, body := e.get("/")
	if !strings.Contains(body, `id="checklist"`) {
		t.Fatalf("no checklist on a fresh box:\n%s", body)
	}
	item := func(body, id string) string {
		i := strings.Index(body, `<li id="`+id+`"`)
		if i < 0 {
			t.Fatalf("checklist lacks %s", id)
		}
		return body[i : i+strings.Index(body[i:], "</li>")]
	}
	// The fake backend: connected, clock not synchronised, UPS timing out,
	// the fridge read, two contacts, no test confirmed.
	tests := []struct {
		id, state, link string
	}{
		{"ck-uplink", `class="ok"`, ""},
		{"ck-clock", `class="todo"`, `href="/diagnostics"`},
		{"ck-ups", `class="todo"`, `href="/devices/found"`},
		{"ck-fridges", `class="ok"`, ""},
		{"ck-contacts", `class="ok"`, ""},
		{"ck-test", `class="todo"`, `href="/notify"`},
	}
	for _, tt := range tests {
		li := item(body, tt.id)
		if !strings.Contains(li, tt.state) || !strings.Contains(li, tt.link) {
			t.Errorf("%s: want %s %s:\n%s", tt.id, tt.state, tt.link, li)
		}
	}
	if li := item(body, "ck-fridges"); !strings.Contains(li, "Sollbereich 2–8 °C") {
		t.Errorf("fridge band not shown: %s", li)
	}
	if !strings.Contains(item(body, "ck-test"), `action="/checklist/test"`) {
		t.Fatal("no confirmation button for the test alarm")
	}

	// The test SMS goes out; the list says when, the technician confirms.
	e.post("/notify/test", url.Values{"contact": {"Praxis-Handy"}})
	_, body = e.get("/")
	if li := item(body, "ck-test"); !strings.Contains(li, "Test-SMS gesendet") {
		t.Errorf("sent test SMS not mentioned: %s", li)
	}
	_ = nf
	resp, _ := e.post("/checklist/test", nil)
	wantRedirect(t, resp, "/")
	_, body = e.get("/")
	if li := item(body, "ck-test"); !strings.Contains(li, `class="ok"`) {
		t.Errorf("confirmed test alarm still open: %s", li)
	}
	if !strings.Contains(body, "Vermerkt: Der Test-Alarm ist angekommen.") {
		t.Error("no confirmation message")
	}

	// Clock and UPS come right: the list is done and goes away, also
	// after a restart and when the uplink drops later.
	e.be.mu.Lock()
	e.be.devices[1].Err, e.be.devices[1].At = "", e.clock.Now()
	e.be.devices[1].Metrics = []drivers.Metric{drivers.Num("battery.charge", 100, "%")}
	e.be.mu.Unlock()
	statusClock := selfmonMetrics(95, 48.3, true)
	e.srv.be = syncedClock{e.be, statusClock}
	_, body = e.get("/")
	if strings.Contains(body, `id="checklist"`) {
		t.Fatalf("checklist still shown with every item done:\n%s", body)
	}
	srv2, err := New(Options{Backend: e.be, Dir: e.srv.dir, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if srv2.checks.get().Done.IsZero() {
		t.Fatal("done checklist not remembered")
	}
	if v := srv2.checklist(langDE, Status{}, nil); v != nil {
		t.Fatalf("checklist back after a restart and an outage: %+v", v)
	}
	// The confirmation is audited.
	found := false
	for _, a := range e.srv.audit.entries() {
		found = found || a.Action == "checklist.test_alarm"
	}
	if !found {
		t.Error("confirmation not in the audit log")
	}
}

// syncedClock reports a synchronised clock in the box health.
type syncedClock struct {
	*fakeBackend
	health []drivers.Metric
}

func (b syncedClock) Status() Status {
	st := b.fakeBackend.Status()
	st.Health = b.health
	return st
}

// TestChecklistWithoutNotify: without an SMS notifier the contact items
// point to the config guide instead of a page that does not exist.
func TestChecklistWithoutNotify(t *testing.T) {
	e := newEnv(t)
	e.login()
	_, body := e.get("/")
	i := strings.Index(body, `<li id="ck-contacts"`)
	if i < 0 {
		t.Fatal("no contacts item")
	}
	li := body[i : i+strings.Index(body[i:], "</li>")]
	if strings.Contains(li, "href=") || !strings.Contains(li, "docs/notify.md") || !strings.Contains(li, `class="todo"`) {
		t.Errorf("contacts item without notifier: %s", li)
	}
	if strings.Contains(body, `id="ck-confirm"`) {
		t.Error("test alarm confirmable without contacts")
	}
}

// TestRefusalKeepsInput: a stale form is answered in the page's frame
// with a German explanation and the typed values ready to send again
// (never a password); an expired session keeps them through the login; a
// foreign origin gets the frame but nothing echoed (issue 22).
func TestRefusalKeepsInput(t *testing.T) {
	e := newEnv(t)
	e.login()
	good := e.csrf

	// A stale threshold form (the token of an earlier session).
	resp, body := e.post("/alarms/rule", url.Values{"rule": {"0"}, "above": {"9,5"}, "below": {"2"}, "for": {"20m"}, "severity": {"critical"}, "csrf": {"ALTESTOKENALTESTOKENALTEST"}})
	wantStatus(t, resp, http.StatusForbidden, body)
	for _, w := range []string{`<nav>`, "Das Formular war veraltet", `action="/alarms/rule"`, `name="above" value="9,5"`, `name="rule" value="0"`,
		`name="csrf" value="` + good + `"`, "über", `href="/alarms"`} {
		if !strings.Contains(body, w) {
			t.Errorf("stale refusal lacks %q:\n%s", w, body)
		}
	}
	// Sending it again with the page's fresh token works.
	resp, body = e.post("/alarms/rule", url.Values{"rule": {"0"}, "above": {"9,5"}, "below": {"2"}, "for": {"20m"}, "severity": {"critical"}})
	wantRedirect(t, resp, "/alarms")
	_ = body

	// A stale settings form with the MQTT password: the password is not echoed.
	resp, body = e.post("/settings", url.Values{"broker": {"mqtts://mqtt.example:8883"}, "password": {"geheim-mqtt-passwort"}, "csrf": {"x"}})
	wantStatus(t, resp, http.StatusForbidden, body)
	if strings.Contains(body, "geheim-mqtt-passwort") || !strings.Contains(body, "mqtts://mqtt.example:8883") || !strings.Contains(body, "nicht übernommen") {
		t.Errorf("stale settings refusal:\n%s", body)
	}

	// The session expires; the form is kept through a new login.
	e.clock.Advance(idleTimeout + time.Minute)
	resp, body = e.post("/alarms/rule", url.Values{"rule": {"0"}, "above": {"10"}, "below": {"2"}})
	wantStatus(t, resp, http.StatusForbidden, body)
	for _, w := range []string{"Ihre Sitzung ist abgelaufen", `name="keep:above" value="10"`, `name="resume" value="/alarms/rule"`, `id="password"`} {
		if !strings.Contains(body, w) {
			t.Errorf("expired-session page lacks %q:\n%s", w, body)
		}
	}
	form := url.Values{"user": {"admin"}, "password": {testPassword}, "resume": {"/alarms/rule"}, "keep:above": {"10"}, "keep:below": {"2"}, "keep:rule": {"0"}}
	resp, body = e.post("/login", form)
	wantStatus(t, resp, http.StatusOK, body)
	for _, w := range []string{`action="/alarms/rule"`, `name="above" value="10"`, "Erneut senden", "Abmelden (admin)"} {
		if !strings.Contains(body, w) {
			t.Errorf("page after login lacks %q:\n%s", w, body)
		}
	}
	resp, _ = e.post("/alarms/rule", url.Values{"rule": {"0"}, "above": {"10"}, "below": {"2"}})
	wantRedirect(t, resp, "/alarms")
	if data, _ := os.ReadFile(e.cfgPath); !strings.Contains(string(data), "above: !!float 10") {
		t.Fatalf("resent form not saved:\n%s", data)
	}
	// A resume path that leaves the page is ignored.
	e.post("/logout", nil)
	e.get("/login")
	resp, _ = e.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}, "resume": {"//evil.example/x"}, "keep:above": {"1"}})
	wantRedirect(t, resp, "/")

	// A stale login form keeps the user name, never the password.
	other := newEnv(t)
	other.setUp()
	resp, body = other.post("/login", url.Values{"user": {"praxis-admin"}, "password": {testPassword}, "csrf": {"x"}})
	wantStatus(t, resp, http.StatusForbidden, body)
	if !strings.Contains(body, `value="praxis-admin"`) || strings.Contains(body, testPassword) || !strings.Contains(body, "Passwort erneut ein") {
		t.Errorf("stale login:\n%s", body)
	}
	// With the page's fresh token the login works.
	resp, _ = other.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}})
	wantRedirect(t, resp, "/")

	// A foreign origin: the frame, an explanation, nothing echoed.
	resp, body = e.post("/alarms/rule", url.Values{"rule": {"0"}, "above": {"<b>fremder-wert</b>"}}, "Sec-Fetch-Site", "cross-site")
	wantStatus(t, resp, http.StatusForbidden, body)
	if !strings.Contains(body, "nicht von dieser Seite") || strings.Contains(body, "fremder-wert") || !strings.Contains(body, `<footer>`) {
		t.Errorf("foreign refusal:\n%s", body)
	}
	checkSecurityHeaders(t, "/alarms/rule", resp.Header)
}

// TestSetupBrowserIsKnown (OWASP ASVS 2.2.1): the browser that created
// the administrator holds a device cookie, so when guesses from 40
// addresses have spent the global budget for unknown browsers, the
// technician's first login still goes through at once.
func TestSetupBrowserIsKnown(t *testing.T) {
	e := newEnv(t)
	e.setUp()
	for i := range 40 {
		a := e.clientFrom(fmt.Sprintf("127.0.1.%d", i+2))
		a.get("/login")
		resp, body := a.post("/login", url.Values{"user": {fmt.Sprintf("praxis%d", i)}, "password": {"falsch-geraten"}})
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("guess %d: status %d\n%s", i, resp.StatusCode, body)
		}
	}
	if w := e.srv.throttle.wait(attempt{account: "admin", addr: "127.0.2.1"}); w == 0 {
		t.Fatal("the guesses did not spend the global budget; the test proves nothing")
	}
	e.get("/login")
	resp, body := e.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}})
	wantRedirect(t, resp, "/")
	_ = body
}

// TestSetupCodeStagedByRoot: "praxisgate setup-code" runs as root at
// staging; what it makes in the service user's state directory (the web
// directory, the code) must belong to that user, or the daemon could not
// read its own code.
func TestSetupCodeStagedByRoot(t *testing.T) {
	testpeer.SkipShort(t, "root (chown)")
	if os.Geteuid() != 0 {
		t.Fatal("web: this test hands files to another user and needs root (make test runs it as root)")
	}
	state := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(state, 0o750); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 65534, 65534 // nobody, nogroup
	if err := os.Chown(state, uid, gid); err != nil {
		t.Fatal(err)
	}
	webDir := filepath.Join(state, "web")
	if _, err := PendingSetupCode(webDir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{webDir, filepath.Join(webDir, setupCodeFile)} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != uid || sys.Gid != gid {
			t.Errorf("%s belongs to %d:%d, want the state directory's %d:%d", p, sys.Uid, sys.Gid, uid, gid)
		}
	}
}
