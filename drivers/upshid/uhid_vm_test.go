//go:build uhidvm

// These tests drive the driver through the real kernel: upshidsim creates
// UPSes with /dev/uhid, the kernel makes /dev/hidrawN of them, and the
// driver finds them in the real /sys and uses the real ioctls. They need
// root and the uhid module, so they are built only with -tags uhidvm, by
// the VM test harness under image/ (go test -c -tags uhidvm
// ./drivers/upshid, run inside the guest).
package upshid

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidraw"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
	"github.com/praxisgate/praxisgate/drivers/upshid/upshidsim"
)

const uhidNode = "/dev/uhid"

func init() {
	if dir := os.Getenv("PRAXISGATE_HID_TESTDATA"); dir != "" {
		hidData = dir
	}
}

func serveUHID(t testing.TB, stem, serial string) (*upshidsim.UPS, *upshidsim.UHID) {
	t.Helper()
	rec := filepath.Join(hidData, stem+".reports.txt")
	state := "online"
	if _, err := os.Stat(rec); err != nil {
		rec, state = "", ""
	}
	u, err := upshidsim.Load(filepath.Join(hidData, stem+".rdesc.hex"), rec, state)
	if err != nil {
		t.Fatal(err)
	}
	u.Serial, u.Vendor, u.Product, u.Name = serial, 0x051d, 0x0002, "American Power Conversion Back-UPS "+serial
	dev, err := upshidsim.ServeUHID(context.Background(), u, uhidNode)
	if err != nil {
		t.Fatalf("drivers/upshid VM test needs %s (uhid module, root): %v", uhidNode, err)
	}
	t.Cleanup(func() { dev.Close() })
	waitNode(t, serial, true)
	return u, dev
}

