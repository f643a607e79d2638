// Package check watches the availability of the practice's critical
// systems — practice software server, TI connector, router, an internet
// target — with ICMP ping, TCP connects or HTTP(S) requests, reporting
// latency and loss. A target that answers none of a poll's probes makes the
// poll fail with drivers.ErrUnreachable, which the gateway turns into the
// device.unreachable alarm (and holds back while the UPS is on battery).
package check

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "check",
		Kind:     "host",
		Doc:      "availability of a host or service: ICMP ping, TCP connect or HTTP(S), with latency and loss",
		Defaults: defaults,
		New:      New,
	})
}

// Driver probes one target.
type Driver struct {
	cfg Config
	log *slog.Logger

	// Injectable for tests: where the ping sysctl lives, which groups
	// the process has, and the clock used to time TCP and HTTP probes.
	pingGroupRange string
	groups         func() ([]int, error)
	now            func() time.Time
	sleep          func(context.Context, time.Duration) error

	http *httpProber
}

// New checks the config; it sends nothing.
func New(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.ExpectStatus = append([]int(nil), cfg.ExpectStatus...)
	if err := cfg.check(); err != nil {
		return nil, err
	}
	d := &Driver{
		cfg:            cfg,
		log:            log,
		pingGroupRange: DefaultPingGroupRange,
		groups:         processGroups,
		now:            time.Now,
		sleep:          sleepCtx,
	}
	if cfg.Method == "http" {
		d.http = newHTTPProber(cfg)
	}
	return d, nil
}

// result is the outcome of one poll's probes.
type result struct {
	sent, recv int
	rtts       []time.Duration
	lastErr    error
	extra      []drivers.Metric
}

// Poll runs Count probes and summarises them.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	var r result
	var err error
	switch d.cfg.Method {
	case "icmp":
		r, err = d.ping(ctx)
	case "tcp":
		r, err = d.repeat(ctx, d.tcpProbe)
	case "http":
		r, err = d.repeat(ctx, d.httpProbe)
	}
	if err != nil {
		return drivers.Sample{}, err
	}
	if ctx.Err() != nil {
		return drivers.Sample{}, fmt.Errorf("check: %s %s: %w", d.cfg.Method, d.cfg.target(), ctx.Err())
	}
	return summarise(d.cfg, r)
}

// summarise turns probe results into metrics, or the unreachable error
// when nothing answered.
func summarise(cfg Config, r result) (drivers.Sample, error) {
	if r.sent == 0 {
		return drivers.Sample{}, fmt.Errorf("check: %s %s: no probe was sent", cfg.Method, cfg.target())
	}
	if r.recv == 0 {
		err := r.lastErr
		if err == nil {
			err = errors.New("no answer")
		}
		if errors.Is(err, drivers.ErrProtocol) {
			return drivers.Sample{}, fmt.Errorf("check: %s %s: all %d probes failed: %w", cfg.Method, cfg.target(), r.sent, err)
		}
		return drivers.Sample{}, fmt.Errorf("check: %s %s: all %d probes failed: %w: %w", cfg.Method, cfg.target(), r.sent, drivers.ErrUnreachable, err)
	}
	var sum, max time.Duration
	for _, d := range r.rtts {
		sum += d
		if d > max {
			max = d
		}
	}
	mean := sum / time.Duration(len(r.rtts))
	s := drivers.Sample{Metrics: []drivers.Metric{
		drivers.Num("latency", mean.Seconds(), "s"),
		drivers.Num("latency.max", max.Seconds(), "s"),
		drivers.Num("loss", 100*float64(r.sent-r.recv)/float64(r.sent), "%"),
	}}
	s.Metrics = append(s.Metrics, r.extra...)
	return s, nil
}

// repeat runs a probe Count times with Spacing between, as ping does, so
// TCP and HTTP checks report loss the same way.
func (d *Driver) repeat(ctx context.Context, probe func(context.Context) (time.Duration, []drivers.Metric, error)) (result, error) {
	var r result
	for i := 0; i < d.cfg.Count; i++ {
		if i > 0 {
			if err := d.sleep(ctx, d.cfg.Spacing); err != nil {
				break
			}
		}
		if ctx.Err() != nil {
			break
		}
		r.sent++
		rtt, extra, err := probe(ctx)
		if err != nil {
			r.lastErr = err
			d.log.Debug("check: probe failed", "target", d.cfg.target(), "err", err)
			continue
		}
		r.recv++
		r.rtts = append(r.rtts, rtt)
		if extra != nil {
			r.extra = extra
		}
	}
	return r, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func processGroups() ([]int, error) {
	gs, err := os.Getgroups()
	if err != nil {
		return nil, err
	}
	return append(gs, os.Getgid(), os.Getegid()), nil
}
