package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/alarm"

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
