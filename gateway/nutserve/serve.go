package nutserve

import (
	"context"
	"log/slog"

	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// Source is where the served readings come from (*gateway.Gateway).
type Source interface {
	Latest() []gateway.Latest
}

// UPSes returns the served UPSes of c by NUT name, from src's latest
// results. A UPS whose last poll failed, or that has not been polled yet,
// is served without variables: clients get DATA-STALE for it (upsmon
// counts it as stale, not as a healthy UPS on line, and not as a UPS that
// does not exist).
func UPSes(c config.NUTServer, src Source) func() map[string]map[string]string {
	return func() map[string]map[string]string {
		latest := map[string]gateway.Latest{}
		for _, l := range src.Latest() {
			latest[l.Sample.Device] = l
		}
		out := make(map[string]map[string]string, len(c.UPS))
		for name, id := range c.UPS {
			l, ok := latest[id]
			if !ok || l.Err != "" {
				out[name] = map[string]string{}
				continue
			}
			out[name] = VarsFromMetrics(l.Sample.Metrics)
		}
		return out
	}
}

// Run serves the configured UPS devices' latest readings in the NUT
// protocol until ctx ends (config nut_server:, which the loader checked).
// A server that cannot start is logged; the gateway runs on without it.
func Run(ctx context.Context, c config.NUTServer, src Source, log *slog.Logger) {
	srv := &Server{Allow: c.AllowPrefixes, Username: c.Username, Password: c.Password, Log: log, UPSes: UPSes(c, src)}
	if err := srv.Check(); err != nil {
		log.Error("nut server not started", "err", err)
		return
	}
	log.Info("serving UPS status in the NUT protocol", "listen", c.Listen, "ups", len(c.UPS))
	if err := srv.ListenAndServe(ctx, c.Listen); err != nil && ctx.Err() == nil {
		log.Error("nut server stopped", "err", err)
	}
}
