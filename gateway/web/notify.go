package web

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// NotifyView is the SMS/call notifier (gateway/notify) as the page shows
// it: the modem's health, the last notifications and the test button.
// Contacts and chains come from the config. nil hides the page.
type NotifyView interface {
	NotifyModem() NotifyModem
	// NotifyRecent returns the last notifications, oldest first.
	NotifyRecent() []NotifyRecord
	// NotifyTest sends the test SMS to one contact (all when empty).
	NotifyTest(ctx context.Context, contact string) error
}

// NotifyModem is the modem's health.
type NotifyModem struct {
	Present, Responding bool
	SIM, Registration   string
	// SignalDBm is valid when HasSignal.
	SignalDBm float64
	HasSignal bool
	Err       string
}

// NotifyRecord is one SMS or call.
type NotifyRecord struct {
	Time                    time.Time
	Alarm, Contact, Channel string
	OK, Test                bool
	Error                   string
}

type notifyChainRow struct {
	Severity         drivers.Severity
	Contacts         []string
	Delay            time.Duration
	Repeat, Call     bool
	When, QuietHours string
}

// modemSIMKeys and modemRegKeys translate the modem's SIM and network
// states (gateway/notify/modem) for the page; a state not listed shows as
// the modem reported it.
var (
	modemSIMKeys = map[string]string{"READY": "nt.sim.ready", "SIM PIN": "nt.sim.pin", "SIM PUK": "nt.sim.puk", "missing": "nt.sim.missing"}
	modemRegKeys = map[string]string{"home": "nt.reg.home", "roaming": "nt.reg.roaming", "searching": "nt.reg.searching",
		"denied": "nt.reg.denied", "none": "nt.reg.none", "unknown": "nt.reg.unknown"}
)

type notifyData struct {
	Modem NotifyModem
	// SIMKey and RegKey are the messages of the modem's states, "" for a
	// state without one.
	SIMKey, RegKey string
	Configured     bool
	Contacts       []config.NotifyContact
	Chains         []notifyChainRow
	SMSPerHour     int
	Recent         []NotifyRecord
}

func (s *Server) getNotify(w http.ResponseWriter, r *request) {
	s.notifyPage(w, r, http.StatusOK, pageData{})
}

func (s *Server) notifyPage(w http.ResponseWriter, r *request, code int, d pageData) {
	if s.notify == nil {
		s.notFound(w, r)
		return
	}
	nd := notifyData{Modem: s.notify.NotifyModem()}
	nd.SIMKey, nd.RegKey = modemSIMKeys[nd.Modem.SIM], modemRegKeys[nd.Modem.Registration]
	if n := s.be.Config().Notify; n != nil {
		nd.Configured, nd.Contacts = true, n.Contacts
		if n.SMSPerHour != nil {
			nd.SMSPerHour = *n.SMSPerHour
		}
		for sev, ch := range n.Chains {
			row := notifyChainRow{Severity: drivers.Severity(sev), Contacts: ch.Contacts, When: ch.When, Call: ch.Call}
			if ch.Delay != nil {
				row.Delay = *ch.Delay
			}
			row.Repeat = ch.Repeat == nil || *ch.Repeat
			if ch.Quiet {
				row.QuietHours = n.QuietHours
			}
			nd.Chains = append(nd.Chains, row)
		}
		rank := map[string]int{"critical": 0, "major": 1, "minor": 2}
		sort.Slice(nd.Chains, func(i, j int) bool { return rank[string(nd.Chains[i].Severity)] < rank[string(nd.Chains[j].Severity)] })
	}
	rec := s.notify.NotifyRecent()
	for i := len(rec) - 1; i >= 0 && len(nd.Recent) < 20; i-- {
		nd.Recent = append(nd.Recent, rec[i])
	}
	d.Nav, d.Data = "notify", nd
	s.render(w, r, code, "notify", d)
}

// postNotifyTest sends the test SMS; the result shows on the page and in
// the list below it.
func (s *Server) postNotifyTest(w http.ResponseWriter, r *request) {
	if s.notify == nil {
		s.notFound(w, r)
		return
	}
	contact := r.PostFormValue("contact")
	if len(contact) > 128 {
		s.fail(w, r, http.StatusBadRequest, "err.bad_request", nil)
		return
	}
	s.change(r, "notify.test", contact)
	if err := s.notify.NotifyTest(r.Context(), contact); err != nil {
		s.notifyPage(w, r, http.StatusBadGateway, pageData{Error: err.Error()})
		return
	}
	s.redirect(w, r, "/notify", "flash.notify_test")
}
