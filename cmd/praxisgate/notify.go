package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/command/handlers"

	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/notify"
	"github.com/praxisgate/praxisgate/gateway/notify/modem"
	"github.com/praxisgate/praxisgate/gateway/web"
)

// startNotify starts alarms by SMS and call (gateway/notify) when the
// config has a notify section, and returns nil otherwise. core is the
// gateway seen through notify.Core: its uplink state, AckAlarm, Emit and
// Subscribe (docs/notify.md, "Wiring"). The caller closes the service
// after the gateway's Run has returned.
func startNotify(ctx context.Context, cfg *config.Config, core notify.Core, log *slog.Logger) (*notify.Service, error) {
	if cfg.Notify == nil {
		return nil, nil
	}
	return notify.Start(ctx, *cfg.Notify, core, notify.Options{
		Site: cfg.Site, Location: time.Local, Log: log.With("part", "notify"),
	})
}

// modemCheckTimeout bounds one poll of the modem's health source; the
// poll reads what the modem session last saw and does no I/O.
const modemCheckTimeout = 5 * time.Second

// sourceAdder is the gateway as the modem's health source needs it.
type sourceAdder interface {
	AddSource(s gateway.Source) error
}

// addModemSource makes the notifier's modem a reading source of the
// gateway (config.NotifyDevice, kind modem): its signal, registration and
// SIM become telemetry, and modem absent, not answering, SIM missing or
// locked and no network become alarms through the alarm engine, like a
// device's conditions. It is polled every health_interval.
func addModemSource(g sourceAdder, cfg *config.Config, svc *notify.Service) error {
	interval := cfg.Notify.Modem.HealthInterval
	if interval == 0 {
		interval = config.DefaultNotifyHealthInterval
	}
	return g.AddSource(gateway.Source{ID: config.NotifyDevice, Kind: "modem", Driver: svc.Modem,
		Interval: interval, Timeout: min(modemCheckTimeout, interval)})
}

// notifySMS is the running notifier as the notify-test command sees it
// (handlers.SMSTester).
type notifySMS struct{ n *notify.Notifier }

func (s notifySMS) Contacts() []string { return s.n.Contacts() }

func (s notifySMS) TestSMS(ctx context.Context, name string) []handlers.SMSTestResult {
	res, err := s.n.TestEach(ctx, name)
	if err != nil {
		// The handler checked the name against Contacts; a config
		// cannot change under a running notifier.
		return []handlers.SMSTestResult{{Contact: name, Error: err.Error()}}
	}
	out := make([]handlers.SMSTestResult, len(res))
	for i, r := range res {
		out[i] = handlers.SMSTestResult{Contact: r.Contact, OK: r.Err == nil, Parts: r.Parts}
		if r.Err != nil {
			out[i].Error = r.Err.Error()
		}
	}
	return out
}

// notifyWeb shows a running notifier on the web page (web.Options.Notify).
type notifyWeb struct{ svc *notify.Service }

func (w notifyWeb) NotifyModem() web.NotifyModem {
	h := w.svc.Modem.Health()
	m := web.NotifyModem{Present: h.Present, Responding: h.Responding && h.Present, SIM: h.SIM, Registration: h.Reg, Err: h.Err}
	if dbm, ok := modem.RSSIdBm(h.RSSI); ok && h.Present {
		m.SignalDBm, m.HasSignal = dbm, true
	}
	return m
}

func (w notifyWeb) NotifyRecent() []web.NotifyRecord {
	recs := w.svc.Notifier.Recent()
	out := make([]web.NotifyRecord, len(recs))
	for i, r := range recs {
		out[i] = web.NotifyRecord{Time: r.Time, Alarm: r.Alarm, Contact: r.Contact, Channel: r.Channel, OK: r.OK, Test: r.Test, Error: r.Error}
	}
	return out
}

func (w notifyWeb) NotifyTest(ctx context.Context, contact string) error {
	return w.svc.Notifier.Test(ctx, contact)
}

// notifyCore is the gateway as the notifier sees it (notify.Core): the
// uplink's state, acknowledgements, events, and a subscription to every
// event the gateway records, fed by gateway.OnEvent.
type notifyCore struct {
	g   *gateway.Gateway
	log *slog.Logger

	mu   sync.Mutex
	next int
	subs map[int]func(drivers.Event)
}

func newNotifyCore(g *gateway.Gateway, log *slog.Logger) *notifyCore {
	c := &notifyCore{g: g, log: log, subs: map[int]func(drivers.Event){}}
	g.OnEvent(c.observe)
	return c
}

func (c *notifyCore) UplinkConnected() bool { return c.g.Stats().Uplink.Connected }

func (c *notifyCore) AckAlarm(ctx context.Context, id, by string) error {
	return c.g.AckAlarm(ctx, id, by)
}

func (c *notifyCore) Emit(ctx context.Context, evs []drivers.Event) {
	if err := c.g.Emit(ctx, evs...); err != nil {
		c.log.Error("notify: record events", "err", err)
	}
}

func (c *notifyCore) Alarms() []alarm.Alarm { return c.g.Alarms() }

func (c *notifyCore) Subscribe(f func(drivers.Event)) (cancel func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.next
	c.next++
	c.subs[id] = f
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.subs, id)
	}
}

func (c *notifyCore) observe(e drivers.Event) {
	c.mu.Lock()
	fs := make([]func(drivers.Event), 0, len(c.subs))
	for _, f := range c.subs {
		fs = append(fs, f)
	}
	c.mu.Unlock()
	for _, f := range fs {
		f(e)
	}
}
