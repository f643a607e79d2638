package gateway

import (
	"context"
	"fmt"

	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/web"
)

// WebOptions are what the daemon gives the web page besides the config.
type WebOptions struct {
	// Logs supplies recent log lines for the diagnostics page (nil: none).
	Logs func() []string
	// Restart stops the daemon so that its service manager starts it
	// again; the settings page offers it as "Dienst neu starten" for
	// saved changes that wait for a restart. nil hides the button.
	Restart func(reason string)
}

// RunWeb serves the technician's web page (config web:) until ctx ends,
// without the restart button; see ServeWeb.
func (g *Gateway) RunWeb(ctx context.Context, logs func() []string) error {
	return g.ServeWeb(ctx, WebOptions{Logs: logs})
}

// ServeWeb serves the technician's web page (config web:) until ctx ends.
// It returns at once when web.listen is off. A page that cannot start
// (port taken, no permission for :443) is an error for the caller to log;
// the gateway itself keeps running without it. Edits saved on the page
// are applied live where the daemon can (WebBackend.Apply).
func (g *Gateway) ServeWeb(ctx context.Context, o WebOptions) error {
	w := g.Config().Web
	if w.Listen == config.WebOff {
		return nil
	}
	srv, err := web.New(web.Options{Backend: g.Web(), ColdChain: g.WebColdChain(), Dir: w.Dir,
		Logger: g.log.With("part", "web"), Logs: o.Logs, Restart: o.Restart})
	if err != nil {
		return fmt.Errorf("gateway: web page: %w", err)
	}
	return srv.Run(ctx, w.Listen, w.RedirectListen)
}
