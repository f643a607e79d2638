package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// The overview's first-hour checklist (issue 22): what a technician must
// have seen working before leaving the practice. Each item is judged from
// what the gateway reports right now, except the test alarm, which only a
// person holding the phone can confirm. Once every item was done at the
// same time the list is put away for good (checklist.json in the page's
// directory), so a later outage shows as an alarm, not as a to-do list.

const checklistFile = "checklist.json"

// checklistState is what the page remembers about the checklist.
type checklistState struct {
	// TestConfirmed is when a technician confirmed the test alarm
	// arrived, and by whom.
	TestConfirmed time.Time `json:"test_confirmed,omitzero"`
	TestBy        string    `json:"test_by,omitempty"`
	// Done is when every item was done; the list is not shown after it.
	Done time.Time `json:"done,omitzero"`
}

type checklistStore struct {
	path string
	mu   sync.Mutex
	st   checklistState
}

func openChecklist(dir string) (*checklistStore, error) {
	c := &checklistStore{path: filepath.Join(dir, checklistFile)}
	data, err := os.ReadFile(c.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("web: read checklist: %w", err)
	}
	if err := json.Unmarshal(data, &c.st); err != nil {
		// A damaged file only brings the list back; it holds no secret
		// and nothing else depends on it.
		c.st = checklistState{}
	}
	return c, nil
}

func (c *checklistStore) get() checklistState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

func (c *checklistStore) update(f func(*checklistState)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.st
	f(&next)
	data, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(c.path, data, 0o600); err != nil {
		return fmt.Errorf("web: write checklist: %w", err)
	}
	c.st = next
	return nil
}

// checkItem is one line of the checklist. Link is where it is fixed
// ("" when only the config file can fix it).
type checkItem struct {
	ID, Key, FixKey, Link string
	Done                  bool
	// Detail is a short fact beside the item (the fridges' band, when
	// the test SMS went out).
	Detail string
	// Confirm shows the "it arrived" button (the test alarm item).
	Confirm bool
}

// checklistView is the card's content; nil when it is put away.
type checklistView struct {
	Items []checkItem
}

// checklist judges every item; it returns nil once the list was done.
func (s *Server) checklist(lang string, st Status, devs []Device) *checklistView {
	state := s.checks.get()
	if !state.Done.IsZero() {
		return nil
	}
	now := s.now()
	items := []checkItem{
		{ID: "ck-uplink", Key: "ck.uplink", FixKey: "ck.uplink_fix", Link: "/settings", Done: st.Connected},
		{ID: "ck-clock", Key: "ck.clock", FixKey: "ck.clock_fix", Link: "/diagnostics", Done: clockSynced(st)},
		{ID: "ck-ups", Key: "ck.ups", FixKey: "ck.ups_fix", Link: "/devices/found", Done: anyRead(devs, "ups")},
	}
	fridges := checkItem{ID: "ck-fridges", Key: "ck.fridges", FixKey: "ck.fridges_fix", Link: "/alarms"}
	fp := s.be.Config().Fridge.Effective()
	if fp.Low != nil && fp.High != nil && *fp.Low < *fp.High {
		fridges.Detail = tf(lang, "ck.band", fmtDec(lang, *fp.Low, 1), fmtDec(lang, *fp.High, 1))
		fridges.Done = allRead(devs, config.FridgeKind)
	}
	items = append(items, fridges)
	notifyLink := ""
	if s.notify != nil {
		notifyLink = "/notify"
	}
	contacts := checkItem{ID: "ck-contacts", Key: "ck.contacts", FixKey: "ck.contacts_fix", Link: notifyLink}
	if n := s.be.Config().Notify; n != nil {
		for _, c := range n.Contacts {
			contacts.Done = contacts.Done || c.Number != ""
		}
	}
	test := checkItem{ID: "ck-test", Key: "ck.test", FixKey: "ck.test_fix", Link: notifyLink,
		Done: !state.TestConfirmed.IsZero(), Confirm: contacts.Done && state.TestConfirmed.IsZero()}
	if s.notify != nil {
		for _, rec := range s.notify.NotifyRecent() {
			if rec.Test && rec.OK {
				test.Detail = tf(lang, "ck.test_sent", fmtAgoL(lang, now, rec.Time))
			}
		}
	}
	items = append(items, contacts, test)
	for _, it := range items {
		if !it.Done {
			return &checklistView{Items: items}
		}
	}
	if err := s.checks.update(func(c *checklistState) { c.Done = now.UTC() }); err != nil {
		s.log.Error("web: checklist", "err", err)
	}
	s.log.Info("web: first-hour checklist done")
	return nil
}

func clockSynced(st Status) bool {
	for _, m := range st.Health {
		if m.Name == "clock.synced" {
			b, ok := m.Value.(bool)
			return ok && b
		}
	}
	return false
}

// anyRead: some enabled device of kind answered its latest poll.
func anyRead(devs []Device, kind string) bool {
	for _, d := range devs {
		if d.Kind == kind && !d.Disabled && !d.At.IsZero() && d.Err == "" {
			return true
		}
	}
	return false
}

// allRead: there is an enabled device of kind and every one answered.
func allRead(devs []Device, kind string) bool {
	n := 0
	for _, d := range devs {
		if d.Kind != kind || d.Disabled {
			continue
		}
		if d.At.IsZero() || d.Err != "" {
			return false
		}
		n++
	}
	return n > 0
}

// postChecklistTest records that the test alarm arrived on the phone.
func (s *Server) postChecklistTest(w http.ResponseWriter, r *request) {
	now := s.now().UTC()
	if err := s.checks.update(func(c *checklistState) { c.TestConfirmed, c.TestBy = now, r.sess.user }); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	s.change(r, "checklist.test_alarm", "arrived")
	s.redirect(w, r, "/", "flash.ck_test")
}
