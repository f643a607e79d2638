// Package sim is a synthetic device for the demo and for tests of the
// gateway: a vaccine fridge whose door can be left open, a room climate
// sensor and a UPS that loses mains power, each driven by a script of
// failures so the scheduler, alarm engine and buffer can be exercised
// without hardware.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Config is the device's `sim:` section.
type Config struct {
	// Scenario is fridge, room or ups.
	Scenario string `yaml:"scenario"`
	// Seed makes the noise reproducible; 0 derives one from the device id.
	Seed int64 `yaml:"seed"`
	// Failures make polls fail during the given windows.
	Failures []Failure `yaml:"failures"`
	// Episodes are the scenario's story: a fridge door left open, a mains
	// failure of the UPS, a hot day in the server room.
	Episodes []Episode `yaml:"episodes"`
	// Speed runs scenario time faster than real time (the demo shows a
	// 20-minute fridge excursion in under a minute). Failures and episodes
	// are given in scenario time. Default 1.
	Speed float64 `yaml:"speed"`
}

// Failure is a window in which every poll fails.
type Failure struct {
	// At is when the window starts, counted from the driver's start.
	At time.Duration `yaml:"at"`
	// For is how long it lasts.
	For time.Duration `yaml:"for"`
	// Mode is error (the device refuses) or hang (the poll blocks until
	// its timeout).
	Mode string `yaml:"mode"`
	// Every repeats the window; 0 means once.
	Every time.Duration `yaml:"every"`
}

// Episode is a window of abnormal physics.
type Episode struct {
	At    time.Duration `yaml:"at"`
	For   time.Duration `yaml:"for"`
	Every time.Duration `yaml:"every"`
}

func (w window) active(t time.Duration) (bool, time.Duration) {
	if t < w.at {
		return false, 0
	}
	rel := t - w.at
	if w.every > 0 {
		rel %= w.every
	}
	if rel < w.dur {
		return true, rel
	}
	return false, rel - w.dur
}

type window struct{ at, dur, every time.Duration }

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name: "sim",
		Kind: "sim",
		Doc:  "synthetic fridge, room climate or UPS with scripted failures, for the demo and tests",
		Defaults: func() Config {
			return Config{Scenario: "fridge", Speed: 1}
		},
		New: func(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
			return New(dev, cfg, time.Now)
		},
	})
}

// Sim is the driver.
type Sim struct {
	dev      drivers.Device
	scenario string
	failures []window
	modes    []string
	episodes []window
	now      func() time.Time
	speed    float64

	mu      sync.Mutex
	start   time.Time
	rng     *rand.Rand
	charge  float64 // UPS battery charge in %
	lastT   time.Duration
	wasOB   bool
	hasPoll bool
}

