package notify_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/notify"
)

// Unit tests of the escalation rules with an in-memory sender; the modem
// path is covered by the scenarios against modemsim.

type fakeSender struct {
	mu    sync.Mutex
	sms   []string // number: text
	calls []string
	fail  error
}

func (f *fakeSender) SendSMS(_ context.Context, number, text string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return 0, f.fail
	}
	f.sms = append(f.sms, number+": "+text)
	return 1, nil
}

func (f *fakeSender) Call(_ context.Context, number string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, number)
	return nil
}

func (f *fakeSender) count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.sms) }

func unit(t *testing.T, cfg config.Notify, start time.Time) (*notify.Notifier, *fakeSender, *core, *clock) {
	t.Helper()
	s, c, clk := &fakeSender{}, &core{up: true}, newClock(start)
	n, err := notify.New(cfg, c, s, notify.Options{Now: clk.Now, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return n, s, c, clk
}

func step(n *notify.Notifier, clk *clock, total, d time.Duration) {
	for el := time.Duration(0); el < total; el += d {
		clk.Add(d)
		n.Step(context.Background())
	}
}

func TestEscalationRules(t *testing.T) {
	noon := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	night := time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)
	minor := func(at time.Time) drivers.Event {
		e := fridgeAlarm(at)
		e.Severity = drivers.Minor
		return e
	}
	cases := []struct {
		name  string
		cfg   func(*config.Notify)
		start time.Time
		ev    func(time.Time) drivers.Event
		up    bool
		after time.Duration
		want  int
	}{
		{"always sends with the uplink up", func(c *config.Notify) {
			ch := c.Chains["critical"]
			ch.When = "always"
			c.Chains["critical"] = ch
		}, noon, fridgeAlarm, true, time.Second, 1},
		{"uplink up, provider still has time", nil, noon, fridgeAlarm, true, 10 * time.Minute, 0},
		{"uplink down less than uplink_down_after", nil, noon, fridgeAlarm, false, 50 * time.Second, 0},
		{"uplink down long enough", nil, noon, fridgeAlarm, false, 70 * time.Second, 1},
		{"provider_ack_within 0 switches the provider trigger off", func(c *config.Notify) {
			c.ProviderAckWithin = dur(0)
		}, noon, fridgeAlarm, true, 3 * time.Hour, 0},
		{"severity without a chain", nil, noon, minor, false, time.Hour, 0},
		{"repeat until acknowledged", nil, noon, fridgeAlarm, false, 61 * time.Minute, 7},
		{"no repeat stops after the last contact", func(c *config.Notify) {
			ch := c.Chains["critical"]
			ch.Repeat = boolp(false)
			c.Chains["critical"] = ch
		}, noon, fridgeAlarm, false, 61 * time.Minute, 2},
		{"delay 0 tells everyone at once", func(c *config.Notify) {
			ch := c.Chains["critical"]
			ch.Repeat, ch.Delay = boolp(false), dur(0)
			c.Chains["critical"] = ch
		}, noon, fridgeAlarm, false, 61 * time.Second, 2},
		{"quiet hours hold a minor alarm", func(c *config.Notify) {
			c.QuietHours = "22:00-07:00"
			c.Chains["minor"] = config.NotifyChain{Contacts: []string{"Praxis"}, Delay: dur(time.Hour), Repeat: boolp(false), When: "always", Quiet: true}
		}, night, minor, true, 7*time.Hour + 59*time.Minute, 0},
		{"quiet hours end", func(c *config.Notify) {
			c.QuietHours = "22:00-07:00"
			c.Chains["minor"] = config.NotifyChain{Contacts: []string{"Praxis"}, Delay: dur(time.Hour), Repeat: boolp(false), When: "always", Quiet: true}
		}, night, minor, true, 8*time.Hour + time.Minute, 1},
		{"quiet hours do not hold a critical chain", func(c *config.Notify) {
			c.QuietHours = "22:00-07:00"
			ch := c.Chains["critical"]
			ch.When = "always"
			c.Chains["critical"] = ch
		}, night, fridgeAlarm, true, time.Second, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			n, s, c, clk := unit(t, cfg, tc.start)
			c.setUp(tc.up)
			n.Step(context.Background())
			n.Observe(tc.ev(clk.Now()))
			step(n, clk, tc.after, time.Second)
			if got := s.count(); got != tc.want {
				t.Errorf("%d SMS after %s, want %d: %q", got, tc.after, tc.want, s.sms)
			}
		})
	}
}

