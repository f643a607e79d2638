// Package upshidsim simulates USB UPSes for the upshid driver. A UPS is a
// real report descriptor with report contents (taken from a recording of a
// real unit) that the simulation changes: mains lost, battery low, replace
// battery, self-test. Two transports serve it:
//
//   - Bus: an in-memory hidraw bus with a sysfs tree in a directory, so the
//     driver's discovery, identification by serial and re-enumeration under
//     another hidraw number run unchanged in unit tests;
//   - UHID (Linux only): a real kernel HID device created through /dev/uhid,
//     so the driver opens a real /dev/hidrawN and uses the real ioctls (for
//     VM tests; needs the uhid module and root).
package upshidsim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
)

// Usages the simulation sets, from the Power Device (0x84) and Battery
// System (0x85) pages.
const (
	ACPresent        hidreport.Usage = 0x008500d0
	Charging         hidreport.Usage = 0x00850044
	Discharging      hidreport.Usage = 0x00850045
	BelowCapacity    hidreport.Usage = 0x00850042
	NeedReplacement  hidreport.Usage = 0x0085004b
	RemainingCap     hidreport.Usage = 0x00850066
	RunTimeToEmpty   hidreport.Usage = 0x00850068
	ShutdownImminent hidreport.Usage = 0x00840069
	Overload         hidreport.Usage = 0x00840065
	Test             hidreport.Usage = 0x00840058
	PercentLoad      hidreport.Usage = 0x00840035
)

// UPS is one simulated unit. Its methods are safe for concurrent use.
type UPS struct {
	Desc            []byte
	d               *hidreport.Descriptor
	Serial          string
	Vendor, Product uint16
	Name            string

	mu      sync.Mutex
	reports map[hidreport.Key][]byte
	// silent makes GET_REPORT fail (a hung UPS firmware).
	silent bool
	subs   []chan []byte
	// TestDuration: a self-test started through SET_REPORT reports "in
	// progress" until Finish is called.
	testPending bool
}

// New builds a UPS from a descriptor and the recorded Feature reports
// (a reports.txt of drivers/testdata/third_party/hid). Reports of the
// descriptor that the recording lacks start zeroed.
func New(desc []byte, rec []hidreport.Recorded) (*UPS, error) {
	d, err := hidreport.Parse(desc)
	if err != nil {
		return nil, err
	}
	u := &UPS{Desc: desc, d: d, reports: map[hidreport.Key][]byte{}, Name: "Simulated UPS"}
	for k, n := range d.Sizes {
		b := make([]byte, n)
		if d.UsesIDs {
			b[0] = k.ID
		}
		u.reports[k] = b
	}
	for _, r := range rec {
		k := hidreport.Key{Type: r.Type, ID: 0}
		if d.UsesIDs {
			k.ID = r.Bytes[0]
		}
		if cur, ok := u.reports[k]; ok && len(r.Bytes) == len(cur) {
			copy(cur, r.Bytes)
		}
		// NUT read Input items through Feature requests: the same bytes
		// are the Input report of that ID when the lengths agree.
		ki := hidreport.Key{Type: hidreport.Input, ID: k.ID}
		if cur, ok := u.reports[ki]; ok && r.Type == hidreport.Feature && len(r.Bytes) == len(cur) {
			copy(cur, r.Bytes)
		}
	}
	return u, nil
}

// Load builds a UPS from a .rdesc.hex file and, when recordingPath is not
// empty, the reports of a .reports.txt file up to the end of the given
// state (all of them when state is empty).
func Load(descPath, recordingPath, state string) (*UPS, error) {
	b, err := os.ReadFile(descPath)
	if err != nil {
		return nil, err
	}
	desc, err := hidreport.ParseHex(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", descPath, err)
	}
	var rec []hidreport.Recorded
	if recordingPath != "" {
		f, err := os.Open(recordingPath)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rec, err = hidreport.ParseRecording(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", recordingPath, err)
		}
		if state != "" {
			last := -1
			for i, r := range rec {
				if r.State == state {
					last = i
				}
			}
			if last < 0 {
				return nil, fmt.Errorf("%s has no state %q", recordingPath, state)
			}
			rec = rec[:last+1]
		}
	}
	return New(desc, rec)
}

// Set writes v into every field with usage u (Input and Feature twins, all
// collections) and sends the Input reports that changed to subscribers,
// as the UPS does on its interrupt pipe.
func (u *UPS) Set(usage hidreport.Usage, v int64) error {
	return u.setAll([]usageValue{{usage, v}})
}

type usageValue struct {
	usage hidreport.Usage
	v     int64
}

