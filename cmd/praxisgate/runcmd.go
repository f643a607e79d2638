package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/command/configguard"
	"github.com/praxisgate/praxisgate/gateway/command/handlers"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/fridgehist"
	"github.com/praxisgate/praxisgate/gateway/logring"
	"github.com/praxisgate/praxisgate/gateway/nutserve"
	"github.com/praxisgate/praxisgate/gateway/watchdog"
	"github.com/praxisgate/praxisgate/gateway/webbackend"
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
	// The overview's sparkline sees every reading from the first on.
	temps := fridgehist.New(g.Config)
	g.OnSample(temps.Observe)
	// The SMS notifier follows every recorded event (set before Run).
	ncore := newNotifyCore(g, log)

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
	// Alarms by SMS and call while the uplink is down (notify: section).
	notifier, err := startNotify(runCtx, cfg, ncore, log)
	if err != nil {
		log.Error("alarms by SMS not available", "err", err)
	}
	if notifier != nil {
		defer notifier.Close()
		// The modem's health reaches the provider and the alarms like a
		// device's readings.
		if err := addModemSource(g, cfg, notifier); err != nil {
			log.Error("the SMS modem's health is not reported", "err", err)
		}
	}
	// The web page is served below unless web.listen is off; a version on
	// trial must then have it answering before it commits.
	updater := startUpdates(runCtx, cfg, g, restart, cfg.Web.Listen != config.WebOff, log)
	page := webbackend.New(g, temps, log)
	if updater != nil {
		page.SetUpdater(updater)
	}
	opts := handlers.Options{Log: ring, Guard: guard, Pending: pending, Logger: log,
		Restart: func(reason string) {
			log.Warn("daemon restarting", "reason", reason)
			restart()
		}}
	if updater != nil {
		opts.Updater = updater
	}
	if notifier != nil {
		opts.SMS = notifySMS{notifier.Notifier}
	}
	cmds, err := handlers.Start(runCtx, g, opts)
	if err != nil {
		cancel()
		<-done
		return err
	}
	defer cmds.Close()
	pageOpts := webbackend.Options{Logs: func() []string { return ring.Lines(500) }, Restart: opts.Restart}
	if notifier != nil {
		pageOpts.Notify = notifyWeb{notifier}
	}
	// systemd's RuntimeDirectory=praxisgate (the image's unit): the setup
	// code goes to the console login screen from there (docs/web.md).
	if rd := os.Getenv("RUNTIME_DIRECTORY"); rd != "" {
		pageOpts.IssueFile = filepath.Join(strings.Split(rd, ":")[0], "setup.issue")
	}
	go func() {
		if err := page.Serve(runCtx, pageOpts); err != nil && runCtx.Err() == nil {
			log.Error("web page not available", "err", err)
		}
	}()
	// The NUT server answers the practice's servers from the gateway's
	// latest UPS readings; it ends with runCtx, before the buffer closes.
	nutDone := make(chan struct{})
	go func() {
		defer close(nutDone)
		if cfg.NUTServer.Listen != "" {
			nutserve.Run(runCtx, cfg.NUTServer, g, log.With("part", "nut-server"))
		}
	}()
	go func() {
		if err := update.Watchdog(runCtx, watchdog.Alive(runCtx, g, cfg.Self.Interval)); err != nil {
			log.Error("watchdog stopped", "err", err)
		}
	}()
	if err := update.NotifyReady(); err != nil {
		log.Warn("could not tell the service manager that the daemon is ready", "err", err)
	}
	err = <-done
	cancel()
	<-nutDone
	if err != nil {
		return err
	}
	if restarting.Load() && ctx.Err() == nil {
		return restartDaemon(cfg, *path, log)
	}
	return nil
}
