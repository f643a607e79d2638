package main

import (
	"context"
	"io"
	"os"
	"runtime/debug"

	"github.com/praxisgate/praxisgate/gateway"
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
	return g.Run(ctx)
}
