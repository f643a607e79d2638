package uhid

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Config describes a virtual HID device.
type Config struct {
	// Name, Phys and Uniq are the device's name, physical path and
	// unique id (for a UPS: its serial number). hidraw reports them
	// through HIDIOCGRAWNAME/PHYS/UNIQ, sysfs as HID_NAME/HID_PHYS/HID_UNIQ.
	// Uniq also lets FindHidraw tell this device from others.
	Name, Phys, Uniq string
	// Bus is the bus type; 0 means BusUSB.
	Bus uint16
	// Vendor and Product are the USB IDs (051d:0002 for an APC Back-UPS).
	Vendor, Product  uint32
	Version, Country uint32
	// Descriptor is the report descriptor.
	Descriptor []byte
	// Reports answer GET_REPORT requests of any type by report ID; each
	// value is the report as the device sends it, byte 0 the report ID.
	// An ID without a value is answered with an error (EIO to the caller).
	Reports map[byte][]byte
	// Answer, when set, answers GET_REPORT and SET_REPORT instead of
	// Reports: a simulation whose values change (drivers/upshid/upshidsim).
	Answer Responder
}

// Responder answers the kernel's report requests for a device. GetReport
// returns the report as the device sends it (byte 0 the report ID when
// the descriptor numbers its reports). ErrNoAnswer leaves a request
// unanswered, as a hung firmware does (the kernel fails it after its
// timeout); any other error is answered with EIO. The methods run on the
// device's serving goroutine, one request at a time.
type Responder interface {
	GetReport(t ReportType, id byte) ([]byte, error)
	SetReport(t ReportType, id byte, data []byte) error
}

// ErrNoAnswer is what a Responder returns to leave a request unanswered.
var ErrNoAnswer = errors.New("uhid: request left unanswered")

// Request is a GET_REPORT or SET_REPORT the kernel forwarded.
type Request struct {
	Set      bool
	ReportID byte
	Type     ReportType
	Data     []byte // SET_REPORT only
	Answered bool
}

// Device is a virtual HID device served by this process. Its methods may
// be called from any goroutine.
type Device struct {
	f    *os.File
	uniq string
	done chan struct{}

	mu        sync.Mutex
	reports   map[byte][]byte
	answer    Responder
	answering bool
	requests  []Request
	started   chan struct{}
	opened    int
	readErr   error
	destroyed bool
	writeMu   sync.Mutex
}

// DefaultPath is the uhid character device.
const DefaultPath = "/dev/uhid"

// Create opens path (DefaultPath if empty), creates the device and starts
// answering the kernel's requests. The hidraw node appears asynchronously;
// Hidraw waits for it.
func Create(path string, c Config) (*Device, error) {
	if path == "" {
		path = DefaultPath
	}
	if c.Bus == 0 {
		c.Bus = BusUSB
	}
	ev, err := create2(c)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("uhid: open %s (needs the uhid kernel module and root): %w", path, err)
	}
	d := &Device{
		f:         f,
		uniq:      c.Uniq,
		answer:    c.Answer,
		done:      make(chan struct{}),
		reports:   map[byte][]byte{},
		answering: true,
		started:   make(chan struct{}),
	}
	for id, v := range c.Reports {
		d.reports[id] = append([]byte(nil), v...)
	}
	if err := d.write(ev); err != nil {
		f.Close()
		return nil, fmt.Errorf("uhid: create %q: %w", c.Name, err)
	}
	go d.serve()
	return d, nil
}

func (d *Device) write(b []byte) error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	n, err := d.f.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// serve answers the kernel until the device is destroyed.
func (d *Device) serve() {
	defer close(d.done)
	buf := make([]byte, eventSize)
	for {
		n, err := d.f.Read(buf)
		if err != nil {
			d.mu.Lock()
			if !d.destroyed {
				d.readErr = err
			}
			d.mu.Unlock()
			return
		}
		ev, err := decodeEvent(buf[:n])
		if err != nil {
			d.mu.Lock()
			d.readErr = err
			d.mu.Unlock()
			continue
		}
		d.handle(ev)
	}
}

