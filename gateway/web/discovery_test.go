package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestDiscoveryButton(t *testing.T) {
	e := newEnv(t)
	e.login()
	resp, body := e.get("/diagnostics")
	wantStatus(t, resp, http.StatusOK, body)
	if !strings.Contains(body, "Netz jetzt durchsuchen") || strings.Contains(body, `id="discovery-result"`) {
		t.Fatalf("diagnostics before the sweep:\n%s", body)
	}
	resp, body = e.post("/diagnostics/discover", nil)
	wantStatus(t, resp, http.StatusOK, body)
	for _, w := range []string{`id="discovery-result"`, "<td>netz</td><td>23</td><td>2</td><td>5</td><td>1</td>", "Geräte im Netz", `href="/devices/found"`} {
		if !strings.Contains(body, w) {
			t.Errorf("sweep result lacks %q:\n%s", w, body)
		}
	}
	e.be.mu.Lock()
	polls := strings.Join(e.be.polls, ",")
	e.be.mu.Unlock()
	if polls != "netz" {
		t.Fatalf("polled %q, want only the discovery device netz", polls)
	}
	if !strings.Contains(body, "discovery.run netz: 23 hosts, 2 new, 5 unknown") {
		t.Errorf("audit log on the page lacks the sweep:\n%s", body)
	}
	n := 0
	for _, ev := range e.be.eventsCopy() {
		if ev.Type == "web.change" && fmt.Sprint(ev.Attrs["action"]) == "discovery.run" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d discovery.run audit events, want 1", n)
	}

	e.post("/lang", url.Values{"lang": {"en"}, "back": {"/diagnostics"}})
	_, body = e.post("/diagnostics/discover", nil)
	if !strings.Contains(body, "Hosts found") || !strings.Contains(body, "Search the network now") {
		t.Fatalf("English sweep result:\n%s", body)
	}
}

// Without a discovery device the button says what to configure, and no
// device is polled.
func TestDiscoveryButtonWithoutDiscovery(t *testing.T) {
	e := newEnv(t)
	cfg := *e.be.cfg
	cfg.Devices = nil
	for _, d := range e.be.cfg.Devices {
		if d.Driver != "discover" {
			cfg.Devices = append(cfg.Devices, d)
		}
	}
	e.be.cfg = &cfg
	e.login()
	resp, body := e.post("/diagnostics/discover", nil)
	wantStatus(t, resp, http.StatusOK, body)
	if !strings.Contains(body, "Keine Netzwerkerkennung eingerichtet") || strings.Contains(body, `id="discovery-result"`) {
		t.Fatalf("sweep without discovery device:\n%s", body)
	}
	if len(e.be.polls) != 0 {
		t.Fatalf("polled %v", e.be.polls)
	}
}

func TestDiscoveryButtonCSRF(t *testing.T) {
	e := newEnv(t)
	e.login()
	resp, body := e.post("/diagnostics/discover", url.Values{"csrf": {"stale"}})
	wantStatus(t, resp, http.StatusForbidden, body)
	resp, body = e.post("/diagnostics/discover", nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	wantStatus(t, resp, http.StatusForbidden, body)
	resp, _ = e.get("/diagnostics/discover")
	if resp.StatusCode == http.StatusOK {
		t.Fatal("GET /diagnostics/discover answered 200")
	}
	if len(e.be.polls) != 0 {
		t.Fatalf("refused requests polled %v", e.be.polls)
	}
}
