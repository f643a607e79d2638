package webbackend

import (
	"context"
	"fmt"

	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/web"
)

// Options are what the daemon gives the web page besides the config.
type Options struct {
	// Logs supplies recent log lines for the diagnostics page (nil: none).
	Logs func() []string
	// Restart stops the daemon so that its service manager starts it
	// again; the settings page offers it as "Dienst neu starten" for
	// saved changes that wait for a restart. nil hides the button.
	Restart func(reason string)
	// Notify is the SMS/call notifier's page (nil: no notify section, no page).
	Notify web.NotifyView
	// IssueFile receives the setup code for the console login screen
	// while the page is not set up (web.Options.IssueFile); "" for none.
	IssueFile string
}

// Serve serves the technician's web page (config web:) until ctx ends.
// It returns at once when web.listen is off. A page that cannot start
// (port taken, no permission for :443) is an error for the caller to log;
// the gateway itself keeps running without it. Edits saved on the page
// are applied live where the daemon can (Backend.Apply).
func (b *Backend) Serve(ctx context.Context, o Options) error {
	cfg := b.Config()
	w := cfg.Web
	if w.Listen == config.WebOff {
		return nil
	}
	srv, err := web.New(web.Options{Backend: b, ColdChain: b.ColdChain(), Dir: w.Dir,
		Logger: b.log.With("part", "web"), Logs: o.Logs, Restart: o.Restart, Notify: o.Notify, IssueFile: o.IssueFile})
	if err != nil {
		return fmt.Errorf("web page: %w", err)
	}
	return srv.Run(ctx, w.Listen, w.RedirectListen)
}
