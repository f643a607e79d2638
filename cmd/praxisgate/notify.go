package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/notify"
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