// setAll writes every value, then sends each changed Input report once,
// as a UPS's firmware does when one event moves several bits of one
// report (PresentStatus at mains loss). A usage the descriptor lacks is
// an error.
func (u *UPS) setAll(vals []usageValue) error {
	u.mu.Lock()
	changed := map[hidreport.Key]bool{}
	var order []hidreport.Key
	var missing []error
	for _, uv := range vals {
		found := false
		for i := range u.d.Fields {
			f := &u.d.Fields[i]
			if f.Usage != uv.usage || f.Array || f.Type == hidreport.Output {
				continue
			}
			k := hidreport.Key{Type: f.Type, ID: f.ReportID}
			b := u.reports[k]
			old, err := u.d.Raw(b, f)
			if err != nil {
				continue
			}
			found = true
			if old != uv.v {
				_ = u.d.SetRaw(b, f, uv.v)
				if !changed[k] {
					order = append(order, k)
				}
				changed[k] = true
			}
		}
		if !found {
			missing = append(missing, fmt.Errorf("upshidsim: the descriptor has no field with usage %08x", uint32(uv.usage)))
		}
	}
	var send [][]byte
	for _, k := range order {
		if k.Type == hidreport.Input {
			send = append(send, append([]byte(nil), u.reports[k]...))
		}
	}
	subs := append([]chan []byte(nil), u.subs...)
	u.mu.Unlock()
	if len(missing) > 0 {
		return errors.Join(missing...)
	}
	for _, r := range send {
		for _, c := range subs {
			select {
			case c <- r:
			default: // a reader that does not read loses reports, as on USB
			}
		}
	}
	return nil
}

// Mains switches mains on or off the way a UPS reports it: the status
// bits move together, each changed report is sent once.
func (u *UPS) Mains(on bool) error {
	b := func(x bool) int64 {
		if x {
			return 1
		}
		return 0
	}
	vals := []usageValue{{Discharging, b(!on)}, {ACPresent, b(on)}}
	if !on && u.has(Charging) { // not every UPS has it
		vals = append(vals, usageValue{Charging, 0})
	}
	return u.setAll(vals)
}

// has tells whether the descriptor declares a usage.
func (u *UPS) has(usage hidreport.Usage) bool {
	for i := range u.d.Fields {
		if u.d.Fields[i].Usage == usage {
			return true
		}
	}
	return false
}

// Silent makes the UPS stop answering GET_REPORT (true) or answer again.
func (u *UPS) Silent(s bool) {
	u.mu.Lock()
	u.silent = s
	u.mu.Unlock()
}

// FinishTest ends a running self-test with the given result (1 passed,
// 2 warning, 3 error).
func (u *UPS) FinishTest(result int64) error {
	u.mu.Lock()
	u.testPending = false
	u.mu.Unlock()
	return u.Set(Test, result)
}

// Report returns a copy of a report's present bytes.
func (u *UPS) Report(t hidreport.ReportType, id uint8) ([]byte, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	b, ok := u.reports[hidreport.Key{Type: t, ID: id}]
	return append([]byte(nil), b...), ok
}

var errSilent = errors.New("simulated UPS does not answer")

// getReport answers GET_REPORT into buf (buf[0] is the ID).
func (u *UPS) getReport(t hidreport.ReportType, buf []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.silent {
		return 0, errSilent
	}
	var id uint8
	if u.d.UsesIDs && len(buf) > 0 {
		id = buf[0]
	}
	b, ok := u.reports[hidreport.Key{Type: t, ID: id}]
	if !ok {
		return 0, fmt.Errorf("no %s report %d", t, id)
	}
	return copy(buf, b), nil
}

// setReport takes SET_REPORT of a Feature report. Writing the Test
// control starts a self-test: the result becomes 5 (in progress).
func (u *UPS) setReport(buf []byte) error {
	u.mu.Lock()
	if u.silent {
		u.mu.Unlock()
		return errSilent
	}
	var id uint8
	if u.d.UsesIDs && len(buf) > 0 {
		id = buf[0]
	}
	k := hidreport.Key{Type: hidreport.Feature, ID: id}
	cur, ok := u.reports[k]
	if !ok || len(buf) != len(cur) {
		u.mu.Unlock()
		return fmt.Errorf("no Feature report %d of %d bytes", id, len(buf))
	}
	startTest := false
	for i := range u.d.Fields {
		f := &u.d.Fields[i]
		if f.Type == hidreport.Feature && f.ReportID == id && f.Usage == Test {
			if v, err := u.d.Raw(buf, f); err == nil && (v == 1 || v == 2) {
				startTest = true
			}
		}
	}
	copy(cur, buf)
	u.testPending = u.testPending || startTest
	u.mu.Unlock()
	if startTest {
		return u.Set(Test, 5)
	}
	return nil
}

func (u *UPS) subscribe() chan []byte {
	c := make(chan []byte, 64)
	u.mu.Lock()
	u.subs = append(u.subs, c)
	u.mu.Unlock()
	return c
}

func (u *UPS) unsubscribe(c chan []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, s := range u.subs {
		if s == c {
			u.subs = append(u.subs[:i], u.subs[i+1:]...)
			return
		}
	}
}
