//go:build vmtest

package uhid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
	"github.com/praxisgate/praxisgate/image/vmtest"
	"golang.org/x/sys/unix"
)

// hidData holds the real UPS descriptors and recordings.
const hidData = "../../testdata/third_party/hid"

// guestModules are what a HID UPS needs in the guest: uhid for the virtual
// device and hid-generic, the driver that binds a HID device without a
// special driver (every UPS) and so gives it its hidraw node.
var guestModules = []string{"uhid", "hid_generic"}

// ups is a real UPS from drivers/testdata/third_party/hid.
type ups struct {
	file             string
	vendor, product  uint32
	input            []byte // an input report its descriptor declares
	reportsAvailable bool
}

var upses = []ups{
	// Input report 0x13 is ACPresent (Input and Feature); 13 00 = mains lost.
	{"apc-back-ups-bx1600mi", 0x051d, 0x0002, []byte{0x13, 0x00}, true},
	{"apc-back-ups-es850g2", 0x051d, 0x0002, nil, true},
	{"apc-smart-ups-3000", 0x051d, 0x0003, nil, true},
	{"cyberpower-cp1500pfclcd", 0x0764, 0x0501, nil, true},
	{"eaton-3s-700", 0x0463, 0xffff, nil, true},
	{"legrand-keor-ups-1cb0-0032", 0x1cb0, 0x0032, nil, true},
	{"santak-tg-box-850", 0x0463, 0xffff, nil, true},
	{"apc-back-ups-es850m2", 0x051d, 0x0002, nil, false},
	{"apc-back-ups-rs1000g", 0x051d, 0x0002, nil, false},
	{"apc-smart-ups-x750", 0x051d, 0x0003, nil, false},
	{"cyberpower-ec850lcd", 0x0764, 0x0501, nil, false},
	{"eaton-ellipse-eco", 0x0463, 0xffff, nil, false},
}

func (u ups) config(t *testing.T, uniq string) Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hidData, u.file+".rdesc.hex"))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := hidreport.ParseHex(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Name: u.file, Phys: "vmtest/" + uniq, Uniq: uniq, Vendor: u.vendor, Product: u.product, Descriptor: desc, Reports: map[byte][]byte{}}
	if u.reportsAvailable {
		rb, err := os.ReadFile(filepath.Join(hidData, u.file+".reports.txt"))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := hidreport.ParseRecording(bytes.NewReader(rb))
		if err != nil {
			t.Fatal(err)
		}
		// The first state's Feature reports; a report read twice answers
		// as last read, as in a poll.
		for _, r := range recs {
			if r.State == recs[0].State && r.Type == hidreport.Feature && len(r.Bytes) > 0 {
				c.Reports[r.Bytes[0]] = r.Bytes
			}
		}
	}
	return c
}

// create makes the device and returns it with its hidraw path.
func create(t *testing.T, c Config) (*Device, string) {
	t.Helper()
	d, err := Create("", c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Destroy() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := d.Hidraw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return d, p
}

func openHidraw(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// ioctl runs an ioctl on f without f.Fd(), which would switch the file to
// blocking mode and make read deadlines hang.
func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) (uintptr, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var r uintptr
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		r, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return r, nil
}

func rawDescriptor(f *os.File) ([]byte, error) {
	var size int32
	if _, err := ioctl(f, unix.HIDIOCGRDESCSIZE, unsafe.Pointer(&size)); err != nil {
		return nil, fmt.Errorf("HIDIOCGRDESCSIZE: %w", err)
	}
	d := unix.HIDRawReportDescriptor{Size: uint32(size)}
	if _, err := ioctl(f, unix.HIDIOCGRDESC, unsafe.Pointer(&d)); err != nil {
		return nil, fmt.Errorf("HIDIOCGRDESC: %w", err)
	}
	return d.Value[:d.Size], nil
}

func rawInfo(f *os.File) (unix.HIDRawDevInfo, error) {
	var info unix.HIDRawDevInfo
	_, err := ioctl(f, unix.HIDIOCGRAWINFO, unsafe.Pointer(&info))
	return info, err
}

// rawUniq is HIDIOCGRAWUNIQ(64).
func rawUniq(f *os.File) (string, error) {
	buf := make([]byte, 64)
	req := uintptr(2<<30 | len(buf)<<16 | 'H'<<8 | 0x08)
	n, err := ioctl(f, req, unsafe.Pointer(&buf[0]))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(buf[:n]), "\x00"), nil
}

