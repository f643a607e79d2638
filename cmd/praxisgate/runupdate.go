package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/selfupdate"
	"github.com/praxisgate/praxisgate/update"
)

// startUpdates starts the self-update when the config has an update:
// section: the trial of this version (commit or roll back), then periodic
// checks. A box that cannot update (no root file, not provisioned, a
// development build) logs why and runs on without updates; the gateway
// also reports it as an update.failed event. It returns the running
// updater for the update commands and the web page, or nil (a nil
// *selfupdate.SelfUpdate answers that updates are off). web says that this
// daemon serves the web page, which a version on trial must then have up.
func startUpdates(ctx context.Context, cfg *config.Config, g *gateway.Gateway, restart func() error, web bool, log *slog.Logger) *selfupdate.SelfUpdate {
	if !cfg.Update.On() {
		return nil
	}
	if cfg.Update.InsecureHTTP {
		log.Warn("update repository over plain http (update.insecure_http): only for a lab", "repo", cfg.Update.Repo)
	}
	root, err := os.ReadFile(cfg.Update.RootFile)
	if err != nil {
		log.Error("self-update off: cannot read the provider's root metadata", "err", err)
		return nil
	}
	u, err := selfupdate.New(g, selfupdate.Options{TrustedRoot: root, Restart: restart, Web: web, Hook: faultHook, Logger: log})
	if err != nil {
		log.Error("self-update off", "err", err)
		return nil
	}
	go func() {
		if err := u.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("self-update stopped", "err", err)
		}
	}()
	return u
}

// faultHook is called at the named steps of an update (download-half,
// downloaded, staged, state-written:trial, switched, trial,
// state-written:commit). It stays nil in release builds; only the tests'
// fault-injection build (-tags pgfault, faultinject_pgfault.go) sets it,
// to kill the daemon at a step as a power cut would.
var faultHook func(step string)

// underServiceManager tells whether something restarts the daemon when it
// exits: systemd (INVOCATION_ID for every service, NOTIFY_SOCKET for
// Type=notify) or "praxisgate update supervise" (NOTIFY_SOCKET).
func underServiceManager() bool {
	return os.Getenv("NOTIFY_SOCKET") != "" || os.Getenv("INVOCATION_ID") != ""
}

// restartDaemon follows a restart request once the gateway has stopped.
// Under a service manager the daemon just exits 0 and is started again
// (by systemd after ExecStartPre's boot accounting). Without one it
// replaces itself with the committed binary's "update boot -exec", which
// does the same accounting and then executes the current version with
// the same arguments; without updates configured, with its own binary.
func restartDaemon(cfg *config.Config, configPath string, log *slog.Logger) error {
	if underServiceManager() {
		log.Info("exiting for the service manager to restart the daemon")
		return nil
	}
	if !cfg.Update.On() {
		// No versioned install to boot through: start this binary again.
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("restart: %w", err)
		}
		log.Info("re-executing", "binary", self)
		if err := update.Reexec(append([]string{self}, os.Args[1:]...), os.Environ()); err != nil {
			return fmt.Errorf("restart: %w", err)
		}
		return nil
	}
	var argv []string
	if cfg.Update.On() {
		l := &update.Layout{Dir: cfg.Update.Dir}
		argv = []string{l.CommittedBinary(), "update", "boot", "-exec", "-state", cfg.Update.Dir, "--", "run", "-config", configPath}
	} else {
		// No install tree (a restart command on a box without updates):
		// start this binary again.
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("restart: find own binary: %w", err)
		}
		argv = []string{exe, "run", "-config", configPath}
	}
	log.Info("re-executing through the boot accounting", "argv", argv)
	if err := update.Reexec(argv, os.Environ()); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}
