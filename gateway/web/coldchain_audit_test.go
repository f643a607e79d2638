package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
)

// The daily check form writes into the real recorder's files; bad input
// gets a message and records nothing.
func TestDailyCheckForm(t *testing.T) {
	tests := []struct {
		name         string
		form         url.Values
		status       int
		want         string
		wantRecorded bool
	}{
		{name: "no name", form: url.Values{"device": {"kuehlschrank"}, "user": {"  "}}, status: http.StatusUnprocessableEntity,
			want: "Bitte Name oder Kürzel eintragen."},
		{name: "name too long", form: url.Values{"device": {"kuehlschrank"}, "user": {strings.Repeat("x", 65)}}, status: http.StatusUnprocessableEntity,
			want: "höchstens 64 Zeichen"},
		{name: "control character", form: url.Values{"device": {"kuehlschrank"}, "user": {"M\x07W"}}, status: http.StatusUnprocessableEntity,
			want: "unzulässige Zeichen"},
		{name: "comment too long", form: url.Values{"device": {"kuehlschrank"}, "user": {"MW"}, "comment": {strings.Repeat("ä", 501)}},
			status: http.StatusUnprocessableEntity, want: "höchstens 500 Zeichen"},
		{name: "unknown fridge", form: url.Values{"device": {"usv"}, "user": {"MW"}}, status: http.StatusNotFound},
		{name: "name only", form: url.Values{"device": {"kuehlschrank"}, "user": {"MW"}}, status: http.StatusSeeOther, wantRecorded: true},
		{name: "name and comment", form: url.Values{"device": {"kuehlschrank"}, "user": {"Dr. Anna Weber"}, "comment": {"Thermometer abgelesen,\nalles in Ordnung"}},
			status: http.StatusSeeOther, wantRecorded: true},
	}
	// Refused input changes nothing, so those cases share one page.
	shared := newEnv(t)
	shared.login()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := shared
			if tt.wantRecorded {
				e = newEnv(t)
				e.login()
			}
			_, before := e.get("/alarms")
			for _, s := range []string{"Protokoll geprüft: intakt (2 Tage)", "noch nicht bestätigt (fällig bis 09:00)",
				"Korrektur -0,3 °C", "nächste Kalibrierung am 10.12.2026", "in 18 Tagen"} {
				if !strings.Contains(before, s) {
					t.Fatalf("alarms page lacks %q:\n%s", s, before)
				}
			}
			resp, body := e.post("/coldchain/check", tt.form)
			wantStatus(t, resp, tt.status, body)
			if tt.want != "" && !strings.Contains(body, tt.want) {
				t.Fatalf("response lacks %q:\n%s", tt.want, body)
			}
			now := e.clock.Now()
			today := e.cold.Today(now)
			if got := len(today[0].Checks); got != map[bool]int{false: 0, true: 1}[tt.wantRecorded] {
				t.Fatalf("%d daily checks recorded: %+v", got, today[0].Checks)
			}
			conds := e.cold.Conditions("kuehlschrank", now)
			if hasCondition(conds, coldchain.ConditionDailyCheck) == tt.wantRecorded {
				t.Fatalf("daily-check alarm after the form: %+v", conds)
			}
			if !tt.wantRecorded {
				return
			}
			wantRedirect(t, resp, "/alarms#cc-kuehlschrank")
			c := today[0].Checks[0]
			if c.User != strings.TrimSpace(tt.form.Get("user")) || c.At.IsZero() {
				t.Fatalf("check %+v", c)
			}
			_, page := e.get("/alarms")
			if !strings.Contains(page, "Tageskontrolle gespeichert.") || !strings.Contains(page, "10:00 "+c.User) {
				t.Fatalf("check not shown:\n%s", page)
			}
			if cm := tt.form.Get("comment"); cm != "" && !strings.Contains(page, "„Thermometer abgelesen, alles in Ordnung“") {
				t.Fatalf("comment not shown on one line:\n%s", page)
			}
			found := false
			for _, ev := range e.be.eventsCopy() {
				found = found || (ev.Attrs["action"] == "coldchain.check" && ev.Attrs["user"] == "admin")
			}
			if !found {
				t.Fatalf("no audit event: %+v", e.be.eventsCopy())
			}
			// The day closes: the check is in the chained record, and
			// the record still verifies.
			e.cold.Tick(time.Date(2026, 11, 23, 0, 1, 0, 0, time.UTC))
			recs, err := coldchain.Records(e.cold.Dir(), "kuehlschrank", "2026-11-22", "2026-11-22")
			if err != nil || len(recs) != 1 || len(recs[0].Checks) != 1 || recs[0].Checks[0].User != c.User {
				t.Fatalf("record of 22 November: %v %+v", err, recs)
			}
			if st, err := coldchain.Check(e.cold.Dir(), "kuehlschrank"); err != nil || !st.Intact() || st.Days != 3 {
				t.Fatalf("verify: %v %+v", err, st)
			}
		})
	}
}

