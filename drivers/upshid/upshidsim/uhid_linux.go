//go:build linux

package upshidsim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
)

// The uhid protocol (linux/uhid.h): fixed-size packed events, native byte
// order (little-endian on every architecture we build for).
const (
	uhidDestroy        = 1
	uhidStart          = 2
	uhidStop           = 3
	uhidOpen           = 4
	uhidClose          = 5
	uhidOutput         = 6
	uhidGetReport      = 9
	uhidGetReportReply = 10
	uhidCreate2        = 11
	uhidInput2         = 12
	uhidSetReport      = 13
	uhidSetReportReply = 14

	uhidFeatureReport = 0
	uhidOutputReport  = 1
	uhidInputReport   = 2

	uhidDataMax  = 4096
	uhidEventLen = 4 + 128 + 64 + 64 + 2 + 2 + 4 + 4 + 4 + 4 + 4096 // type + the largest member (create2)
	busUSB       = 3
)

// UHID is a simulated UPS served as a real kernel HID device. The kernel
// makes a /dev/hidrawN of it; the driver under test opens that like any
// USB UPS.
type UHID struct {
	u    *UPS
	f    *os.File
	wmu  sync.Mutex
	done chan struct{}
	in   chan []byte
	once sync.Once
	err  error
}

// ServeUHID creates u as a HID device through the uhid node (normally
// /dev/uhid; needs the uhid module and write access) and answers the
// kernel's GET_REPORT and SET_REPORT requests from u until Close. Changes
// made with u.Set go out as interrupt Input reports. Silent(true) makes it
// leave GET_REPORT unanswered, as a hung UPS firmware does; the kernel then
// fails the request after its timeout.
func ServeUHID(ctx context.Context, u *UPS, uhidPath string) (*UHID, error) {
	f, err := os.OpenFile(uhidPath, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("upshidsim: %w", err)
	}
	d := &UHID{u: u, f: f, done: make(chan struct{}), in: u.subscribe()}
	ev, err := create2Event(u)
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := d.write(ev); err != nil {
		f.Close()
		return nil, fmt.Errorf("upshidsim: UHID_CREATE2: %w", err)
	}
	go d.readLoop()
	go d.inputLoop(ctx)
	return d, nil
}

func create2Event(u *UPS) ([]byte, error) {
	if len(u.Desc) > uhidDataMax {
		return nil, fmt.Errorf("upshidsim: descriptor of %d bytes is too long for uhid", len(u.Desc))
	}
	ev := make([]byte, uhidEventLen)
	le := binary.LittleEndian
	le.PutUint32(ev[0:], uhidCreate2)
	p := ev[4:]
	copy(p[0:127], u.Name)
	copy(p[128:128+63], "usb-upshidsim/input0")
	copy(p[192:192+63], u.Serial)
	le.PutUint16(p[256:], uint16(len(u.Desc)))
	le.PutUint16(p[258:], busUSB)
	le.PutUint32(p[260:], uint32(u.Vendor))
	le.PutUint32(p[264:], uint32(u.Product))
	le.PutUint32(p[268:], 0x0100) // version
	le.PutUint32(p[272:], 0)      // country
	copy(p[276:], u.Desc)
	return ev, nil
}

func (d *UHID) write(ev []byte) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	_, err := d.f.Write(ev)
	return err
}

// readLoop answers the kernel until the node is closed.
func (d *UHID) readLoop() {
	buf := make([]byte, uhidEventLen)
	le := binary.LittleEndian
	for {
		n, err := d.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) && !errors.Is(err, io.EOF) {
				d.err = err
			}
			return
		}
		if n < 4 {
			continue
		}
		switch le.Uint32(buf[0:]) {
		case uhidGetReport:
			id, rnum, rtype := le.Uint32(buf[4:]), buf[8], buf[9]
			d.answerGet(id, rnum, rtype)
		case uhidSetReport:
			id, rnum, rtype := le.Uint32(buf[4:]), buf[8], buf[9]
			size := int(le.Uint16(buf[10:]))
			if size > uhidDataMax {
				size = uhidDataMax
			}
			data := append([]byte(nil), buf[12:12+size]...)
			var serr error
			if rtype == uhidFeatureReport {
				if len(data) > 0 && d.u.d.UsesIDs && data[0] != rnum {
					serr = fmt.Errorf("report %d data starts with %d", rnum, data[0])
				} else {
					serr = d.u.setReport(data)
				}
			} else {
				serr = fmt.Errorf("only Feature reports can be set")
			}
			if errors.Is(serr, errSilent) {
				continue
			}
			rep := make([]byte, uhidEventLen)
			le.PutUint32(rep[0:], uhidSetReportReply)
			le.PutUint32(rep[4:], id)
			if serr != nil {
				le.PutUint16(rep[8:], 5) // EIO
			}
			_ = d.write(rep)
		case uhidStart, uhidStop, uhidOpen, uhidClose, uhidOutput:
			// Nothing to do: the UPS has no output reports.
		}
	}
}

func (d *UHID) answerGet(id uint32, rnum, rtype uint8) {
	le := binary.LittleEndian
	var t hidreport.ReportType
	switch rtype {
	case uhidFeatureReport:
		t = hidreport.Feature
	case uhidInputReport:
		t = hidreport.Input
	default:
		t = hidreport.Output
	}
	buf := make([]byte, uhidDataMax)
	buf[0] = rnum
	n, err := d.u.getReport(t, buf)
	if errors.Is(err, errSilent) {
		return // a hung UPS: the kernel times the request out
	}
	rep := make([]byte, uhidEventLen)
	le.PutUint32(rep[0:], uhidGetReportReply)
	le.PutUint32(rep[4:], id)
	if err != nil {
		le.PutUint16(rep[8:], 5) // EIO
	} else {
		le.PutUint16(rep[10:], uint16(n))
		copy(rep[12:], buf[:n])
	}
	_ = d.write(rep)
}

// inputLoop sends the UPS's changed Input reports as interrupt reports.
func (d *UHID) inputLoop(ctx context.Context) {
	le := binary.LittleEndian
	for {
		select {
		case <-ctx.Done():
			d.Close()
			return
		case <-d.done:
			return
		case r := <-d.in:
			ev := make([]byte, uhidEventLen)
			le.PutUint32(ev[0:], uhidInput2)
			le.PutUint16(ev[4:], uint16(len(r)))
			copy(ev[6:], r)
			_ = d.write(ev)
		}
	}
}

// Close destroys the device (its hidraw node disappears, as on unplug).
func (d *UHID) Close() error {
	var err error
	d.once.Do(func() {
		close(d.done)
		d.u.unsubscribe(d.in)
		ev := make([]byte, uhidEventLen)
		binary.LittleEndian.PutUint32(ev[0:], uhidDestroy)
		err = d.write(ev)
		if cerr := d.f.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// Err returns the read error that ended the service, if any.
func (d *UHID) Err() error { return d.err }
