package modbus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/modbus/modbussim"
)

func TestConfigErrors(t *testing.T) {
	good := func() Config {
		c := defaults()
		c.Address = "127.0.0.1"
		c.Registers = []Register{{Name: "temperature", Address: 0}}
		return c
	}
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"unknown transport", func(c *Config) { c.Transport = "udp" }, "transport"},
		{"tcp without address", func(c *Config) { c.Address = "" }, "address"},
		{"url as address", func(c *Config) { c.Address = "tcp://x:502" }, "address"},
		{"rtu without device", func(c *Config) { c.Transport = "rtu" }, "device"},
		{"rtu parity", func(c *Config) { c.Transport, c.Device, c.Parity = "rtu", "/dev/ttyUSB0", "mark" }, "parity"},
		{"rtu stop bits", func(c *Config) { c.Transport, c.Device, c.StopBits = "rtu", "/dev/ttyUSB0", 3 }, "stop_bits"},
		{"no registers", func(c *Config) { c.Registers = nil }, "registers"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "timeout"},
		{"unnamed", func(c *Config) { c.Registers[0].Name = "" }, "registers[0].name"},
		{"duplicate", func(c *Config) { c.Registers = append(c.Registers, Register{Name: "temperature"}) }, "registers[1].name"},
		{"type", func(c *Config) { c.Registers[0].Type = "float64" }, "registers[0].type"},
		{"table", func(c *Config) { c.Registers[0].Table = "coil" }, "registers[0].table"},
		{"byte order", func(c *Config) { c.Registers[0].ByteOrder = "middle" }, "registers[0].byte_order"},
		{"word order", func(c *Config) { c.Registers[0].WordOrder = "swapped" }, "registers[0].word_order"},
		{"past the end", func(c *Config) { c.Registers[0].Address, c.Registers[0].Type = 65535, "int32" }, "registers[0].address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.edit(&c)
			_, err := New(drivers.Device{ID: "x"}, c, nil)
			var fe *drivers.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("New = %v, want a FieldError", err)
			}
			if !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
	if _, err := New(drivers.Device{ID: "x"}, good(), nil); err != nil {
		t.Errorf("good config: %v", err)
	}
}

// fridgeMap is the register map of a typical fridge controller: tenths of a
// degree in a signed holding register, humidity as an input float in
// word-swapped order, a door counter and an alarm word.
func fridgeMap() []Register {
	return []Register{
		{Name: "temperature", Table: "holding", Address: 0, Type: "int16", Scale: 0.1, Unit: "°C"},
		{Name: "setpoint", Table: "holding", Address: 1, Type: "int16", Scale: 0.1, Unit: "°C"},
		{Name: "door.openings", Table: "holding", Address: 2, Type: "uint32", WordOrder: "low_first"},
		{Name: "humidity", Table: "input", Address: 10, Type: "float32", WordOrder: "low_first", Unit: "%"},
		{Name: "compressor.hours", Table: "input", Address: 20, Type: "int32"},
	}
}

func loadFridge(set func(table string, addr uint16, words ...uint16)) {
	regs := fridgeMap()
	vals := []float64{52, 50, 70001, 41.5, 123456}
	for i, r := range regs {
		set(r.Table, r.Address, encodeWords(r, vals[i])...)
	}
}

func wantFridge(t *testing.T, s drivers.Sample) {
	t.Helper()
	want := []drivers.Metric{
		drivers.Num("temperature", 5.2, "°C"),
		drivers.Num("setpoint", 5.0, "°C"),
		drivers.Num("door.openings", 70001, ""),
		drivers.Num("humidity", 41.5, "%"),
		drivers.Num("compressor.hours", 123456, ""),
	}
	if len(s.Metrics) != len(want) {
		t.Fatalf("metrics = %v, want %v", s.Metrics, want)
	}
	for i, w := range want {
		g := s.Metrics[i]
		gv, _ := g.Float()
		wv, _ := w.Float()
		if g.Name != w.Name || g.Unit != w.Unit || math.Abs(gv-wv) > 1e-6 {
			t.Errorf("metric %d = %+v, want %+v", i, g, w)
		}
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}

func startSim(t *testing.T) (*modbussim.Unit, string) {
	t.Helper()
	u := modbussim.New()
	addr, err := u.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Stop() })
	return u, addr
}

func simSetter(u *modbussim.Unit) func(string, uint16, ...uint16) {
	return func(table string, addr uint16, words ...uint16) {
		if table == "input" {
			u.SetInput(addr, words...)
		} else {
			u.SetHolding(addr, words...)
		}
	}
}

