// Package nut reads UPSes that a NAS or server already manages through
// Network UPS Tools (the upsd protocol on TCP 3493), and serves the UPSes
// the gateway reads to the practice's own machines in the same protocol
// (see Server), so their upsmon, WinNUT or Synology client can shut them
// down cleanly on low battery.
//
// Variables keep their NUT names; ups.status is turned into the same
// conditions and events as the serial ups driver produces.
package nut

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/ups"
)

// DefaultPort is upsd's registered port.
const DefaultPort = "3493"

// Config is the `nut:` section of a device.
type Config struct {
	// Host is the NUT server, "host" or "host:port" (port 3493 if absent).
	Host string `yaml:"host"`
	// UPS is the UPS name on that server. Empty works when the server
	// has exactly one UPS.
	UPS string `yaml:"ups"`
	// Username and Password are sent when set. Reading needs no login on
	// a stock upsd, but some NAS firmwares refuse clients without one.
	Username string         `yaml:"username"`
	Password drivers.Secret `yaml:"password"`
	// Timeout bounds connecting and each exchange.
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{Timeout: 5 * time.Second} }

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "nut",
		Kind:     "ups",
		Doc:      "UPS managed by a NUT server (upsd, e.g. a Synology or QNAP NAS)",
		Defaults: DefaultConfig,
		New: func(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
			return New(cfg, log)
		},
	})
}

// Driver polls one UPS on a NUT server, keeping the connection open
// between polls as upsmon does.
type Driver struct {
	cfg  Config
	addr string
	log  *slog.Logger

	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
	ups  string   // resolved UPS name
	prev []string // ups.status flags of the last good poll
}

