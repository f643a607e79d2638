// Package ups reads an uninterruptible power supply over its RS-232 cable
// (often through a USB-serial adapter), speaking either the Megatec/Q1
// protocol of the many no-name and OEM units or APC's "smart" protocol.
// Readings carry Network UPS Tools names (battery.charge, ups.status...)
// so that a UPS read here and one read from a NAS through the nut driver
// look the same to the alarm engine and the provider.
//
// The port is opened on the first Poll and reopened after any failure, so
// an adapter that is unplugged and plugged back in (even under a new
// /dev/ttyUSBn behind a stable udev symlink) recovers by itself.
package ups

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/tarm/serial"

	"github.com/praxisgate/praxisgate/drivers"
)

// The protocol names accepted in Config.Protocol.
const (
	ProtoAuto     = "auto"
	ProtoMegatec  = "megatec"
	ProtoAPCSmart = "apcsmart"
)

// Config is the `ups:` section of a device.
type Config struct {
	// Port is the serial device, ideally a stable udev name such as
	// /dev/serial/by-id/usb-Prolific...-port0 rather than /dev/ttyUSB0.
	Port string `yaml:"port"`
	// Protocol is auto, megatec or apcsmart. auto asks Q1 first, then Y.
	Protocol string `yaml:"protocol"`
	// Baud defaults to 2400, what both protocols use.
	Baud int `yaml:"baud"`
	// Parity is none, even or odd (default none: 8N1).
	Parity string `yaml:"parity"`
	// DataBits is 7 or 8 (default 8).
	DataBits int `yaml:"data_bits"`
	// StopBits is 1 or 2 (default 1).
	StopBits int `yaml:"stop_bits"`
	// ReplyTimeout bounds the wait for one reply; a UPS that stays silent
	// this long counts as unreachable.
	ReplyTimeout time.Duration `yaml:"reply_timeout"`
	// IdentityEvery re-reads model, firmware and rating this often even
	// without a reconnect (0 = only after a reconnect).
	IdentityEvery time.Duration `yaml:"identity_every"`
}

// DefaultConfig returns the defaults: 2400 8N1, auto-detected protocol.
func DefaultConfig() Config {
	return Config{
		Protocol:      ProtoAuto,
		Baud:          2400,
		Parity:        "none",
		DataBits:      8,
		StopBits:      1,
		ReplyTimeout:  time.Second,
		IdentityEvery: time.Hour,
	}
}

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "ups",
		Kind:     "ups",
		Doc:      "UPS on a serial cable: Megatec/Q1 or APC smart protocol",
		Defaults: DefaultConfig,
		New: func(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
			return New(cfg, log)
		},
	})
}

// reading is what one protocol poll found, before normalisation into a
// Sample.
type reading struct {
	metrics []drivers.Metric
	flags   []string
	alerts  []byte
}

func (r *reading) num(name string, v float64, unit string) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	r.metrics = append(r.metrics, drivers.Num(name, v, unit))
}

func (r *reading) text(name, v string) {
	if v != "" {
		r.metrics = append(r.metrics, drivers.Text(name, v))
	}
}

// poller is one protocol's poll over an open link.
type poller interface {
	poll(ctx context.Context) (reading, error)
}

// Driver polls one serial UPS. It is not safe for concurrent Polls, which
// the scheduler never makes.
type Driver struct {
	cfg      Config
	settings portSettings
	log      *slog.Logger
	// open is replaceable in tests.
	open  func(portSettings) (io.ReadWriteCloser, error)
	now   func() time.Time
	sleep func(time.Duration)

	mu     sync.Mutex // guards port against Close during Poll
	port   io.ReadWriteCloser
	link   *link
	proto  string // detected or configured protocol of the open port
	p      poller
	opened time.Time
	// prev holds the status flags of the last good poll; it survives
	// reconnects so an outage seen across a replug still yields its edge.
	prev []string
	// hint is the protocol auto-detection found last; it is probed first
	// after a reconnect. It survives reconnects like prev.
	hint string
}

