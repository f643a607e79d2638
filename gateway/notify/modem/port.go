package modem

import (
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/tarm/serial"
)

// readTick is the inter-byte timeout the port is opened with: a read
// returns after this much silence, so a Close is noticed within a tick.
const readTick = 100 * time.Millisecond

// port adapts a tarm/serial port to the AT layer. tarm/serial reports a
// read that timed out with nothing as (0, io.EOF); the AT layer takes EOF as
// "modem gone", so port keeps reading through those until it is closed. A
// real error (EIO when the USB stick is pulled) passes through and ends
// the AT session.
type port struct {
	p      io.ReadWriteCloser
	closed atomic.Bool
}

func openPort(path string, baud int) (*port, error) {
	p, err := serial.OpenPort(&serial.Config{Name: path, Baud: baud, ReadTimeout: readTick})
	if err != nil {
		return nil, err
	}
	return &port{p: p}, nil
}

func (p *port) Read(b []byte) (int, error) {
	for {
		n, err := p.p.Read(b)
		if n > 0 {
			return n, nil
		}
		if p.closed.Load() {
			return 0, io.EOF
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
	}
}

func (p *port) Write(b []byte) (int, error) {
	if p.closed.Load() {
		return 0, io.ErrClosedPipe
	}
	return p.p.Write(b)
}

func (p *port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	return p.p.Close()
}