// getFeature is HIDIOCGFEATURE: buf[0] is the report ID on the way in,
// the answer (report ID first) on the way out.
func getFeature(f *os.File, id byte) ([]byte, error) {
	buf := make([]byte, 64)
	buf[0] = id
	req := uintptr(3<<30 | len(buf)<<16 | 'H'<<8 | 0x07)
	n, err := ioctl(f, req, unsafe.Pointer(&buf[0]))
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// TestKernel runs in a qemu guest with Debian's kernel (the build machine's
// kernel has no uhid) and checks the kernel path a USB UPS driver uses:
// hidraw nodes, HIDIOCGRDESC, HIDIOCGFEATURE, input reports, unplug and
// re-plug, two devices, and a device that stops answering.
func TestKernel(t *testing.T) {
	if !vmtest.Guest(t, vmtest.Options{Modules: guestModules, Files: []string{hidData}, Timeout: 4 * time.Minute}) {
		return
	}
	t.Run("descriptors", testDescriptors)
	t.Run("features", testFeatures)
	t.Run("input", testInput)
	t.Run("reenumerate", testReenumerate)
	t.Run("two", testTwo)
	t.Run("unanswered", testUnanswered)
}

// testDescriptors: every real descriptor is accepted by the kernel's HID
// parser and read back unchanged, with the USB ids and serial.
func testDescriptors(t *testing.T) {
	for i, u := range upses {
		uniq := fmt.Sprintf("SN-desc-%d", i)
		c := u.config(t, uniq)
		d, p := create(t, c)
		f := openHidraw(t, p)
		got, err := rawDescriptor(f)
		if err != nil {
			t.Fatalf("%s: %v", u.file, err)
		}
		if !bytes.Equal(got, c.Descriptor) {
			t.Errorf("%s: HIDIOCGRDESC gave %d bytes, differing from the %d served", u.file, len(got), len(c.Descriptor))
		}
		info, err := rawInfo(f)
		if err != nil {
			t.Fatal(err)
		}
		if info.Bustype != BusUSB || uint16(info.Vendor) != uint16(u.vendor) || uint16(info.Product) != uint16(u.product) {
			t.Errorf("%s: HIDIOCGRAWINFO %+v, want bus 3 %04x:%04x", u.file, info, u.vendor, u.product)
		}
		if s, err := rawUniq(f); err != nil || s != uniq {
			t.Errorf("%s: HIDIOCGRAWUNIQ = %q, %v; want %q", u.file, s, err, uniq)
		}
		t.Logf("%s: %s, %d-byte descriptor", u.file, p, len(got))
		f.Close()
		if err := d.Destroy(); err != nil {
			t.Fatal(err)
		}
	}
}

// testFeatures: every report a real UPS answered comes back through
// HIDIOCGFEATURE byte for byte.
func testFeatures(t *testing.T) {
	for i, u := range upses {
		if !u.reportsAvailable {
			continue
		}
		c := u.config(t, fmt.Sprintf("SN-feat-%d", i))
		d, p := create(t, c)
		f := openHidraw(t, p)
		for id, want := range c.Reports {
			got, err := getFeature(f, id)
			if err != nil {
				t.Errorf("%s: GET_FEATURE %#02x: %v", u.file, id, err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: GET_FEATURE %#02x = % x, want % x", u.file, id, got, want)
			}
		}
		// A changed value (mains lost) is what the next read returns.
		if u.input != nil {
			d.SetReport(u.input)
			if got, err := getFeature(f, u.input[0]); err != nil || !bytes.Equal(got, u.input) {
				t.Errorf("%s: after SetReport, GET_FEATURE = % x, %v; want % x", u.file, got, err, u.input)
			}
		}
		t.Logf("%s: %d feature reports read back", u.file, len(c.Reports))
		f.Close()
		_ = d.Destroy()
	}
}

// readReport reads one input report from hidraw, bounded in time.
func readReport(f *os.File, within time.Duration) ([]byte, error) {
	if err := f.SetReadDeadline(time.Now().Add(within)); err != nil {
		return nil, err
	}
	buf := make([]byte, 256)
	n, err := f.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// testInput: an input report (mains lost) sent by the device is read from
// hidraw as the interrupt endpoint's report would be.
func testInput(t *testing.T) {
	u := upses[0]
	d, p := create(t, u.config(t, "SN-input"))
	f := openHidraw(t, p)
	if err := d.Input(u.input); err != nil {
		t.Fatal(err)
	}
	got, err := readReport(f, 20*time.Second)
	if err != nil {
		t.Fatalf("read input report: %v", err)
	}
	if !bytes.Equal(got, u.input) {
		t.Errorf("read % x, want % x", got, u.input)
	}
	// A report ID the descriptor does not declare as Input never reaches
	// hidraw: the HID core drops it. Then a declared one still arrives.
	if err := d.Input([]byte{0x01, 0x02}); err != nil {
		t.Fatal(err)
	}
	if err := d.Input([]byte{0x13, 0x01}); err != nil {
		t.Fatal(err)
	}
	got, err = readReport(f, 20*time.Second)
	if err != nil || !bytes.Equal(got, []byte{0x13, 0x01}) {
		t.Errorf("after an undeclared report: read % x, %v; want 13 01", got, err)
	}
}

// testReenumerate: the UPS drops off the bus and comes back while a
// driver still holds the old node open (as it does mid-outage). The old
// node fails at once instead of hanging, and the device comes back under
// a new hidraw number, found again by its serial.
func testReenumerate(t *testing.T) {
	u := upses[0]
	c := u.config(t, "SN-reenum")
	d, p1 := create(t, c)
	old := openHidraw(t, p1)
	if _, err := getFeature(old, 0x0c); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := readReport(old, 60*time.Second)
		readErr <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the read block (not a timing assertion)
	if err := d.Destroy(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("blocked read on the unplugged node ended with %v, want an error from the kernel", err)
		}
		t.Logf("read on the unplugged node: %v", err)
	case <-time.After(90 * time.Second):
		t.Fatal("read on the unplugged node still blocked after 90 s")
	}
	if _, err := getFeature(old, 0x0c); err == nil {
		t.Error("GET_FEATURE on the unplugged node succeeded")
	} else {
		t.Logf("GET_FEATURE on the unplugged node: %v", err)
	}
	_, p2 := create(t, c)
	if p2 == p1 {
		t.Errorf("re-plugged device reuses %s although the old node is still open", p1)
	}
	f := openHidraw(t, p2)
	if got, err := getFeature(f, 0x0c); err != nil || !bytes.Equal(got, c.Reports[0x0c]) {
		t.Errorf("re-plugged %s: GET_FEATURE = % x, %v", p2, got, err)
	}
	t.Logf("unplugged %s, back as %s", p1, p2)
}

// testTwo: two UPSes at once, each on its own node with its own answers,
// and an input report reaches only its own node.
func testTwo(t *testing.T) {
	apcC := upses[0].config(t, "SN-two-apc")
	eatonC := upses[4].config(t, "SN-two-eaton")
	apc, pa := create(t, apcC)
	_, pe := create(t, eatonC)
	if pa == pe {
		t.Fatalf("both devices on %s", pa)
	}
	fa, fe := openHidraw(t, pa), openHidraw(t, pe)
	for _, tc := range []struct {
		f *os.File
		c Config
	}{{fa, apcC}, {fe, eatonC}} {
		got, err := rawDescriptor(tc.f)
		if err != nil || !bytes.Equal(got, tc.c.Descriptor) {
			t.Errorf("%s: descriptor differs (%v)", tc.c.Name, err)
		}
		for id, want := range tc.c.Reports {
			if got, err := getFeature(tc.f, id); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: GET_FEATURE %#02x = % x, %v; want % x", tc.c.Name, id, got, err, want)
			}
		}
	}
	if err := apc.Input([]byte{0x13, 0x00}); err != nil {
		t.Fatal(err)
	}
	if got, err := readReport(fa, 20*time.Second); err != nil || !bytes.Equal(got, []byte{0x13, 0x00}) {
		t.Errorf("APC node read % x, %v", got, err)
	}
	// The Eaton node stays silent: its read ends at the deadline.
	if got, err := readReport(fe, 500*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Eaton node read % x, %v; want nothing", got, err)
	}
}

// testUnanswered: a device that stops answering GET_REPORT makes the
// ioctl fail with an error after the kernel's timeout, not hang; when it
// answers again, reads work again.
func testUnanswered(t *testing.T) {
	u := upses[0]
	c := u.config(t, "SN-hung")
	d, p := create(t, c)
	f := openHidraw(t, p)
	d.SetAnswering(false)
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		b, err := getFeature(f, 0x0c)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		if r.err == nil {
			t.Fatalf("GET_FEATURE on a silent device returned % x", r.b)
		}
		if !errors.Is(r.err, unix.EIO) {
			t.Errorf("GET_FEATURE on a silent device: %v, want EIO (uhid's timeout)", r.err)
		}
		t.Logf("GET_FEATURE on a silent device: %v after %.1f s", r.err, time.Since(start).Seconds())
	case <-time.After(2 * time.Minute):
		t.Fatal("GET_FEATURE on a silent device still blocked after 2 minutes")
	}
	var unanswered int
	for _, r := range d.Requests() {
		if !r.Set && r.ReportID == 0x0c && !r.Answered {
			unanswered++
		}
	}
	if unanswered != 1 {
		t.Errorf("the device saw %d unanswered requests for 0x0c, want 1: %+v", unanswered, d.Requests())
	}
	d.SetAnswering(true)
	if got, err := getFeature(f, 0x0c); err != nil || !bytes.Equal(got, c.Reports[0x0c]) {
		t.Errorf("after answering again: % x, %v", got, err)
	}
}
