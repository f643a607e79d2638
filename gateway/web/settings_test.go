package web

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/gateway/config"
)

func ruleForm0(above, below, forDur, hyst, sev string) url.Values {
	return url.Values{"rule": {"0"}, "above": {above}, "below": {below}, "for": {forDur}, "hysteresis": {hyst}, "severity": {sev}}
}

func TestChangeThreshold(t *testing.T) {
	e := newEnv(t)
	e.login()
	resp, body := e.post("/alarms/rule", ruleForm0("9,5", "2", "20m", "0.5", "major"))
	wantRedirect(t, resp, "/alarms")
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatalf("saved config does not load: %v", err)
	}
	r := cfg.Alarms[0]
	if *r.Above != 9.5 || *r.Below != 2 || r.For.String() != "20m0s" || r.Hysteresis != 0.5 || r.Severity != "major" {
		t.Fatalf("saved rule %+v", r)
	}
	data, _ := os.ReadFile(e.cfgPath)
	if !strings.Contains(string(data), "# vaccines: 2–8 °C") || !strings.Contains(string(data), "# praxisgate test config") {
		t.Fatalf("comments lost:\n%s", data)
	}
	old, err := os.ReadFile(e.cfgPath + ".bak")
	if err != nil || string(old) != testConfig {
		t.Fatalf("old copy not kept: %v", err)
	}
	st, _ := os.Stat(e.cfgPath)
	if st.Mode().Perm() != 0o640 {
		t.Fatalf("file mode changed to %v", st.Mode().Perm())
	}
	_, body = e.get("/alarms")
	if !strings.Contains(body, `value="9,5"`) || !strings.Contains(body, "Gespeichert") {
		t.Fatalf("page does not show the saved threshold:\n%s", body)
	}
	// an empty field removes the key
	resp, _ = e.post("/alarms/rule", ruleForm0("9.5", "", "", "", "major"))
	wantRedirect(t, resp, "/alarms")
	cfg, _ = config.Load(e.cfgPath)
	if cfg.Alarms[0].Below != nil || cfg.Alarms[0].For != 0 {
		t.Fatalf("below/for not removed: %+v", cfg.Alarms[0])
	}
}

func TestChangeThresholdRejected(t *testing.T) {
	tests := []struct {
		name  string
		form  url.Values
		field string // text that must appear
	}{
		{"not a number", ruleForm0("warm", "2", "15m", "", "critical"), "keine Zahl"},
		{"not a duration", ruleForm0("8", "2", "eine Weile", "", "critical"), "keine Dauer"},
		{"above below below", ruleForm0("1", "2", "15m", "", "critical"), "muss größer sein als der Wert bei „unter“"},
		{"neither bound", ruleForm0("", "", "15m", "", "critical"), "mindestens „über“ oder „unter“ angeben"},
		{"negative hysteresis", ruleForm0("8", "2", "15m", "-0,5", "critical"), "darf nicht negativ sein"},
		{"bad severity", ruleForm0("8", "2", "15m", "", "sehr schlimm"), "kritisch, hoch oder niedrig wählen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.login()
			resp, body := e.post("/alarms/rule", tt.form)
			wantStatus(t, resp, http.StatusUnprocessableEntity, body)
			if !strings.Contains(body, tt.field) {
				t.Fatalf("page lacks %q:\n%s", tt.field, body)
			}
			if !strings.Contains(body, `class="ferr"`) {
				t.Fatal("message not at a field")
			}
			data, _ := os.ReadFile(e.cfgPath)
			if string(data) != testConfig {
				t.Fatal("rejected edit changed the file")
			}
		})
	}
	e := newEnv(t)
	e.login()
	resp, body := e.post("/alarms/rule", url.Values{"rule": {"7"}})
	wantStatus(t, resp, http.StatusBadRequest, body)
}

func TestSettingsSave(t *testing.T) {
	e := newEnv(t)
	e.login()
	form := url.Values{"site": {"praxis-neu"}, "gateway": {"gw-02"}, "broker": {"tcp://127.0.0.1:1884"},
		"username": {"gw-02"}, "password": {"mqtt-geheim-123"}, "interval": {"1m"}}
	resp, body := e.post("/settings", form)
	wantRedirect(t, resp, "/settings")
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site != "praxis-neu" || cfg.Gateway != "gw-02" || cfg.Uplink.Broker != "tcp://127.0.0.1:1884" ||
		cfg.Uplink.Username != "gw-02" || cfg.Uplink.Password.Reveal() != "mqtt-geheim-123" || cfg.Defaults.Interval.String() != "1m0s" {
		t.Fatalf("saved %+v", cfg)
	}
	data, _ := os.ReadFile(e.cfgPath)
	if strings.Contains(string(data), "mqtt-geheim-123") {
		t.Fatal("password written into the config file")
	}
	st, err := os.Stat(filepath.Join(e.srv.dir, "secrets", "mqtt-password"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", err, st)
	}
	// the audit trail records the change without the password
	audit, _ := os.ReadFile(e.srv.audit.path)
	if !strings.Contains(string(audit), "config.settings") || strings.Contains(string(audit), "mqtt-geheim") {
		t.Fatalf("audit log:\n%s", audit)
	}
	_, body = e.get("/settings")
	if !strings.Contains(body, `value="praxis-neu"`) {
		t.Fatal("settings page does not show the saved site")
	}

	// field-level messages from the config loader
	bad := url.Values{"site": {"Praxis Müller"}, "gateway": {"gw-02"}, "broker": {"ftp://example"}, "interval": {"30s"}}
	resp, body = e.post("/settings", bad)
	wantStatus(t, resp, http.StatusUnprocessableEntity, body)
	for _, w := range []string{`id="broker-error"`, "unbekanntes Schema", "nur Kleinbuchstaben", `value="Praxis Müller"`} {
		if !strings.Contains(body, w) {
			t.Errorf("rejected settings page lacks %q", w)
		}
	}
	after, _ := os.ReadFile(e.cfgPath)
	if !bytes.Equal(after, data) {
		t.Fatal("rejected settings changed the file")
	}
}

func TestSupportBundleHasNoSecrets(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.post("/settings", url.Values{"site": {"praxis-test"}, "gateway": {"gw-01"}, "broker": {"tcp://127.0.0.1:1883"},
		"username": {"gw"}, "password": {"mqtt-geheim-123"}})
	// an inline secret somewhere else in the file, as a technician may write
	data, _ := os.ReadFile(e.cfgPath)
	data = bytes.Replace(data, []byte("  - id: usv\n"), []byte("  - id: usv\n    # community: public\n"), 1)
	os.WriteFile(e.cfgPath, append(data, []byte("x-note: {community: \"privat-snmp\", auth_passphrase: \"pp-geheim\"}\n")...), 0o640)
	resp, body := e.get("/diagnostics/bundle")
	wantStatus(t, resp, http.StatusOK, "")
	if resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		names[f.Name] = string(b)
		for _, secret := range []string{"mqtt-geheim-123", "privat-snmp", "pp-geheim", testPassword} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s contains the secret %q", f.Name, secret)
			}
		}
	}
	for _, want := range []string{"status.json", "devices.json", "alarms.json", "log.txt", "praxisgate.yaml", "audit.json"} {
		if _, ok := names[want]; !ok {
			t.Errorf("bundle lacks %s (has %v)", want, names)
		}
	}
	if !strings.Contains(names["praxisgate.yaml"], "password_file:") || !strings.Contains(names["praxisgate.yaml"], redacted) {
		t.Errorf("config in bundle:\n%s", names["praxisgate.yaml"])
	}
}
