package web

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// pagesToCheck are every GET page with a text each must show, German and
// English.
var pagesToCheck = []struct {
	path   string
	de, en []string
}{
	{"/", []string{"Übersicht", "Verbindung zum Dienstleister", "verbunden", "Aktive Alarme", "Impfstoff-Kühlschrank: Temperatur 9,1 °C über dem Grenzwert 8 °C", "1.2.3-test"},
		[]string{"Overview", "Connection to the provider", "connected", "Active alarms", "Box health", "Impfstoff-Kühlschrank: temperature 9.1 °C above the limit of 8 °C"}},
	{"/devices", []string{"Geräte", "kuehlschrank", "usv", "Testabfrage", "timeout", "<td>Kühlschrank</td>", "<td>USV</td>", "vor 1 Min."}, []string{"Devices", "Test poll", "<td>fridge</td>", "1 min ago"}},
	{"/devices/found", []string{"Im Netz gefunden", "192.168.10.31", "Überwachen"}, []string{"Found on the network", "Monitor (SNMP)"}},
	{"/alarms", []string{"Sensoren &amp; Alarme", "Quittieren", "Schwellwerte", "kritisch", `value="8"`, `value="15m"`,
		"<td>Impfstoff-Kühlschrank</td><td>Temperatur 9,1 °C über dem Grenzwert 8 °C (seit "},
		[]string{"Sensors &amp; alarms", "Acknowledge", "Thresholds", "<td>temperature 9.1 °C above the limit of 8 °C (for "}},
	{"/settings", []string{"Einstellungen", `value="tcp://127.0.0.1:1883"`, "Verbindung testen", "CA-Zertifikat"},
		[]string{"Settings", "Test connection", "CA certificate"}},
	{"/update", []string{"Update", "Laufende Version", "ausgeschaltet"}, []string{"Running version", "Updates are off"}},
	{"/diagnostics", []string{"Diagnose", "Support-Paket", "gateway starting", "Änderungsprotokoll"},
		[]string{"Diagnostics", "support bundle", "Audit log"}},
}

func TestEveryPageRendersInBothLanguages(t *testing.T) {
	e := newEnv(t)
	e.login()
	for _, lang := range []string{"de", "en"} {
		if lang == "en" {
			resp, _ := e.post("/lang", url.Values{"lang": {"en"}, "back": {"/devices"}})
			wantRedirect(t, resp, "/devices")
		}
		for _, p := range pagesToCheck {
			resp, body := e.get(p.path)
			wantStatus(t, resp, http.StatusOK, body)
			want := p.de
			if lang == "en" {
				want = p.en
			}
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Errorf("%s %s: page lacks %q", lang, p.path, w)
				}
			}
			if !strings.Contains(body, `lang="`+lang+`"`) {
				t.Errorf("%s %s: html lang attribute missing", lang, p.path)
			}
			if !strings.Contains(body, e.srv.Fingerprint()) {
				t.Errorf("%s: fingerprint not shown", p.path)
			}
			checkSecurityHeaders(t, p.path, resp.Header)
		}
	}
	resp, body := e.get("/nope")
	wantStatus(t, resp, http.StatusNotFound, body)
}

func TestLanguageSwitchRefusesForeignTarget(t *testing.T) {
	e := newEnv(t)
	e.get("/setup")
	for _, back := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		resp, _ := e.post("/lang", url.Values{"lang": {"en"}, "back": {back}})
		wantRedirect(t, resp, "/")
	}
}

func checkSecurityHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, w := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, w) {
			t.Errorf("%s: CSP %q lacks %q", path, csp, w)
		}
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no nosniff", path)
	}
	if h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s: no X-Frame-Options", path)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	e.login()
	id := e.be.alarms[0].ID
	good := e.csrf
	tests := []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no token", url.Values{"id": {id}, "csrf": {""}}, nil},
		{"wrong token", url.Values{"id": {id}, "csrf": {"AAAAAAAAAAAAAAAAAAAAAAAAAA"}}, nil},
		{"cross-site fetch with a valid token", url.Values{"id": {id}, "csrf": {good}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"foreign origin with a valid token", url.Values{"id": {id}, "csrf": {good}}, []string{"Origin", "https://evil.example"}},
	}
	for _, tt := range tests {
		resp, body := e.post("/alarms/ack", tt.form, tt.header...)
		wantStatus(t, resp, http.StatusForbidden, body)
	}
	// nothing changes on GET
	resp, body := e.get("/alarms/ack?id=" + url.QueryEscape(id))
	if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /alarms/ack: status %d\n%s", resp.StatusCode, body)
	}
	if len(e.be.acks) != 0 {
		t.Fatalf("alarm acknowledged despite CSRF protection: %v", e.be.acks)
	}
	// the token of one session is worthless in another
	other := newEnv(t)
	other.login()
	resp, body = e.post("/alarms/ack", url.Values{"id": {id}, "csrf": {other.csrf}})
	wantStatus(t, resp, http.StatusForbidden, body)
	// same-origin with the right token works
	resp, _ = e.post("/alarms/ack", url.Values{"id": {id}, "csrf": {good}, "comment": {"geprüft"}}, "Sec-Fetch-Site", "same-origin")
	wantRedirect(t, resp, "/alarms")
}

