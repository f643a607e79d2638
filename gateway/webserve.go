package gateway

import (
	"context"
	"fmt"

	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/web"
)

// RunWeb serves the technician's web page (config web:) until ctx ends.
// logs supplies recent log lines for the diagnostics page (nil: none). It
// returns at once when web.listen is off. A page that cannot start (port
// taken, no permission for :443) is an error for the caller to log; the
// gateway itself keeps running without it.
func (g *Gateway) RunWeb(ctx context.Context, logs func() []string) error {
	w := g.cfg.Web
	if w.Listen == config.WebOff {
		return nil
	}
	srv, err := web.New(web.Options{Backend: g.Web(), ColdChain: g.WebColdChain(), Dir: w.Dir,
		Logger: g.log.With("part", "web"), Logs: logs})
	if err != nil {
		return fmt.Errorf("gateway: web page: %w", err)
	}
	return srv.Run(ctx, w.Listen, w.RedirectListen)
}
