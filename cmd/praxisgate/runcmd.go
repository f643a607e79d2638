package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync/atomic"

	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/command/configguard"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/logring"
	"github.com/praxisgate/praxisgate/update"
)

// defaultMemoryLimit is the Go runtime's soft memory limit for the daemon
// unless GOMEMLIMIT says otherwise. A Raspberry Pi with 1 GiB shares its
// memory with the OS and the page cache; without a limit the Go heap grows
// to twice its live size between collections (badger's compactions make
// the live size spiky), which doubles the resident memory for nothing.
const defaultMemoryLimit = 28 << 20

// logLines is how many recent log lines the daemon keeps in memory for the
// web page, get-log and the support bundle.
const logLines = 2000

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run -config FILE", stderr)
	path := fs.String("config", "/etc/praxisgate/praxisgate.yaml", "config file")
	if err := parse(fs, args); err != nil {
		return err
	}
	// The guard settles a config pushed by set-config before the last
	// restart: it loads it, or the previous file when it does not load.
	guard := configguard.New(*path, slog.New(slog.NewTextHandler(stderr, nil)))
	cfg, pending, err := guard.Load(func(p string) (*config.Config, error) { return loadConfig(p, stderr) })
	if err != nil {
		return err
	}
	// Only a version on trial must be ready within the unit's short
	// TimeoutStartSec; the known good one gets time for a large buffer.
	updateDir := ""
	if cfg.Update.On() {
		updateDir = cfg.Update.Dir
	}
	if err := update.ExtendStartUnlessOnTrial(updateDir); err != nil {
		slog.New(slog.NewTextHandler(stderr, nil)).Warn("could not ask the service manager for more start time", "err", err)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ring := logring.NewRing(logLines)
	log := slog.New(logring.New(newLogger(stderr, cfg.Log).Handler(), ring, slog.LevelInfo))
	g, err := gateway.New(cfg, gateway.Options{Version: version, Logger: log})
	if err != nil {
		return err
	}

	// A restart (a command, a config change, an installed update or a
	// rollback) stops the gateway like SIGTERM does, so the buffer is
	// closed cleanly before the next process opens it.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var restarting atomic.Bool
	restart := func() error {
		restarting.Store(true)
		cancel()
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(runCtx) }()
	// ServeWeb below serves the page unless web.listen is off; a version on
	// trial must then have it answering before it commits.
	updater := startUpdates(runCtx, cfg, g, restart, cfg.Web.Listen != config.WebOff, log)
	g.SetSelfUpdate(updater)
	opts := gateway.CommandOptions{Log: ring, Guard: guard, Pending: pending,
		Restart: func(reason string) {
			log.Warn("daemon restarting", "reason", reason)
			restart()
		}}
	if updater != nil {
		opts.Updater = updater
	}
	cmds, err := g.StartCommands(runCtx, opts)
	if err != nil {
		cancel()
		<-done
		return err
	}
	defer cmds.Close()
	go func() {
		if err := g.ServeWeb(runCtx, gateway.WebOptions{Logs: func() []string { return ring.Lines(500) }, Restart: opts.Restart}); err != nil && runCtx.Err() == nil {
			log.Error("web page not available", "err", err)
		}
	}()
	go func() {
		if err := update.Watchdog(runCtx, g.WatchAlive(runCtx)); err != nil {
			log.Error("watchdog stopped", "err", err)
		}
	}()
	if err := update.NotifyReady(); err != nil {
		log.Warn("could not tell the service manager that the daemon is ready", "err", err)
	}
	if err := <-done; err != nil {
		return err
	}
	if restarting.Load() && ctx.Err() == nil {
		return restartDaemon(cfg, *path, log)
	}
	return nil
}
