package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/web"
)

// setupCodeCmd prints the web page's pending one-time setup code, making
// it when the box has none yet, so the provider can print a sticker at
// staging (-sticker) and a technician with a shell can read it without the
// journal. The daemon uses the same stored code until an administrator
// exists (docs/web.md, "First run").
func setupCodeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("setup-code", "setup-code [-config FILE] [-sticker]", stderr)
	cfgPath := fs.String("config", "/etc/praxisgate/praxisgate.yaml", "the gateway's config file (its web.dir holds the code)")
	sticker := fs.Bool("sticker", false, "print the label to stick on the box instead of the bare code")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if cfg.Web.Listen == config.WebOff {
		return errors.New("setup-code: the web page is off in this config (web.listen)")
	}
	code, err := web.PendingSetupCode(cfg.Web.Dir)
	if err != nil {
		return fmt.Errorf("setup-code: %w", err)
	}
	if *sticker {
		fmt.Fprint(stdout, web.Sticker(code, cfg.Gateway, web.CertFingerprint(cfg.Web.Dir)))
		return nil
	}
	fmt.Fprintln(stdout, code)
	return nil
}
