package ups

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tarm/serial"
)

// readTick is the inter-byte timeout the port is opened with. A read on
// the tty returns after this much silence even when no byte came, so the
// reply loop can look at its deadline and ctx; it bounds how late a
// cancelled poll notices.
const readTick = 100 * time.Millisecond

// errNoReply means the UPS stayed silent (or sent only noise) until the
// reply deadline. It wraps drivers.ErrUnreachable where it leaves the
// package (see Driver.Poll).
var errNoReply = errors.New("no reply")

// errGarbled means bytes came but none made a reply: the UPS is there but
// speaks something we cannot read (wrong baud rate or protocol, a broken
// line). It wraps drivers.ErrProtocol where it leaves the package.
var errGarbled = errors.New("unreadable reply")

// errNotSupported means the UPS echoed the command or answered NAK/NA: it
// is alive but does not know the query.
var errNotSupported = errors.New("command not supported")

// portSettings are the line settings handed to tarm/serial.
type portSettings struct {
	path     string
	baud     int
	dataBits byte
	parity   serial.Parity
	stopBits serial.StopBits
}

// openPort opens the serial device. The device path may be a symlink that
// udev (or the simulator) moves when a USB-serial adapter is replugged, so
// it is resolved anew on every open.
func openPort(s portSettings) (io.ReadWriteCloser, error) {
	p, err := serial.OpenPort(&serial.Config{
		Name:        s.path,
		Baud:        s.baud,
		Size:        s.dataBits,
		Parity:      s.parity,
		StopBits:    s.stopBits,
		ReadTimeout: readTick,
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// flusher is implemented by *serial.Port: it drops bytes the kernel holds
// for us, e.g. a late reply to a query that already timed out.
type flusher interface{ Flush() error }

// link frames request/reply exchanges on a serial byte stream. It works on
// any io.ReadWriter so the protocol code can be tested without a port. Read
// on the port returns (0, io.EOF) after readTick of silence; link treats
// that as "nothing yet", not as the end of the stream.
type link struct {
	rw      io.ReadWriter
	pending []byte
	// strip lists bytes the device may interleave anywhere (APC alert
	// characters); they are removed from replies and handed to onStrip.
	strip   func(byte) bool
	onStrip func(byte)
	now     func() time.Time
	// sleep is used when a read returned nothing at once (fakes in tests),
	// so the loop does not spin.
	sleep func(time.Duration)
}

func newLink(rw io.ReadWriter) *link {
	return &link{rw: rw, now: time.Now, sleep: time.Sleep}
}

// discard drops everything received so far, so a stale or unsolicited
// reply is not taken as the answer to the next query.
func (l *link) discard() {
	l.pending = l.pending[:0]
	if f, ok := l.rw.(flusher); ok {
		_ = f.Flush()
	}
}

// send writes a command.
func (l *link) send(cmd []byte) error {
	if _, err := l.rw.Write(cmd); err != nil {
		return &readErr{fmt.Errorf("write %q: %w", cmd, err)}
	}
	return nil
}

// replyCheck judges a candidate reply line (terminator removed).
type replyCheck struct {
	// valid reports whether a line is the reply; lines that are not are
	// skipped as noise.
	valid func(line []byte) bool
	// complete, when set, accepts a reply that has not seen its terminator
	// yet (some Megatec units never send the final CR).
	complete func(partial []byte) bool
	// echo is the command as sent; a device that echoes it back does not
	// know the command.
	echo []byte
}

// readReply reads lines ending in term until one is valid, the deadline
// passes or ctx ends. Lines are split at term; a CR before an LF is
// dropped. At the deadline a valid unterminated remainder is accepted.
func (l *link) readReply(ctx context.Context, deadline time.Time, term byte, rc replyCheck) ([]byte, error) {
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	buf := make([]byte, 256)
	// skipped keeps the start of lines that were not the reply, so a
	// deadline reached after noise says what came.
	var skipped []byte
	// Each round either consumes a line, reads bytes, or waits at least
	// one tick; the deadline bounds the count.
	for {
		for {
			i := bytes.IndexByte(l.pending, term)
			if i < 0 {
				break
			}
			line := append([]byte(nil), l.pending[:i]...)
			l.pending = l.pending[i+1:]
			line = bytes.TrimRight(line, "\r\n")
			if len(line) == 0 {
				continue
			}
			if rc.echo != nil && (bytes.Equal(line, bytes.TrimRight(rc.echo, "\r")) || isNAK(line)) {
				return line, errNotSupported
			}
			if rc.valid(line) {
				return line, nil
			}
			if len(skipped) < 64 {
				skipped = append(append(skipped, line...), ' ')
			}
		}
		if rc.complete != nil {
			if p := l.pending; rc.complete(p) {
				p = append([]byte(nil), p...)
				l.pending = l.pending[:0]
				return p, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !l.now().Before(deadline) {
			p := append([]byte(nil), bytes.TrimRight(l.pending, "\r\n")...)
			l.pending = l.pending[:0]
			if len(p) > 0 && rc.valid(p) {
				return p, nil
			}
			if len(p) > 0 || len(skipped) > 0 {
				return p, fmt.Errorf("%w: only %q before the deadline", errGarbled, clip(append(skipped, p...)))
			}
			return nil, errNoReply
		}
		n, err := l.rw.Read(buf)
		l.take(buf[:n])
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, &readErr{fmt.Errorf("read: %w", err)}
		}
		if n == 0 && err == nil || n == 0 && errors.Is(err, io.EOF) {
			// A real tty has already waited readTick; this only
			// matters for in-memory fakes.
			l.sleep(5 * time.Millisecond)
		}
	}
}

// take appends received bytes to pending, removing alert bytes as they
// arrive so each is reported exactly once.
func (l *link) take(b []byte) {
	if l.strip == nil {
		l.pending = append(l.pending, b...)
		return
	}
	for _, c := range b {
		if l.strip(c) {
			if l.onStrip != nil {
				l.onStrip(c)
			}
			continue
		}
		l.pending = append(l.pending, c)
	}
}

func isNAK(line []byte) bool {
	s := string(bytes.TrimSpace(line))
	return s == "NAK" || s == "(NAK" || s == "NA" || s == "UPS No Ack"
}

// clip shortens foreign text for error messages.
func clip(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}
