// Package notify tells people about alarms by SMS and phone call over a
// cellular modem, for the hours when the practice's internet is down and
// the provider's cloud cannot. It follows an escalation chain per severity
// (contacts in order, a delay between them, repeat until acknowledged,
// quiet hours for minor alarms), keeps to an hourly SMS budget, and takes
// an "OK <code>" reply from a listed number as the acknowledgement of that
// alarm. Every SMS and call becomes an event (notify.sent, notify.failed,
// notify.acked) so the provider learns, when the link returns, who was
// already told.
//
// The notifier uses the core through the small Gateway interface below and
// the modem through Sender; it is fed alarm events by Observe.
package notify

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// Gateway is what the notifier needs from the core.
type Gateway interface {
	// UplinkConnected reports whether the MQTT uplink is up now.
	UplinkConnected() bool
	// AckAlarm acknowledges an active alarm in the alarm engine (which
	// records alarm.acked for the provider).
	AckAlarm(ctx context.Context, id, by string) error
	// Emit records events (notify.*) in the buffer for the provider.
	Emit(ctx context.Context, evs []drivers.Event)
}

// Sender is the modem.
type Sender interface {
	// SendSMS sends text and returns how many SMS it took.
	SendSMS(ctx context.Context, number, text string) (int, error)
	// Call rings number for ring and hangs up.
	Call(ctx context.Context, number string, ring time.Duration) error
}

// Event types the notifier records.
const (
	EventSent   = "notify.sent"
	EventFailed = "notify.failed"
	EventAcked  = "notify.acked"
)

// Options configure a Notifier.
type Options struct {
	// Site names the practice in test messages.
	Site string
	// Device is the device id of events not tied to an alarm (test
	// messages); empty means "gateway".
	Device string
	// Now is the clock; nil means time.Now. Tests drive Step with their own.
	Now func() time.Time
	// Location is where quiet hours and the times in texts are read;
	// nil means time.Local.
	Location *time.Location
	// Log; nil discards.
	Log *slog.Logger
}

// Record is one notification as the web page lists it.
type Record struct {
	Time    time.Time
	Alarm   string
	Contact string
	Channel string // sms or call
	OK      bool
	Error   string
	Test    bool
}

// incident is an alarm the notifier may have to tell people about.
type incident struct {
	id, device, text string
	sev              drivers.Severity
	since, seen      time.Time
	code             string
	// started is when escalation began (zero: not yet eligible).
	started time.Time
	// step counts contacts told so far over all rounds.
	step int
	// limited is the step whose rate-limit failure was already reported.
	limited int
	// failed and failErr are the step and error of the last reported
	// send failure; retryAt holds the next attempt back.
	failed  int
	failErr string
	retryAt time.Time
	done    bool
}

// Notifier runs the escalation. Observe, HandleSMS, Test and Step may be
// called from any goroutine; sending is serialised.
type Notifier struct {
	cfg  config.Notify
	gw   Gateway
	tx   Sender
	opts Options
	log  *slog.Logger

	quietFrom, quietTo int
	contacts           map[string]config.NotifyContact

	sendMu sync.Mutex
	callMu sync.Mutex
	calls  sync.WaitGroup

	mu        sync.Mutex
	incidents map[string]*incident
	sent      []time.Time // SMS send times within the last hour
	downSince time.Time
	recent    []Record
	wake      chan struct{}
}

