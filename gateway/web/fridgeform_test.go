package web

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/gateway/config"
)

func TestFridgeProfileForm(t *testing.T) {
	e := newEnv(t)
	e.login()
	_, body := e.get("/alarms")
	if !strings.Contains(body, `id="fridge-profile"`) || !strings.Contains(body, `placeholder="8"`) || !strings.Contains(body, `placeholder="15m"`) {
		t.Fatalf("alarms page lacks the fridge profile with its defaults:\n%s", body)
	}
	form := url.Values{"above": {"7,5"}, "below": {"2.5"}, "for": {"10m"}, "hysteresis": {"0.3"}, "severity": {"major"}}
	resp, body := e.post("/alarms/fridge", form)
	wantRedirect(t, resp, "/alarms")
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	fp := cfg.Fridge
	if *fp.High != 7.5 || *fp.Low != 2.5 || (*fp.Delay).String() != "10m0s" || *fp.Hysteresis != 0.3 || fp.Severity != "major" {
		t.Fatalf("saved profile %+v", fp)
	}
	_, body = e.get("/alarms")
	for _, w := range []string{"Gespeichert und sofort aktiv.", `name="above" value="7,5"`, `name="for" value="10m"`, `<option value="major" selected>`} {
		if !strings.Contains(body, w) {
			t.Errorf("alarms page after the save lacks %q", w)
		}
	}
	if f := e.be.Config().Fridge; f.High == nil || *f.High != 7.5 {
		t.Fatalf("backend not given the new profile: %+v", f)
	}
	audit, _ := os.ReadFile(e.srv.audit.path)
	if !strings.Contains(string(audit), "config.fridge") {
		t.Fatal("profile edit not audited")
	}

	// Empty fields go back to the defaults.
	resp, _ = e.post("/alarms/fridge", url.Values{"above": {""}, "below": {""}, "for": {""}, "hysteresis": {""}, "severity": {""}})
	wantRedirect(t, resp, "/alarms")
	if data, _ := os.ReadFile(e.cfgPath); strings.Contains(string(data), "high:") || strings.Contains(string(data), "delay:") {
		t.Fatalf("defaults not restored:\n%s", data)
	}

	before, _ := os.ReadFile(e.cfgPath)
	for _, tt := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"above": {"2"}, "below": {"8"}}, "muss größer sein als der Wert bei „unter“"},
		{url.Values{"above": {"warm"}}, "keine Zahl"},
		{url.Values{"for": {"lange"}}, "keine Dauer"},
		{url.Values{"hysteresis": {"-1"}}, "darf nicht negativ sein"},
		{url.Values{"severity": {"info"}}, "kritisch, hoch oder niedrig wählen"},
	} {
		resp, body := e.post("/alarms/fridge", tt.form)
		wantStatus(t, resp, http.StatusUnprocessableEntity, body)
		if !strings.Contains(body, tt.want) || !strings.Contains(body, `class="ferr"`) {
			t.Errorf("%v: page lacks %q at a field", tt.form, tt.want)
		}
	}
	// A low limit above the default high is refused too.
	resp, body = e.post("/alarms/fridge", url.Values{"below": {"9"}})
	wantStatus(t, resp, http.StatusUnprocessableEntity, body)
	if !strings.Contains(body, "muss kleiner sein als die Obergrenze (8)") {
		t.Errorf("low above the default high: page lacks the message:\n%s", body)
	}
	if after, _ := os.ReadFile(e.cfgPath); string(after) != string(before) {
		t.Fatal("a refused profile changed the file")
	}
}

// A door delay of 0s saved on the page is kept as 0s: the file holds it,
// the daemon's profile raises at once, and the form shows it again rather
// than the 15m default.
func TestFridgeZeroDelayKept(t *testing.T) {
	e := newEnv(t)
	e.login()
	resp, _ := e.post("/alarms/fridge", url.Values{"for": {"0s"}})
	wantRedirect(t, resp, "/alarms")
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.Fridge.Effective().Delay; *d != 0 {
		t.Fatalf("saved delay 0s loads as %s", *d)
	}
	if d := e.be.Config().Fridge.Effective().Delay; *d != 0 {
		t.Fatalf("backend given delay %s", *d)
	}
	_, body := e.get("/alarms")
	if !strings.Contains(body, `name="for" value="0s"`) {
		t.Fatalf("the form does not show the saved 0s")
	}
}
