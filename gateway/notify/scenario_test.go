package notify_test

import (
	"context"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/notify"
	"github.com/praxisgate/praxisgate/gateway/notify/modem"
	"github.com/praxisgate/praxisgate/gateway/notify/modemsim"
)

// The scenarios run the notifier with the real modem package against
// modemsim on a pseudo-terminal. Escalation time is a fake clock the test
// moves; the modem exchange itself runs in real time.

// core stands in for the gateway: uplink state, the alarm engine's ack,
// and the buffer's record of events.
type core struct {
	mu     sync.Mutex
	up     bool
	acks   []string
	events []drivers.Event
}

func (c *core) UplinkConnected() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.up }
func (c *core) setUp(v bool)          { c.mu.Lock(); c.up = v; c.mu.Unlock() }
func (c *core) AckAlarm(_ context.Context, id, by string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acks = append(c.acks, id+" by "+by)
	c.events = append(c.events, drivers.Event{Type: "alarm.acked", Attrs: map[string]any{"alarm": id, "by": by}})
	return nil
}
func (c *core) Emit(_ context.Context, evs []drivers.Event) {
	c.mu.Lock()
	c.events = append(c.events, evs...)
	c.mu.Unlock()
}
func (c *core) ofType(typ string) []drivers.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []drivers.Event
	for _, e := range c.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration)     { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock(t time.Time) *clock        { return &clock{t: t} }
func dur(d time.Duration) *time.Duration { return &d }
func intp(v int) *int                    { return &v }
func boolp(v bool) *bool                 { return &v }
func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

const (
	numA = "+4915111111111"
	numB = "+4915122222222"
	numX = "+4917099999999"
)

func baseConfig() config.Notify {
	return config.Notify{
		Contacts: []config.NotifyContact{{Name: "Praxis", Number: numA}, {Name: "Chefin", Number: numB}},
		Chains: map[string]config.NotifyChain{
			"critical": {Contacts: []string{"Praxis", "Chefin"}, Delay: dur(10 * time.Minute), Repeat: boolp(true), When: "uplink_down", Ring: 30 * time.Second},
		},
		SMSPerHour: intp(10), UplinkDownAfter: dur(time.Minute), ProviderAckWithin: dur(15 * time.Minute),
	}
}

type world struct {
	sim  *modemsim.Sim
	mdm  *modem.Modem
	core *core
	clk  *clock
	n    *notify.Notifier
}

func newWorld(t *testing.T, cfg config.Notify) *world {
	t.Helper()
	sim, err := modemsim.New(modemsim.Options{})
	if err != nil {
		t.Fatalf("modemsim: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	mdm, err := modem.New(modem.Config{Port: sim.Path(), Retry: 50 * time.Millisecond}, logger())
	if err != nil {
		t.Fatal(err)
	}
	w := &world{sim: sim, mdm: mdm, core: &core{up: true}, clk: newClock(time.Date(2026, 12, 4, 19, 55, 0, 0, time.UTC))}
	w.n, err = notify.New(cfg, w.core, mdm, notify.Options{Site: "praxis-a", Now: w.clk.Now, Location: time.UTC, Log: logger()})
	if err != nil {
		t.Fatal(err)
	}
	mdm.OnSMS(func(s modem.SMS) { w.n.HandleSMS(context.Background(), s.From, s.Text) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mdm.Run(ctx, 50*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "modem ready", func() bool { h := mdm.Health(); return h.Responding && h.SIM == "READY" && h.Reg == "home" })
	return w
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fridgeAlarm(at time.Time) drivers.Event {
	return drivers.Event{Device: "kuehlschrank-impf", Time: at, Type: "alarm.raised", Severity: drivers.Critical,
		Message: "kuehlschrank-impf temperature is 9.1 °C, above the limit of 8 °C",
		Attrs:   map[string]any{"alarm": "kuehlschrank-impf/temperature/above", "metric": "temperature", "value": 9.1, "limit": 8.0, "since": at.Format(time.RFC3339Nano)}}
}

// run advances the fake clock in steps of d up to total, stepping the
// notifier each time.
func (w *world) run(total, d time.Duration) {
	for el := time.Duration(0); el < total; el += d {
		w.clk.Add(d)
		w.n.Step(context.Background())
	}
}

func textsTo(sim *modemsim.Sim, number string) []string {
	var out []string
	for _, s := range sim.Submits() {
		if s.To == number {
			out = append(out, s.Text)
		}
	}
	return out
}

var codeRE = regexp.MustCompile(`OK (\d{4})$`)

// TestUplinkDownFridgeEscalationAndAck is the main scenario.
func TestUplinkDownFridgeEscalationAndAck(t *testing.T) {
	w := newWorld(t, baseConfig())
	ctx := context.Background()

	// The uplink is cut; a minute later the fridge alarm comes.
	w.core.setUp(false)
	w.n.Step(ctx)
	w.run(time.Minute, 10*time.Second)
	w.n.Observe(fridgeAlarm(w.clk.Now().Add(-15 * time.Minute)))
	w.n.Step(ctx)

	a := textsTo(w.sim, numA)
	if len(a) != 1 {
		t.Fatalf("contact 1 got %d SMS, want 1: %q", len(a), a)
	}
	want := "ALARM kritisch: kuehlschrank-impf: Temperatur 9,1 über Grenze 8. Seit 19:41. Quittieren: Antwort OK "
	if !strings.HasPrefix(a[0], want) {
		t.Errorf("text %q\nwant prefix %q", a[0], want)
	}
	if len([]rune(a[0])) > 160 {
		t.Errorf("alarm text is %d characters, more than one SMS", len([]rune(a[0])))
	}
	code := codeRE.FindStringSubmatch(a[0])
	if code == nil {
		t.Fatalf("no code in %q", a[0])
	}

	// No acknowledgement: contact 2 after the delay, not before.
	w.run(9*time.Minute+50*time.Second, 10*time.Second)
	if b := textsTo(w.sim, numB); len(b) != 0 {
		t.Fatalf("contact 2 told before the delay: %q", b)
	}
	w.run(10*time.Second, 10*time.Second)
	if b := textsTo(w.sim, numB); len(b) != 1 {
		t.Fatalf("contact 2 got %d SMS after the delay, want 1", len(b))
	}

	// A stranger's "OK <code>" changes nothing.
	w.sim.Deliver(numX, "OK "+code[1], w.clk.Now())
	waitFor(t, "stranger's SMS read and deleted", func() bool { return w.sim.Stored() == 0 })
	if len(w.core.acks) != 0 {
		t.Fatalf("stranger acknowledged: %v", w.core.acks)
	}

	// Contact 2 replies; the alarm is acknowledged and the chain stops.
	w.sim.Deliver(numB, " ok "+code[1]+" ", w.clk.Now())
	waitFor(t, "ack", func() bool { return len(w.core.ofType(notify.EventAcked)) == 1 })
	w.core.mu.Lock()
	acks := append([]string(nil), w.core.acks...)
	w.core.mu.Unlock()
	if len(acks) != 1 || acks[0] != "kuehlschrank-impf/temperature/above by sms:Chefin" {
		t.Errorf("acks %v", acks)
	}
	ev := w.core.ofType(notify.EventAcked)[0]
	if ev.Attrs["contact"] != "Chefin" || ev.Attrs["alarm"] != "kuehlschrank-impf/temperature/above" {
		t.Errorf("ack event %+v", ev)
	}
	w.run(30*time.Minute, time.Minute)
	if n := len(w.sim.Submits()); n != 2 {
		t.Errorf("%d SMS after the ack, want the 2 from before", n)
	}
	sent := w.core.ofType(notify.EventSent)
	if len(sent) != 2 || sent[0].Attrs["contact"] != "Praxis" || sent[1].Attrs["contact"] != "Chefin" {
		t.Errorf("notify.sent events %+v", sent)
	}
	// The events wait in the buffer for the provider; here the core keeps
	// them in order: sent, sent, alarm.acked, notify.acked.
	var types []string
	for _, e := range w.core.events {
		types = append(types, e.Type)
	}
	if strings.Join(types, ",") != "notify.sent,notify.sent,alarm.acked,notify.acked" {
		t.Errorf("events %v", types)
	}
}

// TestUplinkUpWaitsForProvider: with the uplink up nothing is sent until
// the provider has left the alarm unacknowledged for provider_ack_within.
func TestUplinkUpWaitsForProvider(t *testing.T) {
	w := newWorld(t, baseConfig())
	w.n.Observe(fridgeAlarm(w.clk.Now()))
	w.run(14*time.Minute+50*time.Second, 10*time.Second)
	if n := len(w.sim.Submits()); n != 0 {
		t.Fatalf("%d SMS while the provider still had time", n)
	}
	w.run(10*time.Second, 10*time.Second)
	if n := len(textsTo(w.sim, numA)); n != 1 {
		t.Fatalf("contact 1 got %d SMS after provider_ack_within", n)
	}
	// The provider acknowledges: the chain stops.
	w.n.Observe(drivers.Event{Type: "alarm.acked", Attrs: map[string]any{"alarm": "kuehlschrank-impf/temperature/above", "by": "provider"}})
	w.run(time.Hour, time.Minute)
	if n := len(w.sim.Submits()); n != 1 {
		t.Errorf("%d SMS after the provider's ack, want 1", n)
	}
}

// TestModemUnpluggedMidSend: the stick is pulled while the SMS is being
// submitted; the failure is recorded, nothing is lost, and the same step
// goes out once the stick is back. What the modem reports on the way (the
// line closing under the send, then the port gone; or only one of them,
// depending on when the session notices) varies with the machine's load,
// so the test judges the outcome: each distinct failure reported once,
// all of them for contact 1's first step, and exactly that SMS after the
// replug.
func TestModemUnpluggedMidSend(t *testing.T) {
	w := newWorld(t, baseConfig())
	w.core.setUp(false)
	w.n.Step(context.Background())
	w.clk.Add(time.Minute)
	w.sim.UnplugOnSend()
	w.n.Observe(fridgeAlarm(w.clk.Now()))
	w.n.Step(context.Background())
	if n := len(w.core.ofType(notify.EventFailed)); n != 1 {
		t.Fatalf("%d notify.failed events after the send under the pull, want 1", n)
	}
	waitFor(t, "the modem missed", func() bool { return !w.mdm.Health().Present })
	for range 3 {
		w.clk.Add(10 * time.Second)
		w.n.Step(context.Background()) // modem absent: fails again, still step 1
	}
	if n := len(w.sim.Submits()); n != 0 {
		t.Fatalf("%d SMS accepted by a pulled modem", n)
	}
	failed := w.core.ofType(notify.EventFailed)
	seen := map[string]bool{}
	for _, f := range failed {
		if f.Attrs["contact"] != "Praxis" || f.Attrs["step"] != 1 {
			t.Errorf("failure reported for %v step %v, want Praxis step 1", f.Attrs["contact"], f.Attrs["step"])
		}
		e, _ := f.Attrs["error"].(string)
		if seen[e] {
			t.Errorf("failure %q reported twice for one step", e)
		}
		seen[e] = true
	}
	if !seen[modem.ErrAbsent.Error()] {
		t.Errorf("no failure says the modem is absent: %v", seen)
	}
	if err := w.sim.Replug(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "modem back", func() bool { h := w.mdm.Health(); return h.Present && h.Responding && h.SIM == "READY" })
	w.clk.Add(10 * time.Second)
	w.n.Step(context.Background())
	if a := textsTo(w.sim, numA); len(a) != 1 {
		t.Fatalf("contact 1 got %d SMS after replug, want 1", len(a))
	}
	if b := textsTo(w.sim, numB); len(b) != 0 {
		t.Errorf("contact 2 told although contact 1 only now got it")
	}
	if n := len(w.core.ofType(notify.EventSent)); n != 1 {
		t.Errorf("%d notify.sent, want 1", n)
	}
}

// TestRateLimitHolds: five alarms, a budget of three SMS per hour.
func TestRateLimitHolds(t *testing.T) {
	cfg := baseConfig()
	cfg.SMSPerHour = intp(3)
	cfg.Chains["critical"] = config.NotifyChain{Contacts: []string{"Praxis"}, Delay: dur(time.Minute), Repeat: boolp(true), When: "always", Ring: 30 * time.Second}
	w := newWorld(t, cfg)
	for i := 0; i < 5; i++ {
		ev := fridgeAlarm(w.clk.Now())
		ev.Attrs["alarm"] = "fridge-" + string(rune('a'+i))
		w.n.Observe(ev)
	}
	w.run(59*time.Minute, 30*time.Second)
	if n := len(w.sim.Submits()); n != 3 {
		t.Fatalf("%d SMS within the hour, limit 3", n)
	}
	if n := len(w.core.ofType(notify.EventFailed)); n == 0 {
		t.Error("no notify.failed event for the held-back SMS")
	}
	w.run(2*time.Minute, 30*time.Second)
	if n := len(w.sim.Submits()); n != 6 {
		t.Errorf("%d SMS after the hour, want 6 (3 more as the window frees)", n)
	}
}

// TestCallAfterSMS rings the contact for a critical chain with call: true.
func TestCallAfterSMS(t *testing.T) {
	cfg := baseConfig()
	ch := cfg.Chains["critical"]
	ch.Call, ch.Ring, ch.When = true, 50*time.Millisecond, "always"
	cfg.Chains["critical"] = ch
	w := newWorld(t, cfg)
	w.n.Observe(fridgeAlarm(w.clk.Now()))
	w.n.Step(context.Background())
	w.n.Wait()
	calls := w.sim.Calls()
	if len(calls) != 1 || calls[0].Number != numA || !calls[0].HungUp {
		t.Fatalf("calls %+v", calls)
	}
	recs := w.n.Recent()
	if len(recs) != 2 || recs[0].Channel != "sms" || recs[1].Channel != "call" || !recs[1].OK {
		t.Errorf("recent %+v", recs)
	}
}

func TestTestMessage(t *testing.T) {
	w := newWorld(t, baseConfig())
	if err := w.n.Test(context.Background(), "Chefin"); err != nil {
		t.Fatal(err)
	}
	b := textsTo(w.sim, numB)
	if len(b) != 1 || !strings.HasPrefix(b[0], "Test praxisgate praxis-a") {
		t.Fatalf("test SMS %q", b)
	}
	if err := w.n.Test(context.Background(), "Niemand"); err == nil {
		t.Error("test to an unknown contact succeeded")
	}
	w.sim.SetRegistration(modemsim.RegSearching)
	waitFor(t, "no network", func() bool { return w.mdm.Health().Reg == "searching" })
	if err := w.n.Test(context.Background(), "Praxis"); err == nil {
		t.Error("test without network reported success")
	}
	if f := w.core.ofType(notify.EventFailed); len(f) != 1 || f[0].Attrs["test"] != true {
		t.Errorf("failed test events %+v", f)
	}
}

func clearedEv(id string) drivers.Event {
	return drivers.Event{Type: "alarm.cleared", Attrs: map[string]any{"alarm": id}}
}