// New checks what the config loader cannot (it has validated the section)
// and builds a notifier.
func New(cfg config.Notify, gw Gateway, tx Sender, opts Options) (*Notifier, error) {
	if gw == nil || tx == nil {
		return nil, fmt.Errorf("notify: gateway and sender are required")
	}
	if cfg.SMSPerHour == nil || cfg.UplinkDownAfter == nil || cfg.ProviderAckWithin == nil {
		return nil, fmt.Errorf("notify: config defaults not filled (load it with config.Load)")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Device == "" {
		opts.Device = "gateway"
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{cfg: cfg, gw: gw, tx: tx, opts: opts, log: opts.Log,
		contacts: map[string]config.NotifyContact{}, incidents: map[string]*incident{}, wake: make(chan struct{}, 1)}
	for _, c := range cfg.Contacts {
		n.contacts[c.Name] = c
	}
	for sev, ch := range cfg.Chains {
		if ch.Delay == nil || ch.Repeat == nil {
			return nil, fmt.Errorf("notify: chain %s: config defaults not filled (load it with config.Load)", sev)
		}
		for _, name := range ch.Contacts {
			if _, ok := n.contacts[name]; !ok {
				return nil, fmt.Errorf("notify: chain %s names contact %q, which is not listed", sev, name)
			}
		}
	}
	if cfg.QuietHours != "" {
		var err error
		if n.quietFrom, n.quietTo, err = config.ParseQuietHours(cfg.QuietHours); err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
	}
	return n, nil
}

func (n *Notifier) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run steps the escalation until ctx ends: at once after an event, at
// each planned step, and every tick (one second by default) for the
// conditions that change without an event (uplink down long enough, the
// provider's time up, quiet hours over).
func (n *Notifier) Run(ctx context.Context, tick time.Duration) error {
	if tick <= 0 {
		tick = time.Second
	}
	t := time.NewTimer(tick)
	defer t.Stop()
	defer n.Wait()
	for {
		n.Step(ctx)
		// Sleep until the next planned step when that comes before the
		// tick, so a chain keeps its times to the millisecond rather
		// than to the tick.
		wait := tick
		if next, ok := n.nextDue(); ok {
			wait = min(wait, max(next.Sub(n.opts.Now()), time.Millisecond))
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-n.wake:
			// Since Go 1.23 Reset needs no drained channel.
		}
	}
}

// nextDue is the earliest planned step of a started escalation.
func (n *Notifier) nextDue() (time.Time, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var next time.Time
	for _, in := range n.incidents {
		ch, ok := n.cfg.Chains[string(in.sev)]
		if !ok || in.started.IsZero() || (!*ch.Repeat && in.step >= len(ch.Contacts)) {
			continue
		}
		at := in.started.Add(time.Duration(in.step) * *ch.Delay)
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next, !next.IsZero()
}

// Observe takes one event from the alarm engine: alarm.raised opens an
// incident, alarm.cleared and alarm.acked end it. Other events are ignored.
func (n *Notifier) Observe(ev drivers.Event) {
	id, _ := ev.Attrs["alarm"].(string)
	if id == "" {
		return
	}
	now := n.opts.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	switch ev.Type {
	case "alarm.raised":
		if _, ok := n.incidents[id]; ok {
			return
		}
		since := now
		if s, ok := ev.Attrs["since"].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				since = t
			}
		} else if !ev.Time.IsZero() {
			since = ev.Time
		}
		n.incidents[id] = &incident{id: id, device: ev.Device, sev: ev.Severity, since: since, seen: now,
			text: what(ev), code: n.newCode(), limited: -1, failed: -1}
	case "alarm.cleared", "alarm.acked":
		if in, ok := n.incidents[id]; ok {
			in.done = true
			delete(n.incidents, id)
		}
	default:
		return
	}
	n.kick()
}

// Resume opens incidents for alarms that were already active when the
// notifier started (the daemon restarted during an outage), so their
// escalation starts again instead of being forgotten. Acknowledged alarms
// are left alone. The chain starts from its first contact.
func (n *Notifier) Resume(active []alarm.Alarm) {
	for _, a := range active {
		if a.Acked {
			continue
		}
		attrs := map[string]any{"alarm": a.ID, "since": a.Since.UTC().Format(time.RFC3339Nano)}
		switch {
		case a.CondName != "":
			attrs["condition"] = a.CondName
		case a.Metric != "" && a.Value != nil && a.Limit != nil:
			attrs["metric"], attrs["value"], attrs["limit"] = a.Metric, *a.Value, *a.Limit
		}
		n.Observe(drivers.Event{Device: a.Device, Time: a.Since, Type: alarm.Raised, Severity: a.Severity, Message: a.Message, Attrs: attrs})
	}
}

// newCode picks a 4-digit acknowledgement code no open incident uses.
// Called with mu held.
func (n *Notifier) newCode() string {
	for {
		v, err := rand.Int(rand.Reader, big.NewInt(9000))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		c := fmt.Sprint(1000 + v.Int64())
		used := false
		for _, in := range n.incidents {
			used = used || in.code == c
		}
		if !used {
			return c
		}
	}
}

// uplinkDown reports whether the uplink has been down for at least
// uplink_down_after, tracking when it went down. Called with mu held.
func (n *Notifier) uplinkDown(now time.Time) bool {
	if n.gw.UplinkConnected() {
		n.downSince = time.Time{}
		return false
	}
	if n.downSince.IsZero() {
		n.downSince = now
	}
	return now.Sub(n.downSince) >= *n.cfg.UplinkDownAfter
}

// quiet reports whether t falls in the quiet hours.
func (n *Notifier) quiet(t time.Time) bool {
	if n.cfg.QuietHours == "" {
		return false
	}
	l := t.In(n.opts.Location)
	m := l.Hour()*60 + l.Minute()
	if n.quietFrom < n.quietTo {
		return m >= n.quietFrom && m < n.quietTo
	}
	return m >= n.quietFrom || m < n.quietTo
}

// retryAfter spaces the attempts of a step whose SMS failed (modem
// absent, no network, +CMS ERROR): often enough to go out soon after the
// modem is back, seldom enough not to hammer a modem in trouble.
const retryAfter = 10 * time.Second

// action is one SMS (and maybe call) due now.
type action struct {
	in      *incident
	step    int
	contact config.NotifyContact
	call    bool
	ring    time.Duration
	delay   time.Duration
}

// Step sends what is due now. Run calls it; tests call it with their clock.
func (n *Notifier) Step(ctx context.Context) {
	n.sendMu.Lock()
	defer n.sendMu.Unlock()
	for _, a := range n.due() {
		n.perform(ctx, a)
	}
}

// due decides, under mu, which incidents have a contact to tell now.
func (n *Notifier) due() []action {
	now := n.opts.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	down := n.uplinkDown(now)
	var out []action
	for _, in := range n.incidents {
		ch, ok := n.cfg.Chains[string(in.sev)]
		if !ok || len(ch.Contacts) == 0 {
			continue
		}
		if in.started.IsZero() {
			providerLate := *n.cfg.ProviderAckWithin > 0 && now.Sub(in.seen) >= *n.cfg.ProviderAckWithin
			if ch.When != config.NotifyWhenAlways && !down && !providerLate {
				continue
			}
			if ch.Quiet && n.quiet(now) {
				continue
			}
			in.started = now
		}
		if !*ch.Repeat && in.step >= len(ch.Contacts) {
			continue
		}
		// Step k is due at started + k*delay: anchored to the start, so
		// slow sends do not add up into a late chain.
		if now.Before(in.started.Add(time.Duration(in.step) * *ch.Delay)) {
			continue
		}
		if ch.Quiet && n.quiet(now) {
			continue
		}
		if now.Before(in.retryAt) {
			continue
		}
		c := n.contacts[ch.Contacts[in.step%len(ch.Contacts)]]
		out = append(out, action{in: in, step: in.step, contact: c, call: ch.Call, ring: ch.Ring, delay: *ch.Delay})
	}
	// The most severe and oldest alarms go first, so a tight SMS budget
	// is spent on them.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].in, out[j].in
		if a.sev.Rank() != b.sev.Rank() {
			return a.sev.Rank() > b.sev.Rank()
		}
		if !a.seen.Equal(b.seen) {
			return a.seen.Before(b.seen)
		}
		return a.id < b.id
	})
	return out
}

