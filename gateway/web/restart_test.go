package web

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRestartButton(t *testing.T) {
	e := newEnv(t)
	e.login()
	// Without a way to restart, no button and no route.
	if _, body := e.get("/settings"); strings.Contains(body, `id="restart"`) {
		t.Fatal("restart button shown although the daemon cannot restart")
	}
	resp, body := e.post("/settings/restart", nil)
	wantStatus(t, resp, http.StatusNotFound, body)

	reasons := make(chan string, 4)
	e.srv.restart = func(reason string) { reasons <- reason }
	e.srv.restartDelay = 0
	_, body = e.get("/settings")
	if !strings.Contains(body, `action="/settings/restart"`) || !strings.Contains(body, "Dienst neu starten") {
		t.Fatalf("settings page lacks the restart button:\n%s", body)
	}
	// Nothing changes state on GET, nor without the CSRF token, nor from
	// another origin.
	resp, body = e.get("/settings/restart")
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted {
		t.Fatalf("GET /settings/restart: %d", resp.StatusCode)
	}
	resp, body = e.post("/settings/restart", url.Values{"csrf": {"falsch"}})
	wantStatus(t, resp, http.StatusForbidden, body)
	resp, body = e.post("/settings/restart", nil, "Sec-Fetch-Site", "cross-site")
	wantStatus(t, resp, http.StatusForbidden, body)
	select {
	case r := <-reasons:
		t.Fatalf("restarted by a refused request (%s)", r)
	case <-time.After(100 * time.Millisecond):
	}

	e.get("/settings")
	resp, body = e.post("/settings/restart", nil)
	wantStatus(t, resp, http.StatusAccepted, body)
	if !strings.Contains(body, "Der Dienst wird neu gestartet") {
		t.Fatalf("restart page:\n%s", body)
	}
	select {
	case r := <-reasons:
		if r != "web page: admin" {
			t.Fatalf("restart reason %q", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Restart not called")
	}
	audit, _ := os.ReadFile(e.srv.audit.path)
	if !strings.Contains(string(audit), `"service.restart"`) {
		t.Fatalf("restart not audited:\n%s", audit)
	}
	found := false
	for _, ev := range e.be.eventsCopy() {
		if ev.Attrs["action"] == "service.restart" && ev.Attrs["user"] == "admin" {
			found = true
		}
	}
	if !found {
		t.Fatal("restart not sent to the provider as web.change")
	}
}
