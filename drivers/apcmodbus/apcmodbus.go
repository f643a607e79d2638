// Package apcmodbus reads an APC Smart-UPS (SMT, SMX, SRT, SMC and later)
// over its Modbus RTU interface, the protocol APC put into the serial port
// (RJ45 "Serial" port, enabled in the UPS menu) of the units that no longer
// speak the "smart" protocol. The register map is APC's (Application Note
// #176, "Modbus Implementation in APC Smart-UPS", document MPAO-98KJ7F;
// see docs/drivers/apcmodbus.md). Readings carry the NUT names the serial
// ups and the USB upshid drivers publish, so alarms work the same.
package apcmodbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/ups"
)

// Config is the `apcmodbus:` section of a device.
type Config struct {
	// Device is the serial port (a USB-RS232 adapter on the UPS's RJ45
	// serial port, APC cable AP940-0625A).
	Device string `yaml:"device"`
	// Baud defaults to 9600, APC's Modbus default.
	Baud uint `yaml:"baud"`
	// Parity is none, even or odd (default none).
	Parity string `yaml:"parity"`
	// StopBits is 1 or 2 (default 1).
	StopBits uint `yaml:"stop_bits"`
	// UnitID is the Modbus address set in the UPS menu (default 1).
	UnitID uint8 `yaml:"unit_id"`
	// Timeout bounds each request (default 1s).
	Timeout time.Duration `yaml:"timeout"`
}

func defaults() Config {
	return Config{Baud: 9600, Parity: "none", StopBits: 1, UnitID: 1, Timeout: time.Second}
}

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "apcmodbus",
		Kind:     "ups",
		Doc:      "APC Smart-UPS (SMT/SMX/SRT) over Modbus RTU on its serial port",
		Defaults: defaults,
		New: func(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
			return New(dev, cfg, log)
		},
	})
}

// Register addresses and scales (APC AN #176). Scaled values are binary
// fixed point: the raw number divided by 2^n.
const (
	regStatus      = 0   // UPSStatus_BF, 2 registers
	regSignal      = 18  // SimpleSignalingStatus_BF
	regBattErr     = 22  // BatterySystemError_BF
	regTestStatus  = 23  // ReplaceBatteryTestStatus_BF
	regCalStatus   = 24  // RunTimeCalibrationStatus_BF
	statusCount    = 27  // registers 0..26
	regRuntime     = 128 // BatteryRunTimeRemaining, 2 registers, s
	regCharge      = 130 // StateOfCharge, /512 %
	regBattV       = 131 // BatteryVoltage, signed /32 V
	regBattDate    = 133 // BatteryDateReplacement... days since 2000-01-01
	regBattTemp    = 135 // BatteryTemperature, signed /128 °C
	regLoad        = 136 // OutputRealPowerPct, /256 %
	regOutCurrent  = 140 // OutputCurrent, /32 A
	regOutVoltage  = 142 // OutputVoltage, /64 V
	regOutFreq     = 144 // OutputFrequency, /128 Hz
	regInputStatus = 150 // InputStatus_BF
	dynCount       = 23  // registers 128..150
	regInVoltage   = 151 // InputVoltage, /64 V (read on its own, see Poll)
	regFirmware    = 516 // 8 registers of text
	regModel       = 532 // 16 registers
	regSerial      = 564 // 8 registers
	inventoryCount = 56  // 516..571
	regTestCommand = 1541
)

// UPSStatus_BF bits.
const (
	stOnline    = 1 << 1
	stOnBattery = 1 << 2
	stBypass    = 1 << 3
	stOutputOff = 1 << 4
	stFault     = 1 << 5
	stOverload  = 1 << 21
)

var testResults = []struct {
	bit  uint16
	text string
	sev  drivers.Severity
	done bool
}{
	{1 << 0, "Pending", drivers.Info, false},
	{1 << 1, "In progress", drivers.Info, false},
	{1 << 2, "Done and passed", drivers.Info, true},
	{1 << 3, "Done and error", drivers.Major, true},
	{1 << 4, "Refused", drivers.Minor, true},
	{1 << 5, "Aborted", drivers.Minor, true},
}

