package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// After a save the page says exactly what is in effect: a threshold at
// once, a new broker only after the restart; and the backend got the
// config the loader made of the saved file.
func TestSaveSaysWhatIsLive(t *testing.T) {
	for _, lang := range []string{langDE, langEN} {
		t.Run(lang, func(t *testing.T) {
			e := newEnv(t)
			e.login()
			if lang == langEN {
				e.post("/lang", url.Values{"lang": {"en"}, "back": {"/"}})
			}
			want := map[string][2]string{
				"threshold": {"Gespeichert und sofort aktiv.", "Saved and in effect now."},
				"broker": {"Gespeichert. Gilt nach Neustart des Dienstes: Verbindung zum Dienstleister.",
					"Saved. Takes effect when the service restarts: connection to the provider."},
				"both": {"Gespeichert. Gilt nach Neustart des Dienstes: Verbindung zum Dienstleister. Sofort aktiv: Schwellwerte.",
					"Saved. Takes effect when the service restarts: connection to the provider. In effect now: thresholds."},
			}
			i := 0
			if lang == langEN {
				i = 1
			}
			flash := func(page string) string {
				_, body := e.get(page)
				start := strings.Index(body, `id="flash">`)
				if start < 0 {
					t.Fatalf("%s shows no flash:\n%s", page, body)
				}
				rest := body[start+len(`id="flash">`):]
				return rest[:strings.Index(rest, "</p>")]
			}

			resp, body := e.post("/alarms/rule", ruleForm0("9,5", "2", "20m", "0.5", "major"))
			wantRedirect(t, resp, "/alarms")
			if got := flash("/alarms"); got != want["threshold"][i] {
				t.Fatalf("after a threshold edit: %q, want %q", got, want["threshold"][i])
			}
			if a := e.be.Config().Alarms[0]; *a.Above != 9.5 {
				t.Fatalf("backend runs with above %v after apply", *a.Above)
			}

			resp, body = e.post("/settings", url.Values{"site": {"praxis-test"}, "gateway": {"gw-01"}, "broker": {"tcp://127.0.0.1:1884"}, "interval": {"30s"}})
			wantRedirect(t, resp, "/settings")
			if got := flash("/settings"); got != want["broker"][i] {
				t.Fatalf("after a broker edit: %q, want %q\n%s", got, want["broker"][i], body)
			}
			// The broker still waits for the restart when a later edit
			// is live.
			e.post("/alarms/rule", ruleForm0("9", "2", "20m", "0.5", "major"))
			if got := flash("/alarms"); got != want["both"][i] {
				t.Fatalf("after both: %q, want %q", got, want["both"][i])
			}
			e.be.mu.Lock()
			n := len(e.be.applied)
			last := e.be.applied[n-1]
			e.be.mu.Unlock()
			if n != 3 || last.Path != e.cfgPath || *last.Alarms[0].Above != 9 || last.Uplink.Broker != "tcp://127.0.0.1:1884" {
				t.Fatalf("Apply got %d configs, the last %+v", n, last)
			}
		})
	}
}

// A value the form accepts but the loader refuses: the loader's message
// stands under a localized heading, the field points there.
func TestLoaderRefusalUnderHeading(t *testing.T) {
	e := newEnv(t)
	e.login()
	resp, body := e.post("/settings", url.Values{"site": {"praxis-test"}, "gateway": {"gw-01"}, "broker": {"tcp://127.0.0.1:1883/pfad"}, "interval": {"30s"}})
	wantStatus(t, resp, http.StatusUnprocessableEntity, body)
	for _, w := range []string{
		`<p class="error" id="error">Die Konfiguration wurde nicht übernommen:</p>`,
		`<li>uplink.broker: a path is only allowed for ws:// and wss://`,
		`<span class="ferr" id="broker-error">nicht übernommen, siehe Meldung oben</span>`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if strings.Contains(body, `id="broker-error">a path`) {
		t.Error("English loader message beside the German label")
	}
	e.be.mu.Lock()
	defer e.be.mu.Unlock()
	if len(e.be.applied) != 0 {
		t.Fatal("a refused config was applied")
	}
}

// The form's own checks answer in the page's language.
func TestFieldMessagesInEnglish(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.post("/lang", url.Values{"lang": {"en"}, "back": {"/"}})
	resp, body := e.post("/settings", url.Values{"site": {""}, "gateway": {"GW 1"}, "broker": {"ftp://x"}, "interval": {"bald"}})
	wantStatus(t, resp, http.StatusUnprocessableEntity, body)
	for _, w := range []string{"required", "only lower-case a–z", "unknown scheme; allowed are mqtt", "not a duration"} {
		if !strings.Contains(body, w) {
			t.Errorf("English settings page lacks %q", w)
		}
	}
	resp, body = e.post("/alarms/rule", ruleForm0("2", "8", "15m", "-1", "critical"))
	wantStatus(t, resp, http.StatusUnprocessableEntity, body)
	for _, w := range []string{"must be greater than the value under “below”", "must not be negative"} {
		if !strings.Contains(body, w) {
			t.Errorf("English alarms page lacks %q", w)
		}
	}
}

func TestCheckBroker(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"mqtts://mqtt.example.com:8883", ""},
		{"tls://10.0.0.1", ""},
		{"WSS://broker/mqtt", ""},
		{"", "err.required"},
		{"mqtt.example.com:8883", "err.url"},
		{"mqtt.example.com", "err.url"},
		{"ftp://example", "err.scheme"},
		{"tls://user:pw@host", "err.url_user"},
		{"tls://:8883", "err.url_host"},
		{"tls://host:0", "err.port"},
		{"tls://host:http", "err.url"},
		{"%zz", "err.url"},
	} {
		if got := checkBroker(tt.url); got != tt.want {
			t.Errorf("checkBroker(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// Every section Apply may name has a label in both languages.
func TestSectionLabels(t *testing.T) {
	secs := Sections()
	if !slices.Contains(secs, "uplink") || !slices.Contains(secs, "alarms") || !slices.Contains(secs, SectionColdChain) || slices.Contains(secs, "-") {
		t.Fatalf("sections %v", secs)
	}
	for _, s := range secs {
		if _, ok := catalog["sec."+s]; !ok {
			t.Errorf("no label sec.%s", s)
		}
	}
}
