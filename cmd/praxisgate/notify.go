package main

import (
	"context"
	"log/slog"
	"time"

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
