package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

func checkConfigCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config", "check-config FILE", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	cfg, err := config.Load(fs.Arg(0))
	if err != nil {
		var ce *config.Errors
		if errors.As(err, &ce) {
			fmt.Fprintln(stdout, ce.Error())
			fmt.Fprintf(stdout, "%d problem(s) in %s\n", len(ce.List), fs.Arg(0))
			return exitError{1}
		}
		return err
	}
	fmt.Fprintf(stdout, "%s: OK (site %s, gateway %s, %d device(s), %d alarm rule(s))\n", fs.Arg(0), cfg.Site, cfg.Gateway, len(cfg.Devices), len(cfg.Alarms))
	return nil
}

func driversCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("drivers", "drivers", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, n := range drivers.Names() {
		f, _ := drivers.Lookup(n)
		fmt.Fprintf(stdout, "%-12s %s\n", n, f.Doc)
	}
	return nil
}

// newLogger builds the daemon's logger from the config's log section.
func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var lvl slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// loadConfig loads a config and prints its problems the way check-config
// does, so a daemon refusing to start says exactly why.
func loadConfig(path string, stderr io.Writer) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		var ce *config.Errors
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, ce.Error())
			return nil, fmt.Errorf("%d problem(s) in %s", len(ce.List), path)
		}
		return nil, err
	}
	return cfg, nil
}
