// Package uhid makes virtual HID devices through Linux's /dev/uhid, so
// tests can put a UPS "on the USB bus" without hardware: the kernel
// creates a real /dev/hidrawN from the report descriptor a test serves,
// forwards GET_REPORT/SET_REPORT requests made on that hidraw node to the
// test process, and delivers the input reports the test sends as if they
// came from the interrupt endpoint. The driver under test therefore runs
// its real ioctls against the real kernel HID core.
//
// The device is served from a report descriptor and the report values of a
// real UPS (drivers/testdata/third_party/hid: *.rdesc.hex and
// *.reports.txt, read by drivers/upshid/hidreport's ParseHex and
// ParseRecording). drivers/upshid/upshidsim serves its simulated UPSes
// through it, answering requests with a Responder.
//
// uhid needs the kernel module uhid (CONFIG_UHID) and write access to
// /dev/uhid, i.e. root; the build machine's kernel lacks it, so the tests
// run in a qemu guest booting Debian's kernel (image/vmtest).
package uhid

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Event types of <linux/uhid.h> (enum uhid_event_type).
const (
	evDestroy         = 1
	evStart           = 2
	evStop            = 3
	evOpen            = 4
	evClose           = 5
	evOutput          = 6
	evGetReport       = 9
	evGetReportReply  = 10
	evCreate2         = 11
	evInput2          = 12
	evSetReport       = 13
	evSetReportReply  = 14
	dataMax           = 4096 // UHID_DATA_MAX
	descriptorMax     = 4096 // HID_MAX_DESCRIPTOR_SIZE
	eventSize         = 4 + 4372
	create2NameLen    = 128
	create2PhysLen    = 64
	create2UniqLen    = 64
	create2DescOffset = 4 + create2NameLen + create2PhysLen + create2UniqLen + 2 + 2 + 4*4
)

// ReportType is the HID report type of a request (enum uhid_report_type).
type ReportType uint8

// Report types as the kernel numbers them for uhid.
const (
	Feature ReportType = 0
	Output  ReportType = 1
	Input   ReportType = 2
)

func (t ReportType) String() string {
	switch t {
	case Feature:
		return "feature"
	case Output:
		return "output"
	case Input:
		return "input"
	}
	return fmt.Sprintf("type%d", uint8(t))
}

// BusUSB is the bus type of a USB device (BUS_USB in <linux/input.h>).
const BusUSB = 0x03

// create2 encodes a UHID_CREATE2 event.
func create2(c Config) ([]byte, error) {
	if len(c.Descriptor) == 0 || len(c.Descriptor) > descriptorMax {
		return nil, fmt.Errorf("uhid: report descriptor of %d bytes (1 to %d)", len(c.Descriptor), descriptorMax)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"name", c.Name, create2NameLen}, {"phys", c.Phys, create2PhysLen}, {"uniq", c.Uniq, create2UniqLen}} {
		if len(f.v) >= f.max {
			return nil, fmt.Errorf("uhid: %s %q longer than %d bytes", f.name, f.v, f.max-1)
		}
	}
	b := make([]byte, eventSize)
	le := binary.LittleEndian
	le.PutUint32(b, evCreate2)
	copy(b[4:], c.Name)
	copy(b[4+create2NameLen:], c.Phys)
	copy(b[4+create2NameLen+create2PhysLen:], c.Uniq)
	o := 4 + create2NameLen + create2PhysLen + create2UniqLen
	le.PutUint16(b[o:], uint16(len(c.Descriptor)))
	le.PutUint16(b[o+2:], c.Bus)
	le.PutUint32(b[o+4:], c.Vendor)
	le.PutUint32(b[o+8:], c.Product)
	le.PutUint32(b[o+12:], c.Version)
	le.PutUint32(b[o+16:], c.Country)
	copy(b[create2DescOffset:], c.Descriptor)
	return b, nil
}

// input2 encodes a UHID_INPUT2 event: one input report, byte 0 the report
// ID when the descriptor numbers its reports.
func input2(report []byte) ([]byte, error) {
	if len(report) == 0 || len(report) > dataMax {
		return nil, fmt.Errorf("uhid: input report of %d bytes (1 to %d)", len(report), dataMax)
	}
	b := make([]byte, 6+len(report))
	binary.LittleEndian.PutUint32(b, evInput2)
	binary.LittleEndian.PutUint16(b[4:], uint16(len(report)))
	copy(b[6:], report)
	return b, nil
}

// getReportReply encodes the answer to a GET_REPORT request; errno 0 and
// the report bytes, or an errno (the kernel then fails the request with
// EIO).
func getReportReply(id uint32, errno uint16, data []byte) []byte {
	b := make([]byte, 12+len(data))
	le := binary.LittleEndian
	le.PutUint32(b, evGetReportReply)
	le.PutUint32(b[4:], id)
	le.PutUint16(b[8:], errno)
	le.PutUint16(b[10:], uint16(len(data)))
	copy(b[12:], data)
	return b
}

func setReportReply(id uint32, errno uint16) []byte {
	b := make([]byte, 10)
	le := binary.LittleEndian
	le.PutUint32(b, evSetReportReply)
	le.PutUint32(b[4:], id)
	le.PutUint16(b[8:], errno)
	return b
}

func simple(typ uint32) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, typ)
	return b
}

// event is one event read from /dev/uhid, decoded.
type event struct {
	typ   uint32
	id    uint32     // GET_REPORT, SET_REPORT
	rnum  uint8      // report number (ID)
	rtype ReportType // GET_REPORT, SET_REPORT, OUTPUT
	data  []byte     // SET_REPORT, OUTPUT
}

var errShortEvent = errors.New("uhid: short event")

// decodeEvent reads an event the kernel wrote. The kernel always writes
// whole struct uhid_event values, but the decoder checks every length so
// that a short or odd read is an error, not a panic.
func decodeEvent(b []byte) (event, error) {
	if len(b) < 4 {
		return event{}, errShortEvent
	}
	le := binary.LittleEndian
	ev := event{typ: le.Uint32(b)}
	p := b[4:]
	switch ev.typ {
	case evGetReport:
		if len(p) < 6 {
			return ev, fmt.Errorf("uhid: GET_REPORT of %d bytes: %w", len(p), errShortEvent)
		}
		ev.id, ev.rnum, ev.rtype = le.Uint32(p), p[4], ReportType(p[5])
	case evSetReport:
		if len(p) < 8 {
			return ev, fmt.Errorf("uhid: SET_REPORT of %d bytes: %w", len(p), errShortEvent)
		}
		ev.id, ev.rnum, ev.rtype = le.Uint32(p), p[4], ReportType(p[5])
		n := int(le.Uint16(p[6:]))
		if n > dataMax || len(p) < 8+n {
			return ev, fmt.Errorf("uhid: SET_REPORT claims %d data bytes, has %d: %w", n, len(p)-8, errShortEvent)
		}
		ev.data = append([]byte(nil), p[8:8+n]...)
	case evOutput:
		if len(p) < dataMax+3 {
			return ev, fmt.Errorf("uhid: OUTPUT of %d bytes: %w", len(p), errShortEvent)
		}
		n := int(le.Uint16(p[dataMax:]))
		if n > dataMax {
			return ev, fmt.Errorf("uhid: OUTPUT claims %d bytes", n)
		}
		ev.data, ev.rtype = append([]byte(nil), p[:n]...), ReportType(p[dataMax+2])
	}
	return ev, nil
}
