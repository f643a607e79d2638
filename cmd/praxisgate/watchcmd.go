package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/fleetwatch"
)

// watchCmd runs one instance of the provider-side fleet watcher (issue
// 21): start several with the same -group and they split the fleet.
func watchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("watch", "watch -broker URL [-config watch.yaml] [flags]", stderr)
	def := fleetwatch.Defaults()
	configPath := fs.String("config", "", "YAML file with the settings below (flags given explicitly override it)")
	cfg := def
	fs.StringVar(&cfg.Broker, "broker", "", "MQTT broker URL: tcp://host:1883 or tls://host:8883")
	fs.StringVar(&cfg.Username, "username", "", "broker user name")
	fs.StringVar(&cfg.PasswordFile, "password-file", "", "file holding the broker password")
	fs.StringVar(&cfg.CAFile, "ca-file", "", "CA file that verifies the broker's certificate (tls:// only)")
	fs.StringVar(&cfg.Group, "group", def.Group, "shared-subscription group; instances of one group split the fleet")
	fs.StringVar(&cfg.Prefix, "prefix", def.Prefix, "the boxes' topic prefix")
	fs.StringVar(&cfg.Instance, "instance", def.Instance, "this instance's name, unique in the group")
	fs.DurationVar(&cfg.Interval, "interval", def.Interval, "how often a box sends something")
	fs.Float64Var(&cfg.SilenceFactor, "silence-factor", def.SilenceFactor, "a box silent for this many intervals is offline")
	fs.DurationVar(&cfg.GapGrace, "gap-grace", def.GapGrace, "a missing seq still missing after this is reported")
	sla := fs.String("sla", "critical=15m,major=1h,minor=24h", "alarm SLA per severity: severity=duration,...; a severity left out is not watched")
	fs.StringVar(&cfg.Listen, "listen", def.Listen, "address of the Prometheus /metrics endpoint (empty: off)")
	fs.StringVar(&cfg.Webhook, "webhook", "", "Alertmanager-compatible webhook, e.g. http://am:9093/api/v2/alerts (empty: off)")
	fs.DurationVar(&cfg.Tick, "tick", def.Tick, "how often detections run and digests are passed on")
	fs.DurationVar(&cfg.OneOffHold, "one-off-hold", def.OneOffHold, "endsAt of one-off alerts (reboot, seq gap) after their start")
	resend := fs.Duration("resend", time.Minute, "re-post firing alerts this often (Alertmanager's resolve_timeout needs it); 0: never")
	if err := parse(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *configPath != "" {
		fromFile, err := fleetwatch.LoadYAML(*configPath, def)
		if err != nil {
			return err
		}
		// Explicit flags win over the file.
		flagged := cfg
		cfg = fromFile
		overrides := map[string]func(){
			"broker": func() { cfg.Broker = flagged.Broker }, "username": func() { cfg.Username = flagged.Username },
			"password-file": func() { cfg.PasswordFile = flagged.PasswordFile }, "ca-file": func() { cfg.CAFile = flagged.CAFile },
			"group": func() { cfg.Group = flagged.Group }, "prefix": func() { cfg.Prefix = flagged.Prefix },
			"instance": func() { cfg.Instance = flagged.Instance }, "interval": func() { cfg.Interval = flagged.Interval },
			"silence-factor": func() { cfg.SilenceFactor = flagged.SilenceFactor }, "gap-grace": func() { cfg.GapGrace = flagged.GapGrace },
			"listen": func() { cfg.Listen = flagged.Listen }, "webhook": func() { cfg.Webhook = flagged.Webhook },
			"tick": func() { cfg.Tick = flagged.Tick }, "one-off-hold": func() { cfg.OneOffHold = flagged.OneOffHold },
		}
		for name, apply := range overrides {
			if set[name] {
				apply()
			}
		}
	}
	if *configPath == "" || set["sla"] {
		m, err := parseSLA(*sla)
		if err != nil {
			return err
		}
		cfg.SLA = m
	}
	opts := fleetwatch.Options{Logger: slog.New(slog.NewTextHandler(stderr, nil)), Resend: *resend}
	if cfg.PasswordFile != "" {
		b, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return fmt.Errorf("read password file: %w", err)
		}
		opts.Password = strings.TrimRight(string(b), "\r\n")
	}
	w, err := fleetwatch.New(cfg, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "watch: instance %s of group %s on %s, offline after %s of silence\n", cfg.Instance, cfg.Group, cfg.Broker, cfg.Silence())
	return w.Run(ctx)
}

// parseSLA reads "critical=15m,major=1h"; an empty string watches none.
func parseSLA(s string) (map[string]time.Duration, error) {
	m := map[string]time.Duration{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		sev, d, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("-sla %q: want severity=duration", part)
		}
		dur, err := time.ParseDuration(d)
		if err != nil {
			return nil, fmt.Errorf("-sla %s: %w", sev, err)
		}
		m[sev] = dur
	}
	return m, nil
}
