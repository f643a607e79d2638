package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func (b *fakeBackend) UpdateStatus() UpdateInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.update
}

var errUpdatesOff = errors.New("self-update is off on this box")

// UpdateCheck finds 1.3.0; UpdateInstall installs it unless the window
// is closed and not forced.
func (b *fakeBackend) UpdateCheck(context.Context) (UpdateInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.updateCalls = append(b.updateCalls, "check")
	if !b.update.On {
		return b.update, errUpdatesOff
	}
	b.update.State, b.update.From, b.update.To, b.update.Reason = "available", b.update.Version, "1.3.0", ""
	return b.update, nil
}

func (b *fakeBackend) UpdateInstall(_ context.Context, force bool) (UpdateInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.updateCalls = append(b.updateCalls, fmt.Sprintf("install force=%v", force))
	if !b.update.On {
		return b.update, errUpdatesOff
	}
	b.update.From, b.update.To = b.update.Version, "1.3.0"
	if force {
		b.update.State, b.update.Reason = "installed", ""
	} else {
		b.update.State, b.update.Reason = "deferred", "outside the maintenance window Mon-Sun 22:00-05:00"
	}
	return b.update, nil
}

func (b *fakeBackend) updateCallsCopy() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.updateCalls...)
}

func updatesOn(e *env) {
	e.be.mu.Lock()
	e.be.update = UpdateInfo{On: true, Version: "1.2.3-test", Channel: "stable", Window: "Mon-Sun 22:00-05:00",
		State: "up_to_date", From: "1.2.3-test", At: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)}
	e.be.mu.Unlock()
}

func TestUpdatePage(t *testing.T) {
	e := newEnv(t)
	updatesOn(e)
	e.login()

	resp, body := e.get("/update")
	wantStatus(t, resp, http.StatusOK, body)
	for _, w := range []string{"Laufende Version", "1.2.3-test", "stable", "Mon-Sun 22:00-05:00", "aktuell", "Jetzt prüfen", "Jetzt installieren", "trotz Wartungsfenster", `href="/update" class="on"`} {
		if !strings.Contains(body, w) {
			t.Errorf("update page lacks %q", w)
		}
	}
	checkSecurityHeaders(t, "/update", resp.Header)

	resp, body = e.post("/update/check", nil)
	wantStatus(t, resp, http.StatusOK, body)
	if !strings.Contains(body, "neue Version verfügbar") || !strings.Contains(body, "1.3.0") {
		t.Fatalf("check result not shown:\n%s", body)
	}

	resp, body = e.post("/update/install", nil)
	wantStatus(t, resp, http.StatusOK, body)
	if !strings.Contains(body, "verschoben") || !strings.Contains(body, "outside the maintenance window") {
		t.Fatalf("deferred install not shown:\n%s", body)
	}
	resp, body = e.post("/update/install", url.Values{"force": {"1"}})
	wantStatus(t, resp, http.StatusOK, body)
	if !strings.Contains(body, "installiert, Neustart folgt") {
		t.Fatalf("forced install not shown:\n%s", body)
	}
	want := []string{"check", "install force=false", "install force=true"}
	if got := e.be.updateCallsCopy(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("backend calls %v, want %v", got, want)
	}

	// Each button press is in the audit log and went to the provider.
	_, diag := e.get("/diagnostics")
	for _, w := range []string{"update.check available 1.3.0", "update.install deferred 1.3.0", "update.install forced, installed 1.3.0"} {
		if !strings.Contains(diag, w) {
			t.Errorf("audit log lacks %q", w)
		}
	}
	actions := map[string]int{}
	for _, ev := range e.be.eventsCopy() {
		if ev.Type == "web.change" {
			actions[fmt.Sprint(ev.Attrs["action"])]++
		}
	}
	if actions["update.check"] != 1 || actions["update.install"] != 2 {
		t.Fatalf("audit events %v", actions)
	}

	// English.
	e.post("/lang", url.Values{"lang": {"en"}, "back": {"/update"}})
	_, body = e.get("/update")
	for _, w := range []string{"Running version", "Check now", "Install now", "ignore maintenance window", "installed, restart follows"} {
		if !strings.Contains(body, w) {
			t.Errorf("English update page lacks %q", w)
		}
	}
}

