package modbus

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Config is the device's `modbus:` section. A fridge controller or an
// industrial sensor is described entirely here: where it is (TCP address or
// serial line), which unit id answers, and a register map that says how to
// turn raw 16-bit words into named readings, since every vendor lays its
// registers out differently.
type Config struct {
	// Transport is "tcp" (Modbus TCP) or "rtu" (Modbus RTU on a serial line).
	Transport string `yaml:"transport"`
	// Address is host or host:port for tcp; the port defaults to 502.
	Address string `yaml:"address"`
	// Device is the serial port for rtu, e.g. /dev/ttyUSB0.
	Device string `yaml:"device"`
	// Baud is the rtu line speed.
	Baud uint `yaml:"baud"`
	// Parity is none, even or odd (rtu).
	Parity string `yaml:"parity"`
	// StopBits is 1 or 2 (rtu); 0 picks what the Modbus serial line
	// specification mandates: 2 without parity, 1 with.
	StopBits uint `yaml:"stop_bits"`
	// UnitID is the slave/unit address (1-247; 0 and 255 are accepted for
	// TCP gateways that ignore it).
	UnitID uint8 `yaml:"unit_id"`
	// Timeout bounds each request.
	Timeout time.Duration `yaml:"timeout"`
	// Registers is the register map: one entry per reading.
	Registers []Register `yaml:"registers"`
}

// Register maps one value in the device's register space to a metric.
type Register struct {
	// Name is the metric name, e.g. "temperature".
	Name string `yaml:"name"`
	// Table is "holding" (function 3) or "input" (function 4).
	Table string `yaml:"table"`
	// Address is the zero-based register address as sent on the wire
	// (register 40001 in vendor manuals is holding address 0).
	Address uint16 `yaml:"address"`
	// Type is int16, uint16, int32, uint32 or float32.
	Type string `yaml:"type"`
	// ByteOrder is the order of the two bytes inside each register: big
	// (the Modbus standard) or little.
	ByteOrder string `yaml:"byte_order"`
	// WordOrder is the order of the two registers of a 32-bit value:
	// high_first or low_first (common on cheap controllers).
	WordOrder string `yaml:"word_order"`
	// Scale multiplies the raw value (e.g. 0.1 for tenths of a degree);
	// 0 means 1.
	Scale float64 `yaml:"scale"`
	// Offset is added after scaling.
	Offset float64 `yaml:"offset"`
	// Unit is the metric's unit, e.g. "°C" or "%".
	Unit string `yaml:"unit"`
}

// defaults returns the Config every device starts from.
func defaults() Config {
	return Config{
		Transport: "tcp",
		Baud:      9600,
		Parity:    "none",
		UnitID:    1,
		Timeout:   2 * time.Second,
	}
}

// registerWords returns how many 16-bit registers a value type spans.
func registerWords(typ string) (uint16, bool) {
	switch typ {
	case "int16", "uint16":
		return 1, true
	case "int32", "uint32", "float32":
		return 2, true
	}
	return 0, false
}

// check validates the config and fills per-register defaults. It is pure so
// that check-config can run it without touching the serial port or network.
func (c *Config) check() error {
	var errs []error
	switch c.Transport {
	case "tcp":
		if c.Address == "" {
			errs = append(errs, drivers.Fieldf("address", "required for transport tcp (host or host:port)"))
		} else if _, _, err := net.SplitHostPort(c.Address); err != nil {
			// A bare host gets the Modbus TCP port.
			if strings.Contains(c.Address, "://") {
				errs = append(errs, drivers.Fieldf("address", "want host or host:port, not a URL (%q)", c.Address))
			} else {
				c.Address = net.JoinHostPort(c.Address, "502")
			}
		}
	case "rtu":
		if c.Device == "" {
			errs = append(errs, drivers.Fieldf("device", "required for transport rtu (e.g. /dev/ttyUSB0)"))
		}
		if c.Baud == 0 {
			errs = append(errs, drivers.Fieldf("baud", "must be positive"))
		}
		switch c.Parity {
		case "none", "even", "odd":
		default:
			errs = append(errs, drivers.Fieldf("parity", "want none, even or odd, got %q", c.Parity))
		}
		if c.StopBits > 2 {
			errs = append(errs, drivers.Fieldf("stop_bits", "want 1 or 2, got %d", c.StopBits))
		}
	default:
		errs = append(errs, drivers.Fieldf("transport", "want tcp or rtu, got %q", c.Transport))
	}
	if c.Timeout <= 0 {
		errs = append(errs, drivers.Fieldf("timeout", "must be positive"))
	}
	if len(c.Registers) == 0 {
		errs = append(errs, drivers.Fieldf("registers", "at least one register is needed"))
	}
	seen := map[string]bool{}
	for i := range c.Registers {
		r := &c.Registers[i]
		field := func(k string) string { return fmt.Sprintf("registers[%d].%s", i, k) }
		if r.Name == "" {
			errs = append(errs, drivers.Fieldf(field("name"), "required"))
		} else if seen[r.Name] {
			errs = append(errs, drivers.Fieldf(field("name"), "%q is used twice", r.Name))
		}
		seen[r.Name] = true
		if r.Table == "" {
			r.Table = "holding"
		}
		if r.Table != "holding" && r.Table != "input" {
			errs = append(errs, drivers.Fieldf(field("table"), "want holding or input, got %q", r.Table))
		}
		if r.Type == "" {
			r.Type = "int16"
		}
		n, ok := registerWords(r.Type)
		if !ok {
			errs = append(errs, drivers.Fieldf(field("type"), "want int16, uint16, int32, uint32 or float32, got %q", r.Type))
		} else if int(r.Address)+int(n) > 0x10000 {
			errs = append(errs, drivers.Fieldf(field("address"), "%d plus %d registers runs past 65535", r.Address, n))
		}
		if r.ByteOrder == "" {
			r.ByteOrder = "big"
		}
		if r.ByteOrder != "big" && r.ByteOrder != "little" {
			errs = append(errs, drivers.Fieldf(field("byte_order"), "want big or little, got %q", r.ByteOrder))
		}
		if r.WordOrder == "" {
			r.WordOrder = "high_first"
		}
		if r.WordOrder != "high_first" && r.WordOrder != "low_first" {
			errs = append(errs, drivers.Fieldf(field("word_order"), "want high_first or low_first, got %q", r.WordOrder))
		}
		if r.Scale == 0 {
			r.Scale = 1
		}
	}
	return errors.Join(errs...)
}