// New checks cfg and builds the driver; it does not touch the port.
func New(cfg Config, log *slog.Logger) (*Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if strings.TrimSpace(cfg.Port) == "" {
		errs = append(errs, drivers.Fieldf("port", "is required (e.g. /dev/ttyUSB0)"))
	}
	switch cfg.Protocol {
	case ProtoAuto, ProtoMegatec, ProtoAPCSmart:
	case "":
		cfg.Protocol = ProtoAuto
	default:
		errs = append(errs, drivers.Fieldf("protocol", "unknown protocol %q (want auto, megatec or apcsmart)", cfg.Protocol))
	}
	switch cfg.Baud {
	case 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200:
	case 0:
		cfg.Baud = 2400
	default:
		errs = append(errs, drivers.Fieldf("baud", "unsupported rate %d (want 1200...115200; UPSes use 2400)", cfg.Baud))
	}
	s := portSettings{path: cfg.Port, baud: cfg.Baud}
	switch strings.ToLower(cfg.Parity) {
	case "", "none", "n":
		s.parity = serial.ParityNone
	case "even", "e":
		s.parity = serial.ParityEven
	case "odd", "o":
		s.parity = serial.ParityOdd
	default:
		errs = append(errs, drivers.Fieldf("parity", "unknown parity %q (want none, even or odd)", cfg.Parity))
	}
	switch cfg.DataBits {
	case 0, 8:
		s.dataBits = 8
	case 7:
		s.dataBits = 7
	default:
		errs = append(errs, drivers.Fieldf("data_bits", "want 7 or 8, got %d", cfg.DataBits))
	}
	switch cfg.StopBits {
	case 0, 1:
		s.stopBits = serial.Stop1
	case 2:
		s.stopBits = serial.Stop2
	default:
		errs = append(errs, drivers.Fieldf("stop_bits", "want 1 or 2, got %d", cfg.StopBits))
	}
	if cfg.ReplyTimeout == 0 {
		cfg.ReplyTimeout = time.Second
	}
	if cfg.ReplyTimeout < 200*time.Millisecond || cfg.ReplyTimeout > time.Minute {
		errs = append(errs, drivers.Fieldf("reply_timeout", "%s is out of range (200ms...1m)", cfg.ReplyTimeout))
	}
	if cfg.IdentityEvery < 0 {
		errs = append(errs, drivers.Fieldf("identity_every", "must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg, settings: s, log: log, open: openPort, now: time.Now, sleep: time.Sleep}, nil
}

// Poll reads the UPS once. Any failure closes the port, so the next Poll
// reopens it: that is how a replugged USB adapter is picked up.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, err := d.poll(ctx)
	if err != nil {
		d.closeLocked()
	}
	return s, err
}

func (d *Driver) poll(ctx context.Context) (drivers.Sample, error) {
	if d.port == nil {
		port, err := d.open(d.settings)
		if err != nil {
			return drivers.Sample{}, fmt.Errorf("ups: open %s: %w: %w", d.cfg.Port, drivers.ErrUnreachable, err)
		}
		d.port = port
		d.link = newLink(port)
		d.link.now, d.link.sleep = d.now, d.sleep
		d.opened = d.now()
		d.proto = ""
		d.log.Debug("ups: port opened", "port", d.cfg.Port)
	}
	if d.p == nil || (d.cfg.IdentityEvery > 0 && d.now().Sub(d.opened) > d.cfg.IdentityEvery) {
		if err := d.choose(ctx); err != nil {
			return drivers.Sample{}, err
		}
		d.opened = d.now()
	}
	rd, err := d.p.poll(ctx)
	if err != nil {
		return drivers.Sample{}, fmt.Errorf("ups: %s: %w", d.proto, classify(err))
	}
	s := drivers.Sample{Kind: "ups", Time: d.now()}
	s.Metrics = append(rd.metrics,
		drivers.Text("ups.status", strings.Join(rd.flags, " ")),
		drivers.Text("ups.protocol", d.proto))
	s.Conditions = Conditions(rd.flags)
	s.Events = Transitions(d.prev, rd.flags)
	for _, c := range rd.alerts {
		// Keep only the alerts that say something the status does not.
		if c == '|' || c == '&' {
			s.Events = append(s.Events, drivers.Event{Type: "ups.alert", Severity: drivers.Info,
				Message: alertMessage(c), Attrs: map[string]any{"alert": string(c)}})
		}
	}
	d.prev = rd.flags
	return s, nil
}

// choose settles the protocol of a freshly opened port: the configured
// one, or the first that answers its status query.
func (d *Driver) choose(ctx context.Context) error {
	mk := func(proto string) poller {
		d.link.strip, d.link.onStrip = nil, nil
		if proto == ProtoMegatec {
			return &megatec{link: d.link, timeout: d.cfg.ReplyTimeout}
		}
		a := &apcSmart{link: d.link, timeout: d.cfg.ReplyTimeout}
		d.link.strip = isAPCAlert
		d.link.onStrip = func(c byte) { a.alerts = append(a.alerts, c) }
		return a
	}
	if d.cfg.Protocol != ProtoAuto {
		d.proto, d.p = d.cfg.Protocol, mk(d.cfg.Protocol)
		return nil
	}
	// Q1 first: a Megatec unit would buffer a bare "Y" and choke on the
	// next command, while an APC unit in smart mode just answers Q1 with
	// its status register and NA, which we discard. An APC unit fresh
	// from power-up answers nothing at all until it gets Y, so the first
	// probe gets at most half of the time left: the second must still fit
	// into the same poll. Once a protocol was found it is probed first.
	order := []string{ProtoMegatec, ProtoAPCSmart}
	if d.hint == ProtoAPCSmart {
		order = []string{ProtoAPCSmart, ProtoMegatec}
	}
	var errs [2]error
	for i, proto := range order {
		timeout := d.cfg.ReplyTimeout
		if dl, ok := ctx.Deadline(); ok && i == 0 {
			if half := dl.Sub(d.now()) / 2; half < timeout {
				timeout = max(half, 50*time.Millisecond)
			}
		}
		var err error
		var p poller
		if proto == ProtoMegatec {
			m := mk(ProtoMegatec).(*megatec)
			m.timeout = timeout
			var st q1Status
			st, err = m.readStatus(ctx)
			m.timeout = d.cfg.ReplyTimeout
			if err == nil {
				m.probed = &st
			}
			p = m
		} else {
			a := mk(ProtoAPCSmart).(*apcSmart)
			a.timeout = timeout
			err = a.enterSmart(ctx)
			a.timeout = d.cfg.ReplyTimeout
			if err != nil {
				// A Megatec unit now holds "Y" in its input buffer; a
				// CR makes it echo and forget it before the next query.
				_ = d.link.send([]byte("\r"))
			}
			p = a
		}
		if err == nil {
			d.proto, d.p, d.hint = proto, p, proto
			d.log.Info("ups: detected protocol", "port", d.cfg.Port, "protocol", proto)
			return nil
		}
		errs[i] = err
		if ctx.Err() != nil {
			return fmt.Errorf("ups: detect protocol (%s: %v): %w", proto, err, classify(ctx.Err()))
		}
		var rerr *readErr
		if errors.As(err, &rerr) {
			return fmt.Errorf("ups: detect protocol: %w", classify(err))
		}
	}
	// Garbled bytes on either probe mean something is there: a protocol
	// error, not silence.
	last := errs[1]
	if errors.Is(errs[0], errGarbled) && !errors.Is(last, errGarbled) {
		last = errs[0]
	}
	return fmt.Errorf("ups: detect protocol: neither %s (%v) nor %s (%v) answered: %w",
		order[0], errs[0], order[1], errs[1], classify(last))
}

// readErr marks a failure of the port itself (read or write error), as
// opposed to silence or a bad reply.
type readErr struct{ err error }

func (e *readErr) Error() string { return e.err.Error() }
func (e *readErr) Unwrap() error { return e.err }

// classify adds the drivers sentinel to an error from the protocol code.
func classify(err error) error {
	switch {
	case errors.Is(err, drivers.ErrProtocol), errors.Is(err, drivers.ErrUnreachable):
		return err
	case errors.Is(err, errNotSupported), errors.Is(err, errGarbled):
		return fmt.Errorf("%w: %w", drivers.ErrProtocol, err)
	case errors.Is(err, errNoReply), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", drivers.ErrUnreachable, err)
	case errors.Is(err, context.Canceled):
		return err
	}
	// Read and write errors: the port went away (EIO on an unplugged
	// adapter or a closed pty).
	return fmt.Errorf("%w: %w", drivers.ErrUnreachable, err)
}

func (d *Driver) closeLocked() {
	if d.port != nil {
		_ = d.port.Close()
		d.log.Debug("ups: port closed", "port", d.cfg.Port)
	}
	d.port, d.link, d.p, d.proto = nil, nil, nil, ""
}

// Close releases the port.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closeLocked()
	return nil
}