// New checks cfg; it does not connect.
func New(cfg Config, log *slog.Logger) (*Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	addr := strings.TrimSpace(cfg.Host)
	if addr == "" {
		errs = append(errs, drivers.Fieldf("host", "is required (e.g. nas.praxis.lan or 192.168.1.10:3493)"))
	} else {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(strings.Trim(addr, "[]"), DefaultPort)
		}
		if h, p, err := net.SplitHostPort(addr); err != nil || h == "" {
			errs = append(errs, drivers.Fieldf("host", "%q is not a host or host:port", cfg.Host))
		} else if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			errs = append(errs, drivers.Fieldf("host", "port %q is not a number from 1 to 65535", p))
		}
	}
	if cfg.UPS != "" && strings.ContainsAny(cfg.UPS, " \t\"\\@") {
		errs = append(errs, drivers.Fieldf("ups", "%q is not a NUT UPS name (no blanks, quotes or @)", cfg.UPS))
	}
	if cfg.Password != "" && cfg.Username == "" {
		errs = append(errs, drivers.Fieldf("username", "is required when a password is set"))
	}
	if strings.ContainsAny(cfg.Username, " \t\r\n\"") {
		errs = append(errs, drivers.Fieldf("username", "must not hold blanks or quotes"))
	}
	if strings.ContainsAny(cfg.Password.Reveal(), "\r\n") {
		errs = append(errs, drivers.Fieldf("password", "must be one line"))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Timeout < 100*time.Millisecond || cfg.Timeout > 5*time.Minute {
		errs = append(errs, drivers.Fieldf("timeout", "%s is out of range (100ms...5m)", cfg.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg, addr: addr, log: log, ups: cfg.UPS}, nil
}

// Poll reads all variables of the UPS once.
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
	if d.conn == nil {
		if err := d.connect(ctx); err != nil {
			return drivers.Sample{}, err
		}
	}
	stop := d.watch(ctx)
	defer stop()
	if d.ups == "" {
		list, err := d.exchangeUPSList()
		if err != nil {
			return drivers.Sample{}, d.wrap("list UPSes", err)
		}
		if len(list) != 1 {
			names := make([]string, len(list))
			for i, u := range list {
				names[i] = u.Name
			}
			return drivers.Sample{}, fmt.Errorf("nut: %s serves %d UPSes (%s); set ups: to one of them: %w",
				d.addr, len(list), strings.Join(names, ", "), drivers.ErrProtocol)
		}
		d.ups = list[0].Name
	}
	if err := d.send("LIST VAR " + d.ups); err != nil {
		return drivers.Sample{}, d.wrap("list variables", err)
	}
	vars, err := parseVarList(d.r, d.ups)
	if err != nil {
		return drivers.Sample{}, d.wrap("list variables of "+d.ups, err)
	}
	s := SampleFromVars(vars)
	flags := ups.ParseStatus(lookup(vars, "ups.status"))
	s.Conditions = ups.Conditions(flags)
	s.Events = ups.Transitions(d.prev, flags)
	d.prev = flags
	return s, nil
}

// watch makes a cancelled ctx interrupt blocked reads and writes, and
// sets the per-exchange deadline.
func (d *Driver) watch(ctx context.Context) (stop func()) {
	deadline := time.Now().Add(d.cfg.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = d.conn.SetDeadline(deadline)
	c := d.conn
	stopAfter := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return func() { stopAfter() }
}

func (d *Driver) connect(ctx context.Context) error {
	dialer := net.Dialer{Timeout: d.cfg.Timeout}
	c, err := dialer.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return fmt.Errorf("nut: connect %s: %w: %w", d.addr, drivers.ErrUnreachable, err)
	}
	d.conn, d.r = c, bufio.NewReaderSize(c, 1024)
	if d.cfg.Username == "" {
		return nil
	}
	stop := d.watch(ctx)
	defer stop()
	if err := d.simple("USERNAME " + d.cfg.Username); err != nil {
		return d.wrap("send username", err)
	}
	if d.cfg.Password != "" {
		// The password is quoted on the wire and never logged.
		if err := d.simple("PASSWORD " + quote(d.cfg.Password.Reveal())); err != nil {
			return d.wrap("send password", err)
		}
	}
	return nil
}

// simple sends a command that is answered by OK or ERR.
func (d *Driver) simple(cmd string) error {
	if err := d.send(cmd); err != nil {
		return err
	}
	line, err := readLine(d.r)
	if err != nil {
		return err
	}
	w, err := splitWords(line)
	if err != nil {
		return err
	}
	if e := errReply(w); e != nil {
		return e
	}
	if len(w) == 0 || w[0] != "OK" {
		return fmt.Errorf("want OK, got %q", clip(line))
	}
	return nil
}

func (d *Driver) exchangeUPSList() ([]Var, error) {
	if err := d.send("LIST UPS"); err != nil {
		return nil, err
	}
	return parseUPSList(d.r)
}

func (d *Driver) send(cmd string) error {
	_, err := d.conn.Write([]byte(cmd + "\n"))
	return err
}

// wrap classifies an error: ERR replies and garbled lines are protocol
// errors, everything else (timeouts, resets) means unreachable.
func (d *Driver) wrap(what string, err error) error {
	var se *ServerError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("nut: %s on %s: %w: %w", what, d.addr, drivers.ErrProtocol, err)
	case errors.As(err, &ne), errors.Is(err, net.ErrClosed), isConnErr(err):
		return fmt.Errorf("nut: %s on %s: %w: %w", what, d.addr, drivers.ErrUnreachable, err)
	}
	return fmt.Errorf("nut: %s on %s: %w: %w", what, d.addr, drivers.ErrProtocol, err)
}

// isConnErr reports a connection the server closed or reset.
func isConnErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (d *Driver) closeLocked() {
	if d.conn != nil {
		_ = d.conn.Close()
	}
	d.conn, d.r = nil, nil
	if d.cfg.UPS == "" {
		d.ups = ""
	}
}

// Close ends the connection (with LOGOUT, as upsd likes).
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		_ = d.conn.SetDeadline(time.Now().Add(time.Second))
		_ = d.send("LOGOUT")
	}
	d.closeLocked()
	return nil
}

func lookup(vars []Var, name string) string {
	for _, v := range vars {
		if v.Name == name {
			return v.Value
		}
	}
	return ""
}
