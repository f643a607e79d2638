package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/config"
)

type fakeNotify struct {
	mu    sync.Mutex
	tests []string
	fail  error
	rec   []NotifyRecord
}

func (f *fakeNotify) NotifyModem() NotifyModem {
	return NotifyModem{Present: true, Responding: true, SIM: "READY", Registration: "home", SignalDBm: -71, HasSignal: true}
}

func (f *fakeNotify) NotifyRecent() []NotifyRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]NotifyRecord(nil), f.rec...)
}

func (f *fakeNotify) NotifyTest(_ context.Context, contact string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tests = append(f.tests, contact)
	if f.fail != nil {
		return f.fail
	}
	f.rec = append(f.rec, NotifyRecord{Time: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), Contact: contact, Channel: "sms", OK: true, Test: true})
	return nil
}

func notifyEnv(t *testing.T) (*env, *fakeNotify) {
	e := newEnv(t)
	f := &fakeNotify{}
	e.srv.notify = f
	d, rate, rep := 10*time.Minute, 7, false
	e.be.mu.Lock()
	e.be.cfg.Notify = &config.Notify{
		Contacts: []config.NotifyContact{{Name: "Praxis-Handy", Number: "+4915112345678"}, {Name: "Dr. Beispiel", Number: "+4917098765432"}},
		Chains: map[string]config.NotifyChain{
			"critical": {Contacts: []string{"Praxis-Handy", "Dr. Beispiel"}, Delay: &d, When: "uplink_down", Call: true},
			"minor":    {Contacts: []string{"Praxis-Handy"}, Delay: &d, Repeat: &rep, When: "always", Quiet: true},
		},
		SMSPerHour: &rate, QuietHours: "20:00-07:00",
	}
	e.be.mu.Unlock()
	e.login()
	return e, f
}

func TestNotifyPage(t *testing.T) {
	e, f := notifyEnv(t)
	for _, lang := range []string{"de", "en"} {
		if lang == "en" {
			resp, _ := e.post("/lang", url.Values{"lang": {"en"}, "back": {"/notify"}})
			wantRedirect(t, resp, "/notify")
		}
		resp, body := e.get("/notify")
		wantStatus(t, resp, http.StatusOK, body)
		want := []string{"Praxis-Handy → Dr. Beispiel", "4917098765432", "-71 dBm", "20:00-07:00", `href="/notify"`}
		if lang == "de" {
			want = append(want, "SMS-Alarm", "Höchstens 7 SMS pro Stunde.", "Noch keine Benachrichtigung.", "kritisch", "<td>bereit</td>", "<td>Heimnetz</td>")
		} else {
			want = append(want, "SMS alarms", "At most 7 SMS per hour.", "No notification yet.", "critical", "<td>ready</td>", "<td>home network</td>")
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q", lang, w)
			}
		}
		if strings.Index(body, "kritisch") > strings.Index(body, "niedrig") && lang == "de" {
			t.Error("chains not ordered by severity")
		}
	}
	resp, body := e.post("/notify/test", url.Values{"contact": {"Dr. Beispiel"}})
	wantRedirect(t, resp, "/notify")
	if len(f.tests) != 1 || f.tests[0] != "Dr. Beispiel" {
		t.Fatalf("tests %q", f.tests)
	}
	_, body = e.get("/notify")
	if !strings.Contains(body, "Test SMS sent.") || !strings.Contains(body, "(test)") {
		t.Errorf("after the test: flash or record missing")
	}
	f.fail = errors.New("modem absent")
	resp, body = e.post("/notify/test", url.Values{"contact": {""}})
	wantStatus(t, resp, http.StatusBadGateway, body)
	if !strings.Contains(body, "modem absent") {
		t.Error("failure not shown")
	}
	resp, body = e.post("/notify/test", url.Values{"contact": {"x"}, "csrf": {"wrong"}})
	if resp.StatusCode == http.StatusSeeOther || len(f.tests) != 2 {
		t.Errorf("test without a valid CSRF token ran: %d %q", resp.StatusCode, f.tests)
	}
	audit := e.srv.audit.entries()
	if len(audit) == 0 || audit[0].Action != "notify.test" {
		t.Errorf("test button not audited: %+v", audit)
	}
}

func TestNotifyPageHiddenWithoutNotifier(t *testing.T) {
	e := newEnv(t)
	e.login()
	resp, body := e.get("/notify")
	wantStatus(t, resp, http.StatusNotFound, body)
	_, body = e.get("/")
	if strings.Contains(body, `href="/notify"`) {
		t.Error("menu links to the notifier page without a notifier")
	}
}