// Driver polls one APC Modbus UPS.
type Driver struct {
	dev drivers.Device
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	client   *modbus.ModbusClient
	identity []drivers.Metric
	prev     []string
	prevTest string
	noInputV bool
}

// New checks cfg; it opens nothing.
func New(dev drivers.Device, cfg Config, log *slog.Logger) (*Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if strings.TrimSpace(cfg.Device) == "" {
		errs = append(errs, drivers.Fieldf("device", "is required (e.g. /dev/ttyUSB0)"))
	}
	switch cfg.Baud {
	case 0:
		cfg.Baud = 9600
	case 1200, 2400, 4800, 9600, 19200, 38400:
	default:
		errs = append(errs, drivers.Fieldf("baud", "unsupported rate %d (APC offers 9600 and 19200)", cfg.Baud))
	}
	switch cfg.Parity {
	case "", "none", "even", "odd":
	default:
		errs = append(errs, drivers.Fieldf("parity", "unknown parity %q (want none, even or odd)", cfg.Parity))
	}
	switch cfg.StopBits {
	case 0:
		cfg.StopBits = 1
	case 1, 2:
	default:
		errs = append(errs, drivers.Fieldf("stop_bits", "want 1 or 2, got %d", cfg.StopBits))
	}
	if cfg.UnitID == 0 || cfg.UnitID > 247 {
		errs = append(errs, drivers.Fieldf("unit_id", "%d is not a Modbus unit address (1...247)", cfg.UnitID))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Timeout < 50*time.Millisecond || cfg.Timeout > 30*time.Second {
		errs = append(errs, drivers.Fieldf("timeout", "%s is out of range (50ms...30s)", cfg.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Driver{dev: dev, cfg: cfg, log: log}, nil
}

func (d *Driver) connect() error {
	if d.client != nil {
		return nil
	}
	conf := &modbus.ClientConfiguration{
		URL: "rtu://" + d.cfg.Device, Speed: d.cfg.Baud, DataBits: 8, StopBits: d.cfg.StopBits,
		Timeout: d.cfg.Timeout, Logger: slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}
	switch d.cfg.Parity {
	case "even":
		conf.Parity = modbus.PARITY_EVEN
	case "odd":
		conf.Parity = modbus.PARITY_ODD
	default:
		conf.Parity = modbus.PARITY_NONE
	}
	c, err := modbus.NewClient(conf)
	if err != nil {
		return fmt.Errorf("apcmodbus: configure %s: %w", d.cfg.Device, err)
	}
	if err := c.Open(); err != nil {
		return fmt.Errorf("apcmodbus: open %s: %w: %w", d.cfg.Device, drivers.ErrUnreachable, err)
	}
	if err := c.SetUnitId(d.cfg.UnitID); err != nil {
		c.Close()
		return fmt.Errorf("apcmodbus: unit id %d: %w", d.cfg.UnitID, err)
	}
	d.client, d.identity = c, nil
	return nil
}

func (d *Driver) drop() {
	if d.client != nil {
		d.client.Close()
		d.client = nil
	}
}

// read reads holding registers, classifying failures.
func (d *Driver) read(addr, n uint16) ([]uint16, error) {
	v, err := d.client.ReadRegisters(addr, n, modbus.HOLDING_REGISTER)
	if err == nil && len(v) != int(n) {
		err = fmt.Errorf("%w: got %d registers, want %d", drivers.ErrProtocol, len(v), n)
	}
	if err == nil {
		return v, nil
	}
	var me modbus.Error
	if errors.As(err, &me) && me != modbus.ErrRequestTimedOut && me != modbus.ErrProtocolError && me != modbus.ErrBadCRC &&
		me != modbus.ErrShortFrame && me != modbus.ErrBadUnitId && me != modbus.ErrBadTransactionId && me != modbus.ErrUnknownProtocolId {
		// A clean exception reply: the unit is there, this block is not.
		return nil, fmt.Errorf("apcmodbus: read %d registers at %d: %w: %w", n, addr, drivers.ErrProtocol, err)
	}
	d.drop()
	if errors.As(err, &me) && me != modbus.ErrRequestTimedOut {
		return nil, fmt.Errorf("apcmodbus: read %d registers at %d: %w: %w", n, addr, drivers.ErrProtocol, err)
	}
	return nil, fmt.Errorf("apcmodbus: read %d registers at %d: %w: %w", n, addr, drivers.ErrUnreachable, err)
}

// isException reports a clean Modbus exception reply.
func isException(err error) bool {
	var me modbus.Error
	return errors.As(err, &me) && (me == modbus.ErrIllegalDataAddress || me == modbus.ErrIllegalFunction || me == modbus.ErrIllegalDataValue)
}

// Poll reads the status, dynamic and (once per connection) inventory blocks.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.connect(); err != nil {
		return drivers.Sample{}, err
	}
	st, err := d.read(regStatus, statusCount)
	if err != nil {
		return drivers.Sample{}, err
	}
	if err := ctx.Err(); err != nil {
		return drivers.Sample{}, fmt.Errorf("apcmodbus: %w", err)
	}
	dyn, err := d.read(regRuntime, dynCount)
	if err != nil {
		return drivers.Sample{}, err
	}
	var inV []uint16
	if !d.noInputV {
		// Some firmwares end the dynamic block before InputVoltage; a
		// refusal is remembered for the connection, not an error.
		if inV, err = d.read(regInVoltage, 1); err != nil {
			if !isException(err) {
				return drivers.Sample{}, err
			}
			d.noInputV = true
			d.log.Info("apcmodbus: the UPS does not serve InputVoltage (register 151)", "err", err)
		}
	}
	if d.identity == nil {
		d.identity = []drivers.Metric{drivers.Text("device.mfr", "APC")}
		if inv, err := d.read(regFirmware, inventoryCount); err == nil {
			add := func(name string, at, n int) {
				if s := text(inv[at-regFirmware : at-regFirmware+n]); s != "" {
					d.identity = append(d.identity, drivers.Text(name, s))
				}
			}
			add("ups.firmware", regFirmware, 8)
			add("device.model", regModel, 16)
			add("device.serial", regSerial, 8)
		} else if !isException(err) {
			return drivers.Sample{}, err
		}
	}
	s := decode(st, dyn, inV)
	s.Metrics = append(append([]drivers.Metric(nil), d.identity...), s.Metrics...)
	flags := ups.ParseStatus(metricText(s, "ups.status"))
	s.Conditions = ups.Conditions(flags)
	s.Events = ups.Transitions(d.prev, flags)
	d.prev = flags
	if r := metricText(s, "ups.test.result"); r != "" {
		for _, t := range testResults {
			if t.text == r && t.done && d.prevTest != "" && d.prevTest != r {
				s.Events = append(s.Events, drivers.Event{Type: "ups.self_test", Severity: t.sev,
					Message: "UPS self-test finished: " + r, Attrs: map[string]any{"ups.test.result": r}})
			}
		}
		d.prevTest = r
	}
	return s, nil
}

// decode turns the register blocks into a sample (status block at 0,
// dynamic block at 128, InputVoltage when served).
func decode(st, dyn, inV []uint16) drivers.Sample {
	var s drivers.Sample
	s.Kind = "ups"
	at := func(reg int) uint16 { return dyn[reg-regRuntime] }
	signed := func(reg int) float64 { return float64(int16(at(reg))) }
	s.Metrics = append(s.Metrics,
		drivers.Num("battery.runtime", float64(uint32(at(regRuntime))<<16|uint32(at(regRuntime+1))), "s"),
		drivers.Num("battery.charge", float64(at(regCharge))/512, "%"),
		drivers.Num("battery.voltage", signed(regBattV)/32, "V"),
		drivers.Num("battery.temperature", signed(regBattTemp)/128, "°C"),
		drivers.Num("ups.load", float64(at(regLoad))/256, "%"),
		drivers.Num("output.current", float64(at(regOutCurrent))/32, "A"),
		drivers.Num("output.voltage", float64(at(regOutVoltage))/64, "V"),
		drivers.Num("output.frequency", float64(at(regOutFreq))/128, "Hz"),
	)
	if len(inV) == 1 {
		s.Metrics = append(s.Metrics, drivers.Num("input.voltage", float64(inV[0])/64, "V"))
	}
	if days := at(regBattDate); days != 0 && days != 0xffff {
		s.Metrics = append(s.Metrics, drivers.Text("battery.date.maintenance",
			time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(days)).Format("2006-01-02")))
	}
	status := uint32(st[regStatus])<<16 | uint32(st[regStatus+1])
	var flags []string
	switch {
	case status&stOnBattery != 0:
		flags = append(flags, ups.FlagOnBattery)
	case status&stOnline != 0:
		flags = append(flags, ups.FlagOnLine)
	}
	if st[regSignal]&(1<<1) != 0 { // ShutdownImminent
		flags = append(flags, ups.FlagLowBattery)
	}
	if st[regBattErr]&(1<<2) != 0 { // NeedsReplacement
		flags = append(flags, ups.FlagReplaceBatt)
	}
	if status&stOnBattery != 0 {
		flags = append(flags, ups.FlagDischarging)
	}
	if status&stBypass != 0 {
		flags = append(flags, ups.FlagBypass)
	}
	if status&stOutputOff != 0 {
		flags = append(flags, ups.FlagOff)
	}
	if status&stOverload != 0 {
		flags = append(flags, ups.FlagOverload)
	}
	if status&stFault != 0 {
		flags = append(flags, ups.FlagAlarm)
	}
	if in := at(regInputStatus); in&(1<<5) != 0 {
		flags = append(flags, ups.FlagBoost)
	} else if in&(1<<6) != 0 {
		flags = append(flags, ups.FlagTrim)
	}
	if st[regCalStatus]&(1<<1) != 0 {
		flags = append(flags, ups.FlagCalibrating)
	}
	s.Metrics = append(s.Metrics, drivers.Text("ups.status", strings.Join(flags, " ")))
	result := "No test initiated"
	for _, t := range testResults {
		if st[regTestStatus]&t.bit != 0 {
			result = t.text
			break
		}
	}
	s.Metrics = append(s.Metrics, drivers.Text("ups.test.result", result), drivers.Text("ups.driver", "apcmodbus"))
	return s
}

// text reads an APC string register block: two ASCII characters per
// register, high byte first, padded with spaces or NULs.
func text(regs []uint16) string {
	b := make([]byte, 0, 2*len(regs))
	for _, r := range regs {
		b = append(b, byte(r>>8), byte(r))
	}
	out := strings.Builder{}
	for _, c := range b {
		if c == 0 {
			break
		}
		if c >= 0x20 && c < 0x7f {
			out.WriteByte(c)
		}
	}
	return strings.TrimSpace(out.String())
}

func metricText(s drivers.Sample, name string) string {
	for _, m := range s.Metrics {
		if m.Name == name {
			if v, ok := m.Value.(string); ok {
				return v
			}
		}
	}
	return ""
}

// SelfTest starts the battery self-test (ReplaceBatteryTestCommand_BF
// Start); the result comes as ups.test.result and an ups.self_test event.
// APC has one kind of test, so deep is ignored.
func (d *Driver) SelfTest(ctx context.Context, deep bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.connect(); err != nil {
		return err
	}
	if err := d.client.WriteRegister(regTestCommand, 1); err != nil {
		d.drop()
		return fmt.Errorf("apcmodbus: start self-test: %w: %w", drivers.ErrUnreachable, err)
	}
	return nil
}

// Close releases the port.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.drop()
	return nil
}
