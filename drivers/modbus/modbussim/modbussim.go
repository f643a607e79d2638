// Package modbussim is a Modbus TCP unit for tests and the demo: a register
// space whose values the caller sets, served by the same maintained library
// the driver uses as a client, so the driver is exercised against a real
// protocol stack rather than a mock.
package modbussim

import (
	"fmt"
	"io"
	"log"
	"net"
	"sync"

	"github.com/simonvetter/modbus"
)

// Unit is a simulated Modbus device. It is safe for concurrent use.
type Unit struct {
	mu      sync.Mutex
	holding map[uint16]uint16
	input   map[uint16]uint16
	reads   int
	srv     *modbus.ModbusServer
}

// New returns an empty unit; unset registers read as an "illegal data
// address" exception, as on a real device.
func New() *Unit {
	return &Unit{holding: map[uint16]uint16{}, input: map[uint16]uint16{}}
}

// SetHolding stores words from addr on in the holding table.
func (u *Unit) SetHolding(addr uint16, words ...uint16) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, w := range words {
		u.holding[addr+uint16(i)] = w
	}
}

// SetInput stores words from addr on in the input table.
func (u *Unit) SetInput(addr uint16, words ...uint16) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, w := range words {
		u.input[addr+uint16(i)] = w
	}
}

// Reads counts the read requests served, so tests can check batching.
func (u *Unit) Reads() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reads
}

// Start serves Modbus TCP on addr (e.g. "127.0.0.1:0") and returns the
// address it listens on.
func (u *Unit) Start(addr string) (string, error) {
	// The library takes a URL, not a listener; find a free port first.
	if _, port, err := net.SplitHostPort(addr); err == nil && port == "0" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("modbussim: pick a port: %w", err)
		}
		addr = l.Addr().String()
		l.Close()
	}
	srv, err := modbus.NewServer(&modbus.ServerConfiguration{
		URL:        "tcp://" + addr,
		MaxClients: 600,
		Logger:     log.New(io.Discard, "", 0),
	}, u)
	if err != nil {
		return "", fmt.Errorf("modbussim: configure server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return "", fmt.Errorf("modbussim: listen on %s: %w", addr, err)
	}
	u.srv = srv
	return addr, nil
}

// Stop closes the listener and all client connections.
func (u *Unit) Stop() error {
	if u.srv == nil {
		return nil
	}
	return u.srv.Stop()
}

func (u *Unit) read(table map[uint16]uint16, addr, qty uint16) ([]uint16, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reads++
	out := make([]uint16, qty)
	for i := range out {
		v, ok := table[addr+uint16(i)]
		if !ok {
			return nil, modbus.ErrIllegalDataAddress
		}
		out[i] = v
	}
	return out, nil
}

// HandleCoils rejects coil access: sensors have none.
func (u *Unit) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

// HandleDiscreteInputs rejects discrete input access.
func (u *Unit) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

// HandleHoldingRegisters serves reads of the holding table; writes are
// refused because the driver never writes.
func (u *Unit) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if req.IsWrite {
		return nil, modbus.ErrIllegalFunction
	}
	return u.read(u.holding, req.Addr, req.Quantity)
}

// HandleInputRegisters serves reads of the input table.
func (u *Unit) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	return u.read(u.input, req.Addr, req.Quantity)
}
