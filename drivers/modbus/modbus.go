// Package modbus reads fridge controllers, climate and industrial sensors
// over Modbus TCP and Modbus RTU (serial line). The register map lives in
// the device's config, because every vendor lays out registers differently
// and the technician must be able to add a model without a new release.
package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/simonvetter/modbus"

	"github.com/praxisgate/praxisgate/drivers"
)

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "modbus",
		Kind:     "sensor",
		Doc:      "Modbus TCP or RTU device with a register map (fridges, climate sensors)",
		Defaults: defaults,
		New:      New,
	})
}

// Driver polls one Modbus unit. It keeps its connection open between polls
// (fridge controllers often allow a single TCP client, and reconnecting
// every 10 s would fight the vendor's own software) and drops it after any
// transport error so the next poll starts clean.
type Driver struct {
	dev    drivers.Device
	cfg    Config
	log    *slog.Logger
	blocks []block
	client *modbus.ModbusClient
}

// New checks the config; it opens nothing.
func New(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Registers = append([]Register(nil), cfg.Registers...)
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &Driver{dev: dev, cfg: cfg, log: log, blocks: planBlocks(cfg.Registers)}, nil
}

// url is the library's notion of where the unit is.
func (d *Driver) url() string {
	if d.cfg.Transport == "rtu" {
		return "rtu://" + d.cfg.Device
	}
	return "tcp://" + d.cfg.Address
}

// connect opens the client on first use or after a transport error.
func (d *Driver) connect() error {
	if d.client != nil {
		return nil
	}
	conf := &modbus.ClientConfiguration{
		URL:     d.url(),
		Timeout: d.cfg.Timeout,
		// The library logs its own view of each failure; we return the
		// error and log it once where it is handled, so keep its lines
		// at debug level.
		Logger: slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}
	if d.cfg.Transport == "rtu" {
		conf.Speed = d.cfg.Baud
		conf.DataBits = 8
		conf.StopBits = d.cfg.StopBits
		switch d.cfg.Parity {
		case "even":
			conf.Parity = modbus.PARITY_EVEN
		case "odd":
			conf.Parity = modbus.PARITY_ODD
		default:
			conf.Parity = modbus.PARITY_NONE
		}
	}
	c, err := modbus.NewClient(conf)
	if err != nil {
		return fmt.Errorf("modbus: configure client for %s: %w", d.url(), err)
	}
	if err := c.Open(); err != nil {
		return fmt.Errorf("modbus: open %s: %w: %w", d.url(), drivers.ErrUnreachable, err)
	}
	if err := c.SetUnitId(d.cfg.UnitID); err != nil {
		c.Close()
		return fmt.Errorf("modbus: set unit id %d: %w", d.cfg.UnitID, err)
	}
	d.client = c
	return nil
}

// drop closes the connection so the next poll reconnects.
func (d *Driver) drop() {
	if d.client != nil {
		d.client.Close()
		d.client = nil
	}
}

// Poll reads every block of the register map and decodes it. The library
// has no context support; each request is bounded by Timeout instead, and
// ctx is checked between requests.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	if err := d.connect(); err != nil {
		return drivers.Sample{}, err
	}
	var s drivers.Sample
	values := make([]float64, len(d.cfg.Registers))
	ok := make([]bool, len(d.cfg.Registers))
	for _, b := range d.blocks {
		if err := ctx.Err(); err != nil {
			return drivers.Sample{}, fmt.Errorf("modbus: poll %s: %w", d.url(), err)
		}
		rt := modbus.HOLDING_REGISTER
		if b.table == "input" {
			rt = modbus.INPUT_REGISTER
		}
		raw, err := d.client.ReadRawBytes(b.start, b.count*2, rt)
		if err != nil {
			return drivers.Sample{}, d.classify(fmt.Sprintf("read %d %s registers at %d", b.count, b.table, b.start), err)
		}
		if len(raw) != int(b.count)*2 {
			d.drop()
			return drivers.Sample{}, fmt.Errorf("modbus: read %s registers at %d: %w: got %d bytes, want %d",
				b.table, b.start, drivers.ErrProtocol, len(raw), b.count*2)
		}
		for _, i := range b.regs {
			r := d.cfg.Registers[i]
			n, _ := registerWords(r.Type)
			off := int(r.Address-b.start) * 2
			v, err := decode(r, raw[off:off+int(n)*2])
			if err != nil {
				// One broken probe must not hide the others; the
				// condition lets the alarm engine tell the operator.
				s.Conditions = append(s.Conditions, drivers.Condition{
					Name:     "modbus." + r.Name + ".invalid",
					Severity: drivers.Major,
					Message:  fmt.Sprintf("Register %d (%s) holds no valid reading: %v", r.Address, r.Name, err),
				})
				continue
			}
			values[i], ok[i] = v, true
		}
	}
	// Report in the order of the config, which is the order the
	// technician thinks in, not the order of the wire.
	for i, r := range d.cfg.Registers {
		if ok[i] {
			s.Metrics = append(s.Metrics, drivers.Num(r.Name, values[i], r.Unit))
		}
	}
	return s, nil
}

// classify wraps a library error with the sentinel that tells the gateway
// whether the device is gone or answered nonsense, and drops the connection
// when the byte stream can no longer be trusted.
func (d *Driver) classify(what string, err error) error {
	var me modbus.Error
	if errors.As(err, &me) {
		switch me {
		case modbus.ErrIllegalFunction, modbus.ErrIllegalDataAddress, modbus.ErrIllegalDataValue,
			modbus.ErrServerDeviceFailure, modbus.ErrServerDeviceBusy, modbus.ErrAcknowledge,
			modbus.ErrMemoryParityError:
			// A clean exception reply: the link is fine, the map is not.
			return fmt.Errorf("modbus: %s: %w: %w", what, drivers.ErrProtocol, err)
		case modbus.ErrRequestTimedOut, modbus.ErrGWPathUnavailable, modbus.ErrGWTargetFailedToRespond:
			d.drop()
			return fmt.Errorf("modbus: %s: %w: %w", what, drivers.ErrUnreachable, err)
		default:
			d.drop()
			return fmt.Errorf("modbus: %s: %w: %w", what, drivers.ErrProtocol, err)
		}
	}
	// Socket errors: reset, refused, deadline.
	d.drop()
	return fmt.Errorf("modbus: %s: %w: %w", what, drivers.ErrUnreachable, err)
}

// Close releases the TCP socket or serial port.
func (d *Driver) Close() error {
	d.drop()
	return nil
}