func newTCP(t *testing.T, addr string, regs []Register) drivers.Driver {
	t.Helper()
	c := defaults()
	c.Address = addr
	c.Timeout = 2 * time.Second
	c.Registers = regs
	d, err := New(drivers.Device{ID: "kuehlschrank"}, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.(*Driver).Close() })
	return d
}

func TestPollTCP(t *testing.T) {
	u, addr := startSim(t)
	loadFridge(simSetter(u))
	d := newTCP(t, addr, fridgeMap())
	for i := 0; i < 2; i++ {
		s, err := d.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		wantFridge(t, s)
	}
	// Holding 0-3 in one request; input 10-11 and 20-21 are too far apart
	// to share one, so three requests per poll.
	if got := u.Reads(); got != 6 {
		t.Errorf("server saw %d reads for two polls, want 6", got)
	}
}

func TestPollTCPFaults(t *testing.T) {
	u, addr := startSim(t)
	loadFridge(simSetter(u))

	t.Run("missing register is a protocol error", func(t *testing.T) {
		d := newTCP(t, addr, []Register{{Name: "x", Table: "holding", Address: 500, Type: "int16"}})
		_, err := d.Poll(context.Background())
		if !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("Poll = %v, want ErrProtocol", err)
		}
	})
	t.Run("broken probe becomes a condition", func(t *testing.T) {
		u.SetInput(30, 0x7FC0, 0x0000) // NaN
		d := newTCP(t, addr, []Register{
			{Name: "temperature", Table: "holding", Address: 0, Type: "int16", Scale: 0.1},
			{Name: "probe2", Table: "input", Address: 30, Type: "float32"},
		})
		s, err := d.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Metrics) != 1 || s.Metrics[0].Name != "temperature" {
			t.Errorf("metrics = %v, want temperature only", s.Metrics)
		}
		if len(s.Conditions) != 1 || s.Conditions[0].Name != "modbus.probe2.invalid" {
			t.Errorf("conditions = %v", s.Conditions)
		}
	})
	t.Run("closed port is unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := l.Addr().String()
		l.Close()
		d := newTCP(t, dead, fridgeMap())
		if _, err := d.Poll(context.Background()); !errors.Is(err, drivers.ErrUnreachable) {
			t.Errorf("Poll = %v, want ErrUnreachable", err)
		}
	})
	t.Run("reconnects after the server restarts", func(t *testing.T) {
		u2, addr2 := startSim(t)
		loadFridge(simSetter(u2))
		d := newTCP(t, addr2, fridgeMap())
		if _, err := d.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		u2.Stop()
		if _, err := d.Poll(context.Background()); !errors.Is(err, drivers.ErrUnreachable) {
			t.Errorf("Poll after stop = %v, want ErrUnreachable", err)
		}
		u3 := modbussim.New()
		loadFridge(simSetter(u3))
		if _, err := u3.Start(addr2); err != nil {
			t.Fatal(err)
		}
		defer u3.Stop()
		s, err := d.Poll(context.Background())
		if err != nil {
			t.Fatalf("Poll after restart: %v", err)
		}
		wantFridge(t, s)
	})
	t.Run("cancelled context", func(t *testing.T) {
		d := newTCP(t, addr, fridgeMap())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := d.Poll(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Poll = %v, want context.Canceled", err)
		}
	})
}

func TestPollRTU(t *testing.T) {
	peer, gw := testpeer.PTYPair(t)
	tables := map[string]map[string][]uint16{"holding": {}, "input": {}}
	loadFridge(func(table string, addr uint16, words ...uint16) {
		tables[table][fmt.Sprint(addr)] = words
	})
	testpeer.StartModbusRTU(t, peer, 7, tables)

	c := defaults()
	c.Transport = "rtu"
	c.Device = gw
	c.Baud = 9600
	c.UnitID = 7
	c.Timeout = time.Second
	c.Registers = fridgeMap()
	d, err := New(drivers.Device{ID: "kuehlschrank"}, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.(*Driver).Close()
	for i := 0; i < 2; i++ {
		s, err := d.Poll(context.Background())
		if err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		wantFridge(t, s)
	}

	// A unit id nobody answers to times out: the device is unreachable.
	c.UnitID = 9
	c.Timeout = 300 * time.Millisecond
	d2, err := New(drivers.Device{ID: "x"}, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.(*Driver).Close()
	defer d2.(*Driver).Close()
	if _, err := d2.Poll(context.Background()); !errors.Is(err, drivers.ErrUnreachable) {
		t.Errorf("Poll of absent unit = %v, want ErrUnreachable", err)
	}
}

// modbussimUnit and newSimUnit let benchmarks share the simulator helpers.
type modbussimUnit = modbussim.Unit

var newSimUnit = modbussim.New
