package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/gateway/command"
)

// smsTester records the test messages asked for; contacts named in fail
// fail with that error.
type smsTester struct {
	asked []string
	fail  map[string]string
}

func (s *smsTester) Contacts() []string { return []string{"Praxis", "Chefin"} }

func (s *smsTester) TestSMS(_ context.Context, name string) []SMSTestResult {
	s.asked = append(s.asked, name)
	var out []SMSTestResult
	for _, c := range s.Contacts() {
		if name != "" && c != name {
			continue
		}
		if e, ok := s.fail[c]; ok {
			out = append(out, SMSTestResult{Contact: c, Error: e})
		} else {
			out = append(out, SMSTestResult{Contact: c, OK: true, Parts: 1})
		}
	}
	return out
}

// The command's own logic: arguments, unknown contacts, the reply per
// contact, a failure as an error reply. The path through the real
// notifier and modem is TestNotifyTestCommandAndModemHealth
// (cmd/praxisgate).
func TestNotifyTestCommand(t *testing.T) {
	g := &server{log: slog.New(slog.DiscardHandler)}
	call := func(sms SMSTester, args string) (any, error) {
		return g.cmdNotifyTest(sms)(context.Background(), command.Request{ID: "t", Args: []byte(args)})
	}
	ok := &smsTester{}
	res, err := call(ok, `{"contact":"Chefin"}`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if want := `{"results":[{"contact":"Chefin","ok":true,"parts":1}],"sent":1}`; string(b) != want {
		t.Errorf("reply %s, want %s", b, want)
	}
	if _, err := call(ok, `{}`); err != nil || ok.asked[len(ok.asked)-1] != "" {
		t.Errorf("to everyone: %v, asked %q", err, ok.asked)
	}
	half := &smsTester{fail: map[string]string{"Chefin": "modem absent"}}
	for _, tt := range []struct {
		sms        SMSTester
		args, want string
	}{
		{ok, `{"contact":"Niemand"}`, `args.contact: unknown contact "Niemand" (contacts: Praxis, Chefin)`},
		{ok, `{"kontakt":"Praxis"}`, `unknown field "kontakt"`},
		{nil, `{}`, "not set up on this box"},
		{half, `{}`, "the test SMS failed for Chefin: modem absent (sent to Praxis)"},
	} {
		if _, err := call(tt.sms, tt.args); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.args, err, tt.want)
		}
	}
	if len(ok.asked) != 2 {
		t.Errorf("sent for refused arguments: %q", ok.asked)
	}
}