// allow takes one SMS from the hourly budget. Called with mu held.
func (n *Notifier) allow(now time.Time) bool {
	keep := n.sent[:0]
	for _, t := range n.sent {
		if now.Sub(t) < time.Hour {
			keep = append(keep, t)
		}
	}
	n.sent = keep
	if len(n.sent) >= *n.cfg.SMSPerHour {
		return false
	}
	n.sent = append(n.sent, now)
	return true
}

func (n *Notifier) perform(ctx context.Context, a action) {
	in := a.in
	now := n.opts.Now()
	n.mu.Lock()
	if in.done || in.step != a.step {
		n.mu.Unlock()
		return
	}
	if !n.allow(now) {
		report := in.limited != a.step
		in.limited = a.step
		n.mu.Unlock()
		if report {
			n.log.Warn("SMS rate limit reached; alarm waits", "alarm", in.id, "contact", a.contact.Name, "sms_per_hour", *n.cfg.SMSPerHour)
			n.record(ctx, in, a.contact.Name, "sms", fmt.Errorf("rate limit of %d SMS per hour reached", *n.cfg.SMSPerHour), false, "step", a.step+1)
		}
		return
	}
	text := n.alarmText(in)
	n.mu.Unlock()

	parts, err := n.tx.SendSMS(ctx, a.contact.Number, text)
	n.mu.Lock()
	report := true
	if err != nil {
		// Give the budget back: nothing went out (or not all of it). The
		// same step is tried again after retryAfter; the failure is
		// reported once per step and error, not at every attempt, so an
		// hour without a modem is one event, not thousands.
		n.unspend(now)
		report = in.failed != a.step || in.failErr != err.Error()
		in.failed, in.failErr, in.retryAt = a.step, err.Error(), now.Add(retryAfter)
	} else {
		// A step that went out much later than planned (the modem was
		// away, the budget was spent) moves the rest of the chain back
		// by as much, so the next contacts do not all get theirs at once
		// to catch up. Small lateness (a slow network) is absorbed.
		planned := in.started.Add(time.Duration(a.step) * a.delay)
		if late := now.Sub(planned); late > 0 && late > a.delay/2 {
			in.started = in.started.Add(late)
		}
		in.step++
	}
	n.mu.Unlock()
	if report {
		n.record(ctx, in, a.contact.Name, "sms", err, false, "step", a.step+1, "parts", parts)
	}
	if err == nil && a.call {
		// A call rings for half a minute; it runs beside the loop (one
		// call at a time) so no other alarm's SMS waits behind it.
		n.calls.Add(1)
		go func() {
			defer n.calls.Done()
			n.callMu.Lock()
			defer n.callMu.Unlock()
			cerr := n.tx.Call(ctx, a.contact.Number, a.ring)
			n.record(ctx, in, a.contact.Name, "call", cerr, false, "step", a.step+1)
		}()
	}
}