// waitNode waits until a hidraw node with this serial exists (or is gone).
func waitNode(t testing.TB, serial string, present bool) string {
	t.Helper()
	for i := 0; i < 500; i++ {
		nodes, _ := hidraw.Scan(hidraw.DefaultRoots)
		found := ""
		for _, n := range nodes {
			if n.Serial == serial {
				if _, err := os.Stat(n.Path); err == nil {
					found = n.Path
				}
			}
		}
		if (found != "") == present {
			return found
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("hidraw node of %s never %s", serial, map[bool]string{true: "appeared", false: "went away"}[present])
	return ""
}

func realDriver(t testing.TB, serial string) *Driver {
	t.Helper()
	d, err := New(drivers.Device{ID: "usv-" + serial, StateDir: t.TempDir()}, Config{Serial: serial, RescanEvery: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestUHIDPollAndMainsLossEvent(t *testing.T) {
	u, _ := serveUHID(t, "apc-back-ups-bx1600mi", "VM-A")
	d := realDriver(t, "VM-A")
	s := pollOK(t, d)
	if got := metricOf(s, "ups.status"); got != "OL" {
		t.Fatalf("status %v", got)
	}
	if got := metricOf(s, "device.serial"); got != "VM-A" {
		t.Errorf("serial %v", got)
	}
	c := startWatch(t, d)
	waitConnected(t, d)
	if err := u.Mains(false); err != nil {
		t.Fatal(err)
	}
	e := c.wait(t, "ups.power_lost")
	if m, _ := e.Attrs["metrics"].(map[string]any); m["ups.status"] != "OB DISCHRG" {
		t.Errorf("event metrics %v", m)
	}
}

// TestUHIDReenumerationMidOutage destroys the device on battery, lets
// another UPS take its hidraw number, and creates it again: the driver
// must follow it by serial to the new node.
func TestUHIDReenumerationMidOutage(t *testing.T) {
	u, dev := serveUHID(t, "legrand-keor-ups-1cb0-0032", "VM-K")
	d := realDriver(t, "VM-K")
	c := startWatch(t, d)
	waitConnected(t, d)
	first := waitNode(t, "VM-K", true)
	u.Mains(false)
	c.wait(t, "ups.power_lost")
	dev.Close()
	waitNode(t, "VM-K", false)
	serveUHID(t, "eaton-3s-700", "VM-OTHER")
	u.Mains(true)
	dev2, err := upshidsim.ServeUHID(context.Background(), u, uhidNode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev2.Close() })
	second := waitNode(t, "VM-K", true)
	if second == first {
		t.Logf("note: the kernel gave the same node %s again", second)
	}
	c.wait(t, "ups.power_restored")
	s := pollOK(t, d)
	if got := metricOf(s, "device.serial"); got != "VM-K" {
		t.Errorf("following %v", got)
	}
}

func TestUHIDStopsAnswering(t *testing.T) {
	u, _ := serveUHID(t, "eaton-3s-700", "VM-E")
	d := realDriver(t, "VM-E")
	pollOK(t, d)
	u.Silent(true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.Poll(ctx); !errors.Is(err, drivers.ErrUnreachable) {
		t.Fatalf("silent UPS: %v, want ErrUnreachable", err)
	}
	u.Silent(false)
	pollOK(t, d)
}

func TestUHIDTwoUPSes(t *testing.T) {
	serveUHID(t, "apc-back-ups-bx1600mi", "VM-1")
	serveUHID(t, "cyberpower-cp1500pfclcd", "VM-2")
	for serial, charge := range map[string]float64{"VM-1": 100, "VM-2": 100} {
		s := pollOK(t, realDriver(t, serial))
		if metricOf(s, "device.serial") != serial || metricOf(s, "battery.charge") != charge {
			t.Errorf("%s: %v", serial, s.Metrics)
		}
	}
	d, _ := New(drivers.Device{ID: "x"}, Config{}, nil)
	if _, err := d.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "set serial") {
		t.Errorf("two UPSes without serial: %v", err)
	}
}

func TestUHIDSelfTest(t *testing.T) {
	u, _ := serveUHID(t, "apc-back-ups-bx1600mi", "VM-T")
	d := realDriver(t, "VM-T")
	pollOK(t, d)
	if err := d.SelfTest(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if got := metricOf(pollOK(t, d), "ups.test.result"); got != "In progress" {
		t.Errorf("after SET_REPORT: %v", got)
	}
	u.FinishTest(1)
	s := pollOK(t, d)
	if len(s.Events) != 1 || s.Events[0].Type != "ups.self_test" {
		t.Errorf("events %v", s.Events)
	}
}

// BenchmarkUHIDMainsLossToEvent: interrupt report from the kernel to the
// driver's event (the gateway and broker add their part).
func BenchmarkUHIDMainsLossToEvent(b *testing.B) {
	u, _ := serveUHID(b, "apc-back-ups-bx1600mi", "VM-B")
	d := realDriver(b, "VM-B")
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Watch(ctx, c.emit)
	waitConnected(b, d)
	var worst time.Duration
	for i := 0; b.Loop(); i++ {
		c.mu.Lock()
		c.ev = nil
		c.mu.Unlock()
		on := i%2 == 1
		t0 := time.Now()
		u.Mains(on)
		typ := "ups.power_lost"
		if on {
			typ = "ups.power_restored"
		}
		c.wait(b, typ)
		worst = max(worst, time.Since(t0))
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/event")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms/worst-event")
}

// BenchmarkUHIDReenumerationToReading: the UPS drops off the bus and comes
// back (as a new kernel device); time until the watch has reconnected and
// a poll reads it again. Target ≤ 3 s.
func BenchmarkUHIDReenumerationToReading(b *testing.B) {
	u, dev := serveUHID(b, "eaton-3s-700", "VM-R")
	d := realDriver(b, "VM-R")
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Watch(ctx, c.emit)
	waitConnected(b, d)
	var worst time.Duration
	for b.Loop() {
		d.mu.Lock()
		gen := d.gen
		d.mu.Unlock()
		dev.Close()
		waitNode(b, "VM-R", false)
		t0 := time.Now()
		var err error
		if dev, err = upshidsim.ServeUHID(context.Background(), u, uhidNode); err != nil {
			b.Fatal(err)
		}
		for i := 0; ; i++ {
			d.mu.Lock()
			ok := d.gen > gen && d.conn != nil
			d.mu.Unlock()
			if ok {
				break
			}
			if i > 3000 {
				b.Fatal("no reconnect within 30 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		pollOK(b, d)
		worst = max(worst, time.Since(t0))
	}
	dev.Close()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/cycle")
	b.ReportMetric(float64(worst.Milliseconds()), "ms/worst-reading-back")
}

// TestUHIDIoctls checks the hidraw ioctls against what the simulator told
// the kernel: HIDIOCGRDESC, HIDIOCGRAWINFO, HIDIOCGRAWNAME, HIDIOCGRAWUNIQ,
// HIDIOCGFEATURE.
func TestUHIDIoctls(t *testing.T) {
	u, _ := serveUHID(t, "cyberpower-cp1500pfclcd", "VM-I")
	path := waitNode(t, "VM-I", true)
	dev, err := hidraw.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	desc, err := dev.Descriptor()
	if err != nil || string(desc) != string(u.Desc) {
		t.Errorf("descriptor: %d bytes, %v", len(desc), err)
	}
	info, err := dev.Info()
	if err != nil || info.Bus != 3 || info.Vendor != 0x051d || info.Product != 0x0002 {
		t.Errorf("info %+v %v", info, err)
	}
	if name, err := dev.Name(); err != nil || name != u.Name {
		t.Errorf("name %q %v", name, err)
	}
	if uniq, err := dev.Uniq(); err != nil || uniq != "VM-I" {
		t.Errorf("uniq %q %v", uniq, err)
	}
	buf := make([]byte, 2)
	buf[0] = 0x0b // PresentStatus of the CP1500PFCLCD
	want, _ := u.Report(hidreport.Feature, 0x0b)
	if n, err := dev.GetFeature(buf); err != nil || n != 2 || buf[1] != want[1] {
		t.Errorf("GET_FEATURE 0x0b: % x (%d, %v), want % x", buf, n, err, want)
	}
}

// TestUHIDInspectLive: `praxisgate ups inspect` on a real hidraw node
// reads every Feature report and prints the values.
func TestUHIDInspectLive(t *testing.T) {
	serveUHID(t, "apc-back-ups-es850g2", "VM-S")
	var out strings.Builder
	n, err := InspectLive(context.Background(), &out, hidraw.DefaultRoots)
	if err != nil || n < 1 {
		t.Fatalf("%d %v", n, err)
	}
	s := squeeze(out.String())
	for _, want := range []string{`serial "VM-S"`, "VALUES (from", "battery.runtime 868", "ups.status OL"} {
		if !strings.Contains(s, want) {
			t.Errorf("lacks %q:\n%s", want, s)
		}
	}
}
