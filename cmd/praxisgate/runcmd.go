package main

import (
	"context"
	"io"

	"github.com/praxisgate/praxisgate/gateway"
)

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
	log := newLogger(stderr, cfg.Log)
	g, err := gateway.New(cfg, gateway.Options{Version: version, Logger: log})
	if err != nil {
		return err
	}
	return g.Run(ctx)
}