// Wait returns when calls started by Step have ended (Run calls it
// before it returns).
func (n *Notifier) Wait() { n.calls.Wait() }

func (n *Notifier) unspend(t time.Time) {
	for i := len(n.sent) - 1; i >= 0; i-- {
		if n.sent[i].Equal(t) {
			n.sent = append(n.sent[:i], n.sent[i+1:]...)
			return
		}
	}
}

// record emits notify.sent or notify.failed and keeps the last 20 for the
// web page.
func (n *Notifier) record(ctx context.Context, in *incident, contact, channel string, err error, test bool, kv ...any) {
	now := n.opts.Now()
	rec := Record{Time: now, Contact: contact, Channel: channel, OK: err == nil, Test: test}
	ev := drivers.Event{Device: n.opts.Device, Time: now, Type: EventSent, Severity: drivers.Info,
		Attrs: map[string]any{"contact": contact, "channel": channel}}
	if in != nil {
		rec.Alarm = in.id
		ev.Device = in.device
		ev.Attrs["alarm"] = in.id
	}
	if test {
		ev.Attrs["test"] = true
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			ev.Attrs[k] = kv[i+1]
		}
	}
	if err != nil {
		rec.Error = err.Error()
		ev.Type, ev.Severity = EventFailed, drivers.Minor
		ev.Attrs["error"] = err.Error()
		ev.Message = fmt.Sprintf("%s to %s failed: %v", channel, contact, err)
		n.log.Warn("notification failed", "alarm", rec.Alarm, "contact", contact, "channel", channel, "err", err)
	} else {
		ev.Message = fmt.Sprintf("%s sent to %s", channel, contact)
		n.log.Info("notification sent", "alarm", rec.Alarm, "contact", contact, "channel", channel)
	}
	n.mu.Lock()
	n.recent = append(n.recent, rec)
	if len(n.recent) > 20 {
		n.recent = n.recent[len(n.recent)-20:]
	}
	n.mu.Unlock()
	n.gw.Emit(ctx, []drivers.Event{ev})
}

// Recent returns the last 20 notifications, newest last.
func (n *Notifier) Recent() []Record {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Record(nil), n.recent...)
}

// ErrNoContact is returned by Test for a name that is not a contact.
var ErrNoContact = errors.New("no such contact")

// TestResult is the outcome of the test message to one contact.
type TestResult struct {
	Contact string
	// Parts is how many SMS the message took (0 when it failed).
	Parts int
	Err   error
}

// Contacts returns the contacts' names in config order (the notify-test
// command checks its argument against them).
func (n *Notifier) Contacts() []string {
	out := make([]string, len(n.cfg.Contacts))
	for i, c := range n.cfg.Contacts {
		out[i] = c.Name
	}
	return out
}

