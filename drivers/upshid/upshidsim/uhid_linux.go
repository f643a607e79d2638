//go:build linux

package upshidsim

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/praxisgate/praxisgate/drivers/internal/uhid"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
)

// UHID is a simulated UPS served as a real kernel HID device through
// drivers/internal/uhid. The kernel makes a /dev/hidrawN of it; the
// driver under test opens that like any USB UPS.
type UHID struct {
	u    *UPS
	dev  *uhid.Device
	in   chan []byte
	done chan struct{}
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
	d := &UHID{u: u, in: u.subscribe(), done: make(chan struct{})}
	dev, err := uhid.Create(uhidPath, uhid.Config{Name: u.Name, Phys: "usb-upshidsim/input0", Uniq: u.Serial,
		Vendor: uint32(u.Vendor), Product: uint32(u.Product), Version: 0x0100, Descriptor: u.Desc, Answer: responder{u}})
	if err != nil {
		u.unsubscribe(d.in)
		return nil, fmt.Errorf("upshidsim: %w", err)
	}
	d.dev = dev
	go d.inputLoop(ctx)
	return d, nil
}

// responder answers the kernel from the simulated UPS.
type responder struct{ u *UPS }

func (r responder) GetReport(t uhid.ReportType, id byte) ([]byte, error) {
	ht := hidreport.Output
	switch t {
	case uhid.Feature:
		ht = hidreport.Feature
	case uhid.Input:
		ht = hidreport.Input
	}
	buf := make([]byte, 4096)
	buf[0] = id
	n, err := r.u.getReport(ht, buf)
	if errors.Is(err, errSilent) {
		return nil, uhid.ErrNoAnswer
	}
	return buf[:n], err
}

func (r responder) SetReport(t uhid.ReportType, id byte, data []byte) error {
	if t != uhid.Feature {
		return errors.New("only Feature reports can be set")
	}
	if len(data) > 0 && r.u.d.UsesIDs && data[0] != id {
		return fmt.Errorf("report %d data starts with %d", id, data[0])
	}
	err := r.u.setReport(data)
	if errors.Is(err, errSilent) {
		return uhid.ErrNoAnswer
	}
	return err
}

// inputLoop sends the UPS's changed Input reports as interrupt reports.
func (d *UHID) inputLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			d.Close()
			return
		case <-d.done:
			return
		case r := <-d.in:
			_ = d.dev.Input(r)
		}
	}
}

// Close destroys the device (its hidraw node disappears, as on unplug).
func (d *UHID) Close() error {
	d.once.Do(func() {
		close(d.done)
		d.u.unsubscribe(d.in)
		d.err = d.dev.Destroy()
	})
	return d.err
}

// Err returns the error that ended the service, if any.
func (d *UHID) Err() error { return d.dev.Err() }
