package main

import (
	"context"
	"io"
	"time"

	"github.com/praxisgate/praxisgate/gateway/demo"
)

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [--broker tcp://HOST:PORT] [--data DIR] [--duration 75s]", stderr)
	o := demo.Options{Version: version, Out: stdout, Log: stderr}
	fs.StringVar(&o.Broker, "broker", "", "publish to this external broker (tcp://host:port) instead of the embedded one")
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:18830", "address of the embedded broker")
	fs.StringVar(&o.DataDir, "data", "", "keep the gateway's state and buffer in this directory (default: a temporary one)")
	fs.DurationVar(&o.Duration, "duration", 75*time.Second, "length of the demo (0: until Ctrl-C)")
	fs.DurationVar(&o.OutageAt, "outage-at", 28*time.Second, "when the internet link is cut")
	fs.DurationVar(&o.OutageFor, "outage-for", 15*time.Second, "how long the link stays down (0: no outage)")
	fs.BoolVar(&o.Verbose, "v", false, "also print the gateway's info log lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	sum, err := demo.Run(ctx, o)
	if err != nil {
		return err
	}
	if len(sum.Gaps) > 0 {
		return exitError{1}
	}
	return nil
}