func TestAckAlarmIsAuditedAndEmitted(t *testing.T) {
	e := newEnv(t)
	e.login()
	id := e.be.alarms[0].ID
	resp, _ := e.post("/alarms/ack", url.Values{"id": {id}, "comment": {"Tür war offen, Ware geprüft"}})
	wantRedirect(t, resp, "/alarms")
	_, body := e.get("/alarms")
	if !strings.Contains(body, "Alarm quittiert") || !strings.Contains(body, "quittiert von admin: „Tür war offen, Ware geprüft“") {
		t.Fatalf("ack not shown:\n%s", body)
	}
	if len(e.be.acks) != 1 || e.be.acks[0] != id+" by admin" {
		t.Fatalf("backend acks %v", e.be.acks)
	}
	var found bool
	for _, ev := range e.be.eventsCopy() {
		if ev.Type == "web.change" && ev.Attrs["action"] == "alarm.ack" && ev.Attrs["user"] == "admin" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit event emitted: %+v", e.be.eventsCopy())
	}
	data, err := os.ReadFile(e.srv.audit.path)
	if err != nil || !strings.Contains(string(data), `"action":"alarm.ack"`) {
		t.Fatalf("audit log: %v\n%s", err, data)
	}
	_, body = e.get("/diagnostics")
	if !strings.Contains(body, "alarm.ack") {
		t.Fatal("audit entry not on the diagnostics page")
	}
	// unknown alarm: a message, no crash
	resp, body = e.post("/alarms/ack", url.Values{"id": {"nope"}})
	wantStatus(t, resp, http.StatusConflict, body)
}

func TestTestPoll(t *testing.T) {
	e := newEnv(t)
	e.login()
	resp, body := e.post("/devices/poll", url.Values{"device": {"kuehlschrank"}})
	wantStatus(t, resp, http.StatusOK, body)
	if !strings.Contains(body, "Ergebnis der Testabfrage") || !strings.Contains(body, "5,25 °C") {
		t.Fatalf("poll result not shown:\n%s", body)
	}
	_, body = e.post("/devices/poll", url.Values{"device": {"usv"}})
	if !strings.Contains(body, "Abfrage fehlgeschlagen") || !strings.Contains(body, "/dev/ttyUSB0") {
		t.Fatal("poll error not shown")
	}
	resp, body = e.post("/devices/poll", url.Values{"device": {"../../etc"}})
	wantStatus(t, resp, http.StatusNotFound, body)
	if len(e.be.polls) != 2 {
		t.Fatalf("polls %v", e.be.polls)
	}
}

func TestOversizedFormRefused(t *testing.T) {
	e := newEnv(t)
	e.login()
	resp, body := e.post("/settings", url.Values{"site": {strings.Repeat("x", maxFormBytes+1)}})
	wantStatus(t, resp, http.StatusBadRequest, body)
	if !strings.Contains(body, "nicht lesbar") {
		t.Fatalf("no message:\n%s", body)
	}
	if data, _ := os.ReadFile(e.cfgPath); string(data) != testConfig {
		t.Fatal("oversized form changed the config")
	}
}

func TestInvalidUTF8Refused(t *testing.T) {
	e := newEnv(t)
	e.login()
	resp, body := e.post("/settings", url.Values{"site": {"praxis-\xff"}, "gateway": {"gw-01"}, "broker": {"tcp://127.0.0.1:1883"}})
	wantStatus(t, resp, http.StatusBadRequest, body)
	if data, _ := os.ReadFile(e.cfgPath); string(data) != testConfig {
		t.Fatal("invalid UTF-8 reached the config")
	}
}
