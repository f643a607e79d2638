package main

import (
	"context"
	"io"
	"os"
	"runtime/debug"
	"sync/atomic"

	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/update"
)

// defaultMemoryLimit is the Go runtime's soft memory limit for the daemon
// unless GOMEMLIMIT says otherwise. A Raspberry Pi with 1 GiB shares its
// memory with the OS and the page cache; without a limit the Go heap grows
// to twice its live size between collections (badger's compactions make
// the live size spiky), which doubles the resident memory for nothing.
const defaultMemoryLimit = 28 << 20

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run -config FILE", stderr)
	path := fs.String("config", "/etc/praxisgate/praxisgate.yaml", "config file")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	log := newLogger(stderr, cfg.Log)
	g, err := gateway.New(cfg, gateway.Options{Version: version, Logger: log})
	if err != nil {
		return err
	}

	// A restart (into an installed version, or back after a rollback)
	// stops the gateway like SIGTERM does, so the buffer is closed cleanly
	// before the next version opens it.
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
	startUpdates(runCtx, cfg, g, restart, log)
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