func TestClearedStopsTheChain(t *testing.T) {
	n, s, c, clk := unit(t, baseConfig(), time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	c.setUp(false)
	n.Step(context.Background())
	clk.Add(2 * time.Minute)
	ev := fridgeAlarm(clk.Now())
	n.Observe(ev)
	n.Step(context.Background())
	n.Observe(drivers.Event{Type: "alarm.cleared", Attrs: map[string]any{"alarm": ev.Attrs["alarm"]}})
	step(n, clk, time.Hour, time.Minute)
	if s.count() != 1 {
		t.Errorf("%d SMS, want 1 before the clear", s.count())
	}
}

func TestReplies(t *testing.T) {
	cases := []struct {
		from, text string
		ack        bool
	}{
		{numA, "OK %s", true},
		{"0049" + numA[3:], "ok%s.", true},
		{numA, "Okay, bin unterwegs", false},
		{numA, "OK 0000", false},
		{numX, "OK %s", false},
		{"", "OK %s", false},
	}
	for _, tc := range cases {
		n, s, c, clk := unit(t, baseConfig(), time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
		c.setUp(false)
		n.Step(context.Background())
		clk.Add(2 * time.Minute)
		n.Observe(fridgeAlarm(clk.Now()))
		n.Step(context.Background())
		code := n.Pending()["kuehlschrank-impf/temperature/above"]
		if code == "" || !strings.HasSuffix(s.sms[0], "OK "+code) {
			t.Fatalf("code %q not in %q", code, s.sms)
		}
		text := tc.text
		if strings.Contains(text, "%s") {
			text = strings.Replace(text, "%s", code, 1)
		}
		n.HandleSMS(context.Background(), tc.from, text)
		acked := len(c.ofType(notify.EventAcked)) == 1
		if acked != tc.ack || (len(c.acks) == 1) != tc.ack {
			t.Errorf("%q from %q: acked %v, want %v", text, tc.from, acked, tc.ack)
		}
	}
}

func TestSendFailureRetriesSameStep(t *testing.T) {
	cfg := baseConfig()
	ch := cfg.Chains["critical"]
	ch.When = "always"
	cfg.Chains["critical"] = ch
	n, s, c, clk := unit(t, cfg, time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	s.fail = errors.New("+CMS ERROR: 331")
	n.Observe(fridgeAlarm(clk.Now()))
	// An hour of failures is one event per step and error, not one per
	// attempt.
	step(n, clk, time.Hour, time.Second)
	if f := c.ofType(notify.EventFailed); len(f) != 1 || f[0].Attrs["contact"] != "Praxis" {
		t.Fatalf("failed events %+v", f)
	}
	s.mu.Lock()
	s.fail = errors.New("modem absent")
	s.mu.Unlock()
	step(n, clk, 10*time.Second, time.Second)
	if f := c.ofType(notify.EventFailed); len(f) != 2 {
		t.Fatalf("a new error is not reported: %+v", f)
	}
	s.mu.Lock()
	s.fail = nil
	s.mu.Unlock()
	step(n, clk, 10*time.Second, time.Second)
	if s.count() != 1 || !strings.HasPrefix(s.sms[0], numA) {
		t.Errorf("after recovery %q", s.sms)
	}
	// The hour lost does not make the chain catch up in a burst: the
	// next contact follows one delay after the late first SMS.
	step(n, clk, 9*time.Minute+50*time.Second, time.Second)
	if s.count() != 1 {
		t.Errorf("%d SMS before the delay after the late step", s.count())
	}
	step(n, clk, 20*time.Second, time.Second)
	if s.count() != 2 || !strings.HasPrefix(s.sms[1], numB) {
		t.Errorf("next step %q", s.sms)
	}
}

// blockingCaller holds every call until released.
type blockingCaller struct {
	fakeSender
	release chan struct{}
}

func (b *blockingCaller) Call(ctx context.Context, number string, d time.Duration) error {
	<-b.release
	return b.fakeSender.Call(ctx, number, d)
}

// TestSMSNotHeldBehindACall: a ringing call for one alarm does not delay
// the SMS of the next.
func TestSMSNotHeldBehindACall(t *testing.T) {
	cfg := baseConfig()
	ch := cfg.Chains["critical"]
	ch.When, ch.Call = "always", true
	cfg.Chains["critical"] = ch
	s := &blockingCaller{release: make(chan struct{})}
	c, clk := &core{up: true}, newClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	n, err := notify.New(cfg, c, s, notify.Options{Now: clk.Now, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	n.Observe(fridgeAlarm(clk.Now()))
	n.Step(context.Background())
	second := fridgeAlarm(clk.Now())
	second.Attrs["alarm"] = "usv/on_battery"
	n.Observe(second)
	n.Step(context.Background())
	if s.count() != 2 {
		t.Fatalf("%d SMS while the first call rings, want 2", s.count())
	}
	close(s.release)
	n.Wait()
	if len(s.calls) != 2 {
		t.Errorf("calls %v", s.calls)
	}
}

func TestNewRefusesUnknownChainContact(t *testing.T) {
	cfg := baseConfig()
	ch := cfg.Chains["critical"]
	ch.Contacts = []string{"Praxis", "Niemand"}
	cfg.Chains["critical"] = ch
	if _, err := notify.New(cfg, &core{}, &fakeSender{}, notify.Options{}); err == nil || !strings.Contains(err.Error(), "Niemand") {
		t.Errorf("New: %v", err)
	}
}