func hasCondition(cs []drivers.Condition, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Acknowledging a fridge's alarm asks for a comment; the name shown is
// the one typed, else the login's.
func TestAckAsksForComment(t *testing.T) {
	tests := []struct {
		name    string
		alarm   string
		form    url.Values
		status  int
		want    string
		ackedBy string
	}{
		{name: "fridge alarm without comment", alarm: "kuehlschrank/temperature/above", form: url.Values{"user": {"MW"}},
			status: http.StatusUnprocessableEntity, want: "Bitte einen Kommentar eintragen"},
		{name: "blank comment", alarm: "kuehlschrank/temperature/above", form: url.Values{"user": {"MW"}, "comment": {" \n "}},
			status: http.StatusUnprocessableEntity, want: "Bitte einen Kommentar eintragen"},
		{name: "name too long", alarm: "kuehlschrank/temperature/above", form: url.Values{"user": {strings.Repeat("x", 65)}, "comment": {"ok"}},
			status: http.StatusUnprocessableEntity, want: "höchstens 64 Zeichen"},
		{name: "fridge alarm with name and comment", alarm: "kuehlschrank/temperature/above",
			form: url.Values{"user": {"MW"}, "comment": {"Tür war offen, Ware geprüft"}}, status: http.StatusSeeOther,
			want: "quittiert von MW: „Tür war offen, Ware geprüft“", ackedBy: "MW"},
		{name: "no name: the login's", alarm: "kuehlschrank/temperature/above", form: url.Values{"comment": {"Tür war offen"}},
			status: http.StatusSeeOther, want: "quittiert von admin: „Tür war offen“", ackedBy: "admin"},
		{name: "other device without comment", alarm: "usv/ups.on_battery", form: url.Values{"user": {"MW"}},
			status: http.StatusSeeOther, want: "quittiert von MW", ackedBy: "MW"},
	}
	page := func(t *testing.T) *env {
		e := newEnv(t)
		e.be.mu.Lock()
		e.be.alarms = append(e.be.alarms, alarm.Alarm{ID: "usv/ups.on_battery", Device: "usv", Severity: drivers.Major,
			Message: "on battery", Since: time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC), Condition: true, Kind: alarm.KindCondition, CondName: "ups.on_battery"})
		e.be.mu.Unlock()
		e.login()
		return e
	}
	// Refused input changes nothing, so those cases share one page.
	shared := page(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := shared
			if tt.status == http.StatusSeeOther {
				e = page(t)
			}
			_, page := e.get("/alarms")
			if !strings.Contains(page, `placeholder="Kommentar, z. B. Tür war offen, Ware geprüft"`) || !strings.Contains(page, " required>") {
				t.Fatalf("ack form lacks the comment field:\n%s", page)
			}
			form := url.Values{"id": {tt.alarm}}
			for k, v := range tt.form {
				form[k] = v
			}
			resp, body := e.post("/alarms/ack", form)
			wantStatus(t, resp, tt.status, body)
			if tt.status != http.StatusSeeOther {
				if !strings.Contains(body, tt.want) {
					t.Fatalf("response lacks %q:\n%s", tt.want, body)
				}
				if len(e.be.acks) != 0 {
					t.Fatalf("acknowledged anyway: %v", e.be.acks)
				}
				return
			}
			if _, page = e.get("/alarms"); !strings.Contains(page, tt.want) {
				t.Fatalf("page lacks %q:\n%s", tt.want, page)
			}
			if len(e.be.acks) != 1 || e.be.acks[0] != tt.alarm+" by "+tt.ackedBy {
				t.Fatalf("backend acks %v", e.be.acks)
			}
		})
	}
}

// The record's verdict and texts are there in English too.
func TestColdChainCardEnglish(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.post("/lang", url.Values{"lang": {"en"}, "back": {"/alarms"}})
	_, page := e.get("/alarms")
	for _, s := range []string{"Record verified: intact (2 days)", "not confirmed yet (due by 09:00)", "offset -0.3 °C",
		"next calibration on 2026-12-10", "in 18 days", "Confirm daily check", "Comment, e.g. door was open"} {
		if !strings.Contains(page, s) {
			t.Fatalf("English alarms page lacks %q:\n%s", s, page)
		}
	}
}