// A box without updates says so and offers no buttons; a POST anyway
// (an old form) shows the reason rather than pretending.
func TestUpdatePageOff(t *testing.T) {
	e := newEnv(t)
	e.be.update = UpdateInfo{Version: "1.2.3-test", Reason: "self-update is off on this box (no usable update: section in the config)"}
	e.login()
	resp, body := e.get("/update")
	wantStatus(t, resp, http.StatusOK, body)
	if !strings.Contains(body, "Updates sind auf dieser Box ausgeschaltet") || strings.Contains(body, `id="upd-install"`) || !strings.Contains(body, "1.2.3-test") {
		t.Fatalf("page of a box without updates:\n%s", body)
	}
	resp, body = e.post("/update/install", url.Values{"force": {"1"}})
	wantStatus(t, resp, http.StatusOK, body)
	if !strings.Contains(body, "ausgeschaltet") {
		t.Fatalf("install on a box without updates:\n%s", body)
	}
}

// The buttons are refused without the form's token and from another
// origin, and need a login.
func TestUpdateCSRFAndLogin(t *testing.T) {
	e := newEnv(t)
	updatesOn(e)
	resp, _ := e.get("/update")
	wantRedirect(t, resp, "/setup")
	e.login()
	for _, path := range []string{"/update/check", "/update/install"} {
		resp, body := e.post(path, url.Values{"csrf": {"wrong"}})
		wantStatus(t, resp, http.StatusForbidden, body)
		resp, body = e.post(path, nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		wantStatus(t, resp, http.StatusForbidden, body)
	}
	if calls := e.be.updateCallsCopy(); len(calls) != 0 {
		t.Fatalf("refused requests reached the backend: %v", calls)
	}
	// GET never installs.
	resp, _ = e.get("/update/install")
	if resp.StatusCode == http.StatusOK {
		t.Fatal("GET /update/install answered 200")
	}
	if calls := e.be.updateCallsCopy(); len(calls) != 0 {
		t.Fatalf("GET reached the backend: %v", calls)
	}
}

// The history table lists every recorded step newest first, in German by
// default and in English on request, with versions and reasons escaped;
// a box without recorded steps says so.
func TestUpdatePageHistory(t *testing.T) {
	e := newEnv(t)
	updatesOn(e)
	e.login()
	_, body := e.get("/update")
	if !strings.Contains(body, "Verlauf") || !strings.Contains(body, `id="upd-history-empty"`) || strings.Contains(body, `class="upd-step`) {
		t.Fatalf("page without history:\n%s", body)
	}

	at := func(m int) time.Time { return time.Date(2026, 11, 20, 21, m, 0, 0, time.UTC) }
	e.be.mu.Lock()
	e.be.update.History = []UpdateStep{
		{At: at(0), State: "installed", From: "1.2.3", To: "1.3.0", Reason: "restarting into the new version"},
		{At: at(1), State: "trial", From: "1.2.3", To: "1.3.0"},
		{At: at(5), State: "rolled_back", From: "1.3.0", To: "1.2.3", Reason: "1.3.0 started 3 times <b>without</b> becoming healthy"},
		{At: at(9), State: "some_future_state", From: "1.2.3"},
	}
	e.be.mu.Unlock()
	resp, body := e.get("/update")
	wantStatus(t, resp, http.StatusOK, body)
	if strings.Contains(body, `id="upd-history-empty"`) {
		t.Fatal("history shown as empty")
	}
	rows := strings.Split(body, `<tr class="upd-step`)[1:]
	if len(rows) != 4 {
		t.Fatalf("%d history rows, want 4:\n%s", len(rows), body)
	}
	wantRows := [][]string{
		{"some_future_state", "1.2.3"},
		{"zurückgerollt", "1.3.0", "1.2.3", "started 3 times &lt;b&gt;without&lt;/b&gt; becoming healthy", fmtWhen(at(5))},
		{"neue Version in Erprobung", "1.3.0"},
		{"installiert, Neustart folgt", "1.2.3", "1.3.0", "Neustart in die neue Version", fmtWhen(at(0))},
	}
	for i, want := range wantRows {
		for _, w := range want {
			if !strings.Contains(rows[i], w) {
				t.Errorf("history row %d lacks %q: %s", i, w, rows[i])
			}
		}
	}
	if strings.Contains(body, "<b>without</b>") {
		t.Fatal("reason not escaped")
	}
	for _, w := range []string{"Zeit", "Schritt", "von Version", "zu Version"} {
		if !strings.Contains(body, "<th>"+w+"</th>") {
			t.Errorf("German table lacks header %q", w)
		}
	}

	e.post("/lang", url.Values{"lang": {"en"}, "back": {"/update"}})
	_, body = e.get("/update")
	for _, w := range []string{"History", "<th>Time</th>", "<th>Step</th>", "<th>from version</th>", "<th>to version</th>", ">rolled back<", ">new version on trial<"} {
		if !strings.Contains(body, w) {
			t.Errorf("English history lacks %q", w)
		}
	}

	// After a button press the page shows the history too.
	_, body = e.post("/update/check", nil)
	if !strings.Contains(body, "started 3 times") {
		t.Fatal("history missing after a check")
	}
}