// Test sends the test message to one contact (all when name is empty)
// and returns the first failure; see TestEach.
func (n *Notifier) Test(ctx context.Context, name string) error {
	res, err := n.TestEach(ctx, name)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("notify test to %s: %w", r.Contact, r.Err)
		}
	}
	return nil
}

// TestEach sends the test message to one contact (all when name is
// empty), from the web page or the signed command notify-test, and
// reports each send. It uses the hourly budget like any SMS. The error is
// ErrNoContact for an unknown name; failed sends are in the results.
func (n *Notifier) TestEach(ctx context.Context, name string) ([]TestResult, error) {
	n.sendMu.Lock()
	defer n.sendMu.Unlock()
	var targets []config.NotifyContact
	for _, c := range n.cfg.Contacts {
		if name == "" || c.Name == name {
			targets = append(targets, c)
		}
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("notify test: %w: %q", ErrNoContact, name)
	}
	out := make([]TestResult, 0, len(targets))
	for _, c := range targets {
		now := n.opts.Now()
		n.mu.Lock()
		ok := n.allow(now)
		n.mu.Unlock()
		var err error
		parts := 0
		if !ok {
			err = fmt.Errorf("rate limit of %d SMS per hour reached", *n.cfg.SMSPerHour)
		} else if parts, err = n.tx.SendSMS(ctx, c.Number, testText(n.opts.Site, now.In(n.opts.Location))); err != nil {
			parts = 0
			n.mu.Lock()
			n.unspend(now)
			n.mu.Unlock()
		}
		n.record(ctx, nil, c.Name, "sms", err, true)
		out = append(out, TestResult{Contact: c.Name, Parts: parts, Err: err})
	}
	return out, nil
}

var okReply = regexp.MustCompile(`(?i)^\s*ok\s*(\d{4})\s*[.!]?\s*$`)

// HandleSMS takes an incoming SMS. "OK <code>" from a listed number
// acknowledges the alarm with that code; anything else is logged and
// ignored, so a stranger's SMS changes nothing.
func (n *Notifier) HandleSMS(ctx context.Context, from, text string) {
	var contact *config.NotifyContact
	for i, c := range n.cfg.Contacts {
		if samePhone(c.Number, from) {
			contact = &n.cfg.Contacts[i]
			break
		}
	}
	if contact == nil {
		n.log.Warn("SMS from an unlisted number ignored", "from", from, "text", clip(text))
		return
	}
	m := okReply.FindStringSubmatch(text)
	if m == nil {
		n.log.Info("SMS from a contact that is not an acknowledgement ignored", "contact", contact.Name, "text", clip(text))
		return
	}
	n.mu.Lock()
	var in *incident
	for _, i := range n.incidents {
		if i.code == m[1] {
			in = i
		}
	}
	n.mu.Unlock()
	if in == nil {
		n.log.Info("acknowledgement for no open alarm ignored", "contact", contact.Name, "code", m[1])
		return
	}
	if err := n.gw.AckAlarm(ctx, in.id, "sms:"+contact.Name); err != nil {
		n.log.Warn("acknowledge alarm by SMS", "alarm", in.id, "contact", contact.Name, "err", err)
	}
	n.mu.Lock()
	in.done = true
	delete(n.incidents, in.id)
	n.mu.Unlock()
	n.gw.Emit(ctx, []drivers.Event{{Device: in.device, Time: n.opts.Now(), Type: EventAcked, Severity: drivers.Info,
		Message: fmt.Sprintf("alarm acknowledged by SMS from %s", contact.Name),
		Attrs:   map[string]any{"alarm": in.id, "contact": contact.Name, "channel": "sms", "code": in.code}}})
	n.log.Info("alarm acknowledged by SMS", "alarm", in.id, "contact", contact.Name)
}

// samePhone compares numbers in international form; a sender shown as
// 0049... is the same as +49....
func samePhone(listed, from string) bool {
	norm := func(s string) string {
		s = strings.NewReplacer(" ", "", "-", "", "/", "").Replace(s)
		if strings.HasPrefix(s, "00") {
			s = "+" + s[2:]
		}
		return s
	}
	return norm(listed) != "" && norm(listed) == norm(from)
}

func clip(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

// Pending returns the codes of the open incidents by alarm id (web page).
func (n *Notifier) Pending() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]string{}
	for id, in := range n.incidents {
		out[id] = in.code
	}
	return out
}