func (d *Device) handle(ev event) {
	d.mu.Lock()
	switch ev.typ {
	case evStart:
		select {
		case <-d.started:
		default:
			close(d.started)
		}
	case evOpen:
		d.opened++
	case evClose:
		d.opened--
	case evGetReport:
		data, ok := d.reports[ev.rnum]
		req := Request{ReportID: ev.rnum, Type: ev.rtype, Answered: d.answering}
		answer := d.answer
		if !d.answering {
			d.requests = append(d.requests, req)
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
		var err error
		if answer != nil {
			data, err = answer.GetReport(ev.rtype, ev.rnum)
			ok = err == nil
		}
		d.mu.Lock()
		req.Answered = !errors.Is(err, ErrNoAnswer)
		d.requests = append(d.requests, req)
		d.mu.Unlock()
		switch {
		case !req.Answered:
		case ok:
			_ = d.write(getReportReply(ev.id, 0, data))
		default:
			_ = d.write(getReportReply(ev.id, uint16(unix.EIO), nil))
		}
		return
	case evSetReport:
		req := Request{Set: true, ReportID: ev.rnum, Type: ev.rtype, Data: ev.data, Answered: d.answering}
		answer := d.answer
		if !d.answering {
			d.requests = append(d.requests, req)
			d.mu.Unlock()
			return
		}
		var err error
		if answer == nil && ev.rtype == Feature {
			d.reports[ev.rnum] = ev.data
		}
		d.mu.Unlock()
		if answer != nil {
			err = answer.SetReport(ev.rtype, ev.rnum, ev.data)
		}
		d.mu.Lock()
		req.Answered = !errors.Is(err, ErrNoAnswer)
		d.requests = append(d.requests, req)
		d.mu.Unlock()
		switch {
		case !req.Answered:
		case err == nil:
			_ = d.write(setReportReply(ev.id, 0))
		default:
			_ = d.write(setReportReply(ev.id, uint16(unix.EIO)))
		}
		return
	}
	d.mu.Unlock()
}

// SetReport changes the answer for a report ID (byte 0 of data is the ID),
// as a UPS's values change when mains fails.
func (d *Device) SetReport(data []byte) {
	if len(data) == 0 {
		return
	}
	d.mu.Lock()
	d.reports[data[0]] = append([]byte(nil), data...)
	d.mu.Unlock()
}

// SetAnswering switches the answers to GET_REPORT/SET_REPORT on or off. A
// device that does not answer is what a hung UPS firmware looks like: the
// kernel gives up after its own timeout (5 s for uhid) and the caller's
// ioctl fails with EIO.
func (d *Device) SetAnswering(on bool) {
	d.mu.Lock()
	d.answering = on
	d.mu.Unlock()
}

// Input sends an input report, as the device's interrupt endpoint would:
// byte 0 is the report ID when the descriptor numbers its reports.
func (d *Device) Input(report []byte) error {
	ev, err := input2(report)
	if err != nil {
		return err
	}
	if err := d.write(ev); err != nil {
		return fmt.Errorf("uhid: input report: %w", err)
	}
	return nil
}

// Requests returns the GET_REPORT/SET_REPORT requests seen so far.
func (d *Device) Requests() []Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Request(nil), d.requests...)
}

// Err returns the error that stopped serving, if any.
func (d *Device) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.readErr
}

// Started is closed when the kernel has bound a driver to the device
// (UHID_START).
func (d *Device) Started() <-chan struct{} { return d.started }

// Destroy removes the device (UHID_DESTROY), as unplugging it would, and
// closes /dev/uhid. It is safe to call more than once.
func (d *Device) Destroy() error {
	d.mu.Lock()
	if d.destroyed {
		d.mu.Unlock()
		return nil
	}
	d.destroyed = true
	d.mu.Unlock()
	err := d.write(simple(evDestroy))
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	<-d.done
	if err != nil {
		return fmt.Errorf("uhid: destroy: %w", err)
	}
	return nil
}

// Hidraw waits until the device's hidraw node exists and returns its path
// (/dev/hidrawN). The device is found by its Uniq in sysfs.
func (d *Device) Hidraw(ctx context.Context) (string, error) {
	if d.uniq == "" {
		return "", errors.New("uhid: Hidraw needs a device with Uniq set")
	}
	return FindHidraw(ctx, "/sys", "/dev", d.uniq)
}

// FindHidraw waits until a HID device whose HID_UNIQ is uniq has a hidraw
// node under devDir and returns its path. sysRoot is normally /sys.
func FindHidraw(ctx context.Context, sysRoot, devDir, uniq string) (string, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if p, ok := findHidraw(sysRoot, devDir, uniq); ok {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("uhid: no hidraw node for HID device %q (is hid_generic loaded?): %w", uniq, ctx.Err())
		case <-tick.C:
		}
	}
}

func findHidraw(sysRoot, devDir, uniq string) (string, bool) {
	devs, _ := filepath.Glob(filepath.Join(sysRoot, "bus/hid/devices/*"))
	for _, dev := range devs {
		b, err := os.ReadFile(filepath.Join(dev, "uevent"))
		if err != nil || !hasLine(string(b), "HID_UNIQ="+uniq) {
			continue
		}
		nodes, _ := filepath.Glob(filepath.Join(dev, "hidraw/hidraw*"))
		for _, n := range nodes {
			p := filepath.Join(devDir, filepath.Base(n))
			if _, err := os.Stat(p); err == nil {
				return p, true
			}
		}
	}
	return "", false
}

func hasLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if l == line {
			return true
		}
	}
	return false
}