// New builds a Sim with an injectable clock; the scenario time starts at the
// first Poll.
func New(dev drivers.Device, cfg Config, now func() time.Time) (*Sim, error) {
	var errs []error
	switch cfg.Scenario {
	case "fridge", "room", "ups":
	default:
		errs = append(errs, drivers.Fieldf("scenario", "must be fridge, room or ups, not %q", cfg.Scenario))
	}
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	if cfg.Speed < 0 || cfg.Speed > 10000 {
		errs = append(errs, drivers.Fieldf("speed", "must be between 0 and 10000, not %v", cfg.Speed))
	}
	s := &Sim{dev: dev, scenario: cfg.Scenario, now: now, charge: 100, speed: cfg.Speed}
	for i, f := range cfg.Failures {
		if f.For <= 0 {
			errs = append(errs, drivers.Fieldf(fmt.Sprintf("failures[%d].for", i), "must be > 0"))
		}
		if f.Every != 0 && f.Every <= f.For {
			errs = append(errs, drivers.Fieldf(fmt.Sprintf("failures[%d].every", i), "must be longer than for (%s)", f.For))
		}
		switch f.Mode {
		case "", "error", "hang":
		default:
			errs = append(errs, drivers.Fieldf(fmt.Sprintf("failures[%d].mode", i), "must be error or hang, not %q", f.Mode))
		}
		s.failures = append(s.failures, window{f.At, f.For, f.Every})
		s.modes = append(s.modes, f.Mode)
	}
	for i, e := range cfg.Episodes {
		if e.For <= 0 {
			errs = append(errs, drivers.Fieldf(fmt.Sprintf("episodes[%d].for", i), "must be > 0"))
		}
		if e.Every != 0 && e.Every <= e.For {
			errs = append(errs, drivers.Fieldf(fmt.Sprintf("episodes[%d].every", i), "must be longer than for (%s)", e.For))
		}
		s.episodes = append(s.episodes, window{e.At, e.For, e.Every})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	seed := cfg.Seed
	if seed == 0 {
		for _, c := range dev.ID {
			seed = seed*31 + int64(c)
		}
	}
	s.rng = rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	return s, nil
}

// Poll produces the scenario's reading for the current time.
func (s *Sim) Poll(ctx context.Context) (drivers.Sample, error) {
	s.mu.Lock()
	now := s.now()
	if !s.hasPoll {
		s.start, s.hasPoll = now, true
	}
	t := time.Duration(float64(now.Sub(s.start)) * s.speed)
	for i, f := range s.failures {
		if on, _ := f.active(t); on {
			mode := s.modes[i]
			s.mu.Unlock()
			if mode == "hang" {
				<-ctx.Done()
				return drivers.Sample{}, fmt.Errorf("sim %s: no answer: %w", s.dev.ID, drivers.ErrUnreachable)
			}
			return drivers.Sample{}, fmt.Errorf("sim %s: scripted failure: %w", s.dev.ID, drivers.ErrUnreachable)
		}
	}
	defer s.mu.Unlock()
	var smp drivers.Sample
	switch s.scenario {
	case "fridge":
		smp = s.fridge(t)
	case "room":
		smp = s.room(t)
	case "ups":
		smp = s.ups(t)
	}
	smp.Time = now
	s.lastT = t
	return smp, nil
}

func (s *Sim) noise(amp float64) float64 { return (s.rng.Float64()*2 - 1) * amp }

// episode reports whether an episode is running and for how long, or how
// long ago the most recent one ended and how long that one lasted.
func (s *Sim) episode(t time.Duration) (on bool, since, after, lasted time.Duration, ended bool) {
	after = time.Duration(math.MaxInt64)
	for _, e := range s.episodes {
		a, rel := e.active(t)
		if a {
			return true, rel, 0, e.dur, true
		}
		if t >= e.at && rel < after {
			after, lasted, ended = rel, e.dur, true
		}
	}
	return false, 0, after, lasted, ended
}

// fridge models a 5 °C fridge; with the door open it warms towards the
// room (time constant 4 minutes), closed again it cools back (8 minutes).
func (s *Sim) fridge(t time.Duration) drivers.Sample {
	const set, room = 5.0, 21.0
	temp := set
	open, since, after, lasted, ended := s.episode(t)
	switch {
	case open:
		temp = room - (room-set)*math.Exp(-since.Minutes()/4)
	case ended:
		// The peak was reached when the door closed; then it cools back.
		peak := room - (room-set)*math.Exp(-lasted.Minutes()/4)
		temp = set + (peak-set)*math.Exp(-after.Minutes()/8)
	}
	temp += 0.3*math.Sin(t.Minutes()/7*2*math.Pi) + s.noise(0.05)
	door := 0.0
	if open {
		door = 1
	}
	return drivers.Sample{Kind: "fridge", Metrics: []drivers.Metric{
		drivers.Num("temperature", round(temp, 2), "°C"),
		drivers.Num("door.open", door, ""),
	}}
}

// room models an office at 22 °C and 45 % humidity; an episode is a hot
// afternoon (+8 °C).
func (s *Sim) room(t time.Duration) drivers.Sample {
	temp := 22 + 0.8*math.Sin(t.Hours()/24*2*math.Pi)
	if open, since, _, _, _ := s.episode(t); open {
		temp += 8 * (1 - math.Exp(-since.Minutes()/10))
	}
	return drivers.Sample{Kind: "climate", Metrics: []drivers.Metric{
		drivers.Num("temperature", round(temp+s.noise(0.1), 2), "°C"),
		drivers.Num("humidity", round(45+s.noise(1), 1), "%"),
	}}
}

// ups models a 1000 VA UPS at 30 % load; an episode is a mains failure:
// the battery drains at 2 %/s of scenario time until low battery at 20 %,
// and charges at 0.5 %/s when mains returns.
func (s *Sim) ups(t time.Duration) drivers.Sample {
	dt := (t - s.lastT).Seconds()
	if dt < 0 {
		dt = 0
	}
	ob, _, _, _, _ := s.episode(t)
	var status string
	inV := 230 + s.noise(2)
	if ob {
		s.charge = math.Max(0, s.charge-2*dt)
		inV = 0
		status = "OB DISCHRG"
	} else {
		s.charge = math.Min(100, s.charge+0.5*dt)
		status = "OL"
		if s.charge < 100 {
			status = "OL CHRG"
		}
	}
	lb := s.charge <= 20
	if lb {
		status += " LB"
	}
	load := 30 + s.noise(2)
	runtime := s.charge / 100 * 1800 * 30 / load
	smp := drivers.Sample{Kind: "ups", Metrics: []drivers.Metric{
		drivers.Text("ups.status", status),
		drivers.Num("battery.charge", round(s.charge, 1), "%"),
		drivers.Num("battery.runtime", math.Round(runtime), "s"),
		drivers.Num("input.voltage", round(inV, 1), "V"),
		drivers.Num("output.voltage", round(230+s.noise(1), 1), "V"),
		drivers.Num("ups.load", round(load, 1), "%"),
		drivers.Text("device.model", "Sim-UPS 1000"),
	}}
	if ob {
		smp.Conditions = append(smp.Conditions, drivers.Condition{Name: "ups.on_battery", Severity: drivers.Major, Message: "UPS is on battery: mains power failed"})
	}
	if lb {
		smp.Conditions = append(smp.Conditions, drivers.Condition{Name: "ups.low_battery", Severity: drivers.Critical, Message: "UPS battery low: shutdown imminent"})
	}
	if s.wasOB && !ob {
		smp.Events = append(smp.Events, drivers.Event{Type: "ups.on_line", Severity: drivers.Info, Message: "UPS back on mains power"})
	}
	s.wasOB = ob
	return smp
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
