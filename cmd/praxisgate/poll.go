package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// pollResult is one line of `poll -json`.
type pollResult struct {
	Device     string                `json:"device"`
	Driver     string                `json:"driver"`
	Kind       string                `json:"kind"`
	TS         string                `json:"ts"`
	OK         bool                  `json:"ok"`
	Error      string                `json:"error,omitempty"`
	DurationMS float64               `json:"duration_ms"`
	Metrics    []contract.MetricJSON `json:"metrics"`
	Conditions []drivers.Condition   `json:"conditions,omitempty"`
	Events     []drivers.Event       `json:"events,omitempty"`
}

// pollCmd is the technician's quick check on site: every configured device
// is polled once, in parallel, each with its own timeout, and the readings
// are printed. Nothing is buffered or published.
func pollCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("poll", "poll -config FILE [-once] [-json] [-device ID]", stderr)
	path := fs.String("config", "/etc/praxisgate/praxisgate.yaml", "config file")
	fs.Bool("once", true, "poll one round and exit (the only mode)")
	asJSON := fs.Bool("json", false, "print one JSON object per device")
	only := fs.String("device", "", "poll only this device")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log)
	if !*asJSON {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if *only != "" {
		kept := cfg.Devices[:0]
		for _, d := range cfg.Devices {
			if d.ID == *only {
				d.Disabled = false
				kept = append(kept, d)
			}
		}
		if len(kept) == 0 {
			return fmt.Errorf("no device %q in %s", *only, *path)
		}
		cfg.Devices = kept
	}
	devs, err := gateway.BuildDrivers(cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		for _, d := range devs {
			if c, ok := d.Driver.(io.Closer); ok {
				c.Close()
			}
		}
	}()
	results := make([]pollResult, len(devs))
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = pollOne(ctx, d)
		}()
	}
	wg.Wait()
	failed := 0
	for _, r := range results {
		if !r.OK {
			failed++
		}
		if *asJSON {
			b, _ := json.Marshal(r)
			fmt.Fprintln(stdout, string(b))
			continue
		}
		printHuman(stdout, r)
	}
	if failed > 0 {
		if !*asJSON {
			fmt.Fprintf(stdout, "%d of %d device(s) failed\n", failed, len(results))
		}
		return exitError{1}
	}
	return nil
}

func pollOne(ctx context.Context, d gateway.Device) pollResult {
	r := pollResult{Device: d.Config.ID, Driver: d.Config.Driver, Kind: d.Config.Kind, Metrics: []contract.MetricJSON{}}
	pctx, cancel := context.WithTimeout(ctx, d.Config.Timeout)
	defer cancel()
	start := time.Now()
	type out struct {
		s   drivers.Sample
		err error
	}
	ch := make(chan out, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- out{err: fmt.Errorf("driver panicked: %v", p)}
			}
		}()
		s, err := d.Driver.Poll(pctx)
		ch <- out{s, err}
	}()
	var o out
	select {
	case o = <-ch:
	case <-pctx.Done():
		o.err = fmt.Errorf("no result within %s: %w", d.Config.Timeout, drivers.ErrUnreachable)
	}
	r.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	if o.err == nil {
		o.err = o.s.Validate()
	}
	ts := o.s.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	r.TS = contract.FormatTime(ts)
	if o.err != nil {
		r.Error = o.err.Error()
		return r
	}
	r.OK = true
	if o.s.Kind != "" {
		r.Kind = o.s.Kind
	}
	for _, m := range o.s.Metrics {
		r.Metrics = append(r.Metrics, contract.MetricJSON{Name: m.Name, Value: m.Value, Unit: m.Unit})
	}
	r.Conditions, r.Events = o.s.Conditions, o.s.Events
	return r
}

func printHuman(w io.Writer, r pollResult) {
	if !r.OK {
		fmt.Fprintf(w, "%-24s FAILED after %.0f ms: %s\n", r.Device, r.DurationMS, r.Error)
		return
	}
	fmt.Fprintf(w, "%-24s %s (%s) in %.0f ms\n", r.Device, r.Kind, r.Driver, r.DurationMS)
	ms := r.Metrics
	for _, m := range ms {
		fmt.Fprintf(w, "  %-28s %v%s\n", m.Name, m.Value, unitSuffix(m.Unit))
	}
	for _, c := range r.Conditions {
		fmt.Fprintf(w, "  ! %-8s %s: %s\n", c.Severity, c.Name, c.Message)
	}
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + strings.TrimSpace(u)
}
