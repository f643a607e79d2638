//go:build nightvm

// The power-cut night with the appliance in a qemu guest (make vm-test):
// the box's own processes, its USB UPS (uhid, a real /dev/hidrawN) and
// its USB LTE stick (a modem on a pseudo-terminal) live in the guest, the
// state directory on a virtual disk; the peers stay on this machine's
// loopback, which the guest reaches through qemu's user-mode network.
// The power cut kills qemu: whatever the guest kernel had not written to
// the disk is gone, as in the rack at 20:00 on a Friday.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/drivers/upshid/upshidsim"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/notify/modemsim"
	"github.com/praxisgate/praxisgate/image/vmtest"
)

// TestPowerCutNightUSB plays the night of TestPowerCutNight with the box
// in a qemu guest: mains loss reaches the daemon as the USB UPS's
// interrupt report through the guest kernel's hidraw, the box's power is
// cut by killing qemu (no sync, no shutdown), and at power return the
// guest boots again on the same disk (the journal replayed), the UPS
// enumerates afresh on mains and the modem comes back. The checks are the
// night's: nothing acknowledged lost, alarms in order, every device read
// again within 60 s, the cold chain verifies, the box ends on 2.0.0.
func TestPowerCutNightUSB(t *testing.T) {
	if vmtest.InGuest() {
		guestNight(t)
		return
	}
	testpeer.SkipShort(t, "qemu guest, mosquitto, snmpd, real daemon builds")
	playNight(t, newVMRig(t))
}

// BenchmarkPowerCutNightUSB: the times to be read again after coming back,
// with the appliance in the guest and a real power cut.
// Run: go test -tags nightvm ./cmd/praxisgate -run '^$' -bench PowerCutNightUSB -benchtime 1x
func BenchmarkPowerCutNightUSB(b *testing.B) {
	benchNight(b, "BenchmarkPowerCutNightUSB", func(tb testing.TB) nightRig { return newVMRig(tb) })
}

// The guest's fixed places: the USB UPS's serial number, the modem's
// by-id style link, and the guest test the host starts.
const (
	vmUPSSerial  = "NIGHT-USB-1"
	vmModemDir   = "/run/night-modem"
	vmNightTest  = "TestPowerCutNightUSB"
	vmHIDDataDir = "../../drivers/testdata/third_party/hid"
	// vmStartTimeout is the supervisor's start timeout in the guest: an
	// emulated CPU starts the daemon several times slower.
	vmStartTimeout = "30s"
)

// Console lines of the guest half: the box's output, and each SMS the
// modem accepted (sent before the gateway hears +CMGS, so a power cut
// never hides an SMS the box may have recorded).
const (
	vmBoxPrefix = "box: "
	vmSMSPrefix = "night: sms "
)

// nightReq is one instruction from the host to the guest half, one JSON
// line each way over a TCP connection to the host's loopback.
type nightReq struct {
	Op   string          `json:"op"`
	Args json.RawMessage `json:"args,omitempty"`
}

type nightReply struct {
	Err  string          `json:"err,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// nightStart boots the box in the guest.
type nightStart struct {
	// Now is the host's clock: the guest's is set from it, so the box's
	// timestamps compare with the host's.
	Now                   time.Time
	State, Config, Binary string
	// First provisions the state directory and seeds the cold chain.
	First  bool
	HIDDir string
	// Forward are host loopback addresses (127.0.0.1:port) the guest
	// forwards from its own loopback.
	Forward []string
}

// vmRig is the appliance in a qemu guest (see the file comment).
type vmRig struct {
	t     testing.TB
	exe   string
	disk  string
	ln    net.Listener
	hid   string
	files []string

	state, cfg, bin string
	forward         []string
	boots           int
	m               *vmtest.Machine
	conn            net.Conn
	rd              *bufio.Reader

	out syncBuffer
	mu  sync.Mutex
	sms []modemsim.Submit
}

func newVMRig(t testing.TB) *vmRig {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := &vmRig{t: t, exe: exe, disk: filepath.Join(t.TempDir(), "box.img")}
	if err := vmtest.Ext4Image(r.disk, 1024); err != nil {
		t.Fatal(err)
	}
	if r.hid, err = filepath.Abs(vmHIDDataDir); err != nil {
		t.Fatal(err)
	}
	if r.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.finish)
	return r
}

func (r *vmRig) upsDevice() string {
	return fmt.Sprintf("{id: ups, driver: upshid, interval: 1s, upshid: {serial: %q}}", vmUPSSerial)
}
func (r *vmRig) modemPort() string { return vmModemDir + "/modem" }

// peer: the guest reaches this machine's loopback at vmtest.HostAddr. The
// update server's plain HTTP is allowed only to a loopback host
// (update.insecure_http), so the guest half forwards its port from the
// guest's own loopback instead.
func (r *vmRig) peer(addr string) string {
	if u, ok := strings.CutPrefix(addr, "http://"); ok {
		r.forward = append(r.forward, strings.TrimSuffix(u, "/"))
		return addr
	}
	return strings.Replace(addr, "127.0.0.1", vmtest.HostAddr, 1)
}

// patience: the guest's CPU is emulated.
func (r *vmRig) patience() time.Duration { return 3 }
func (r *vmRig) logs() string            { return r.out.String() }

func (r *vmRig) submits() []modemsim.Submit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]modemsim.Submit(nil), r.sms...)
}

func (r *vmRig) prepare(_ testing.TB, state, cfg, bin string, files ...string) {
	r.state, r.cfg, r.bin = state, cfg, bin
	r.files = append([]string{cfg, bin, r.hid}, files...)
}

// boot starts the guest on the box's disk and, once its half is
// connected, the box in it. The UPS enumerates on mains at every boot: the
// box is off while it is on battery for good.
func (r *vmRig) boot(t testing.TB) {
	t.Helper()
	mods := []string{}
	for _, m := range slices.Concat(vmtest.DiskModules, vmtest.NetModules, []string{"uhid", "hid_generic"}) {
		if !slices.Contains(mods, m) {
			mods = append(mods, m)
		}
	}
	opts := vmtest.Options{
		Modules:   mods,
		Disks:     []string{r.disk},
		Files:     r.files,
		Net:       true,
		MemoryMiB: 2048,
		Timeout:   30 * time.Minute,
		Env:       []string{"NIGHT_CONTROL=" + r.ln.Addr().(*net.TCPAddr).AddrPort().String()},
		Console:   r.console,
	}
	m, err := vmtest.Start(context.Background(), t.TempDir(), opts, r.exe,
		"-test.run=^"+vmNightTest+"$", "-test.v", "-test.timeout=25m")
	if err != nil {
		t.Fatal(err)
	}
	r.m = m
	r.ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Minute))
	conn, err := r.ln.Accept()
	if err != nil {
		t.Fatalf("the guest half did not connect: %v", err)
	}
	r.conn, r.rd = conn, bufio.NewReaderSize(conn, 1<<20)
	first := r.boots == 0
	r.boots++
	if err := r.call("start", nightStart{Now: time.Now(), State: r.state, Config: r.cfg, Binary: r.bin,
		First: first, HIDDir: r.hid, Forward: r.forward}, nil); err != nil {
		t.Fatalf("start the box in the guest: %v", err)
	}
}

// console sorts the guest's console lines: the box's output, the SMS the
// modem accepted, and the rest into the test log.
func (r *vmRig) console(line string) {
	switch {
	case strings.HasPrefix(line, vmBoxPrefix):
		r.out.Write([]byte(strings.TrimPrefix(line, vmBoxPrefix) + "\n"))
	case strings.HasPrefix(line, vmSMSPrefix):
		var s modemsim.Submit
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, vmSMSPrefix)), &s); err != nil {
			r.t.Errorf("guest SMS line %q: %v", line, err)
			return
		}
		r.mu.Lock()
		r.sms = append(r.sms, s)
		r.mu.Unlock()
	default:
		r.t.Log("guest: " + line)
	}
}

// call sends one instruction to the guest half and decodes its answer
// into out.
func (r *vmRig) call(op string, args, out any) error {
	if r.conn == nil {
		return errors.New("the guest is not running")
	}
	a, err := json.Marshal(args)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(nightReq{Op: op, Args: a})
	r.conn.SetDeadline(time.Now().Add(3 * time.Minute))
	if _, err := r.conn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	line, err := r.rd.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("%s: no answer from the guest: %w", op, err)
	}
	var rep nightReply
	if err := json.Unmarshal(line, &rep); err != nil {
		return fmt.Errorf("%s: answer %q: %w", op, line, err)
	}
	if rep.Err != "" {
		return fmt.Errorf("%s: %s", op, rep.Err)
	}
	if out != nil {
		return json.Unmarshal(rep.Data, out)
	}
	return nil
}

func (r *vmRig) mainsFail(t testing.TB) {
	t.Helper()
	if err := r.call("mains", false, nil); err != nil {
		t.Fatal(err)
	}
}

func (r *vmRig) powerCut(t testing.TB) string {
	t.Helper()
	r.m.Kill()
	if res, err := r.m.Wait(); err != nil || !res.Killed {
		t.Fatalf("power cut: the guest ended %+v, %v", res.ExitCode, err)
	}
	r.conn.Close()
	r.conn, r.m = nil, nil
	return "power cut: qemu killed while the box runs (the guest's page cache is lost); the USB UPS and the modem lose the box"
}

func (r *vmRig) powerReturn(t testing.TB) string {
	t.Helper()
	start := time.Now()
	r.boot(t)
	return fmt.Sprintf("power returns: the guest boots on the same disk (%.1f s to the box starting), the USB UPS enumerates on mains, the modem comes back; box starts 2.0.0",
		time.Since(start).Seconds())
}

func (r *vmRig) deliver(t testing.TB, from, text string) {
	t.Helper()
	if err := r.call("deliver", [2]string{from, text}, nil); err != nil {
		t.Fatal(err)
	}
}

func (r *vmRig) readFile(_ testing.TB, rel string) ([]byte, error) {
	var b []byte
	err := r.call("read", filepath.Join(r.state, rel), &b)
	return b, err
}

func (r *vmRig) linked(testing.TB) (string, error) {
	var s string
	err := r.call("readlink", filepath.Join(r.state, "current"), &s)
	return filepath.Base(s), err
}

func (r *vmRig) verifyColdChain(t testing.TB) (string, error) {
	var res [2]string
	if err := r.call("verify", r.state, &res); err != nil {
		t.Fatal(err)
	}
	if res[1] != "" {
		return res[0], errors.New(res[1])
	}
	return res[0], nil
}

func (r *vmRig) stop(t testing.TB) {
	t.Helper()
	if err := r.call("stop", nil, nil); err != nil {
		t.Error(err)
	}
}

// finish ends the guest: its half returns (its test passes unless it
// reported a failure), or qemu is killed if it does not answer.
func (r *vmRig) finish() {
	if r.m == nil {
		return
	}
	if err := r.call("exit", nil, nil); err != nil {
		r.t.Log(err)
		r.m.Kill()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := r.m.Wait()
		if err == nil && !res.Killed && res.ExitCode != 0 {
			r.t.Errorf("the guest half failed (exit %d); console above", res.ExitCode)
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		r.m.Kill()
		<-done
	}
	r.ln.Close()
}

// guestNight is the guest half: it connects to the host and does what it
// is told until "exit".
func guestNight(t *testing.T) {
	if err := vmtest.NetUp(); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.Replace(os.Getenv("NIGHT_CONTROL"), "127.0.0.1", vmtest.HostAddr, 1))
	if err != nil {
		t.Fatalf("connect to the host: %v", err)
	}
	defer conn.Close()
	g := &guestBox{t: t}
	defer g.close()
	rd := bufio.NewReaderSize(conn, 1<<20)
	for {
		line, err := rd.ReadBytes('\n')
		if err != nil {
			t.Fatalf("the host went away: %v", err)
		}
		var req nightReq
		var rep nightReply
		if err := json.Unmarshal(line, &req); err != nil {
			rep.Err = err.Error()
		} else if data, err := g.do(req); err != nil {
			rep.Err = err.Error()
		} else if data != nil {
			if rep.Data, err = json.Marshal(data); err != nil {
				rep.Err = err.Error()
			}
		}
		b, _ := json.Marshal(rep)
		if _, err := conn.Write(append(b, '\n')); err != nil {
			t.Fatalf("answer the host: %v", err)
		}
		if req.Op == "exit" {
			return
		}
	}
}

// guestBox is what runs in the guest: the UPS on the USB bus, the modem
// and the box.
type guestBox struct {
	t   *testing.T
	ups *upshidsim.UPS
	dev *upshidsim.UHID
	sms *modemsim.Sim
	box *nightBox
	out *consoleWriter
}

// printMu keeps the guest's console lines whole.
var printMu sync.Mutex

func consoleLine(prefix, s string) {
	printMu.Lock()
	defer printMu.Unlock()
	fmt.Println(prefix + s)
}

// consoleWriter prints what is written to it line by line with a prefix.
type consoleWriter struct {
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (c *consoleWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	for {
		i := slices.Index(c.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		consoleLine(c.prefix, string(c.buf[:i]))
		c.buf = c.buf[i+1:]
	}
}

func (g *guestBox) do(req nightReq) (any, error) {
	switch req.Op {
	case "start":
		var s nightStart
		if err := json.Unmarshal(req.Args, &s); err != nil {
			return nil, err
		}
		return nil, g.start(s)
	case "mains":
		var on bool
		if err := json.Unmarshal(req.Args, &on); err != nil {
			return nil, err
		}
		return nil, g.ups.Mains(on)
	case "deliver":
		var m [2]string
		if err := json.Unmarshal(req.Args, &m); err != nil {
			return nil, err
		}
		return nil, g.sms.Deliver(m[0], m[1], time.Now())
	case "read":
		var p string
		if err := json.Unmarshal(req.Args, &p); err != nil {
			return nil, err
		}
		return os.ReadFile(p)
	case "readlink":
		var p string
		if err := json.Unmarshal(req.Args, &p); err != nil {
			return nil, err
		}
		return os.Readlink(p)
	case "verify":
		var state string
		if err := json.Unmarshal(req.Args, &state); err != nil {
			return nil, err
		}
		out, err := verifyColdChainAt(state)
		res := [2]string{out, ""}
		if err != nil {
			res[1] = err.Error()
		}
		return res, nil
	case "stop":
		if g.box == nil {
			return nil, errors.New("the box is not running")
		}
		g.box.stop(g.t)
		if g.t.Failed() {
			return nil, errors.New("the box did not stop cleanly (guest log above)")
		}
		return nil, nil
	case "exit":
		return nil, nil
	}
	return nil, fmt.Errorf("unknown instruction %q", req.Op)
}

// start sets the clock, mounts the box's disk (a first boot provisions it),
// plugs the UPS and the modem in and starts the box.
func (g *guestBox) start(s nightStart) error {
	tv := unix.NsecToTimeval(s.Now.UnixNano())
	if err := unix.Settimeofday(&tv); err != nil {
		return fmt.Errorf("set the clock: %w", err)
	}
	for _, a := range s.Forward {
		if err := forwardToHost(a); err != nil {
			return err
		}
	}
	if err := vmtest.MountDisk("/dev/vda", s.State, "ext4"); err != nil {
		return err
	}
	if s.First {
		mustCall(context.Background(), g.t, updateCmd, "provision", "-state", s.State, "-version", "2.0.0", "-binary", s.Binary)
		seedColdChain(g.t, filepath.Join(s.State, coldchain.DirName), "fridge")
		unix.Sync()
	}
	u, err := upshidsim.Load(filepath.Join(s.HIDDir, "apc-back-ups-bx1600mi.rdesc.hex"),
		filepath.Join(s.HIDDir, "apc-back-ups-bx1600mi.reports.txt"), "online")
	if err != nil {
		return err
	}
	u.Serial, u.Vendor, u.Product, u.Name = vmUPSSerial, 0x051d, 0x0002, "American Power Conversion Back-UPS "+vmUPSSerial
	if g.dev, err = upshidsim.ServeUHID(context.Background(), u, "/dev/uhid"); err != nil {
		return fmt.Errorf("the USB UPS: %w", err)
	}
	g.ups = u
	g.sms, err = modemsim.New(modemsim.Options{Dir: vmModemDir, OnSubmit: func(sub modemsim.Submit) {
		b, _ := json.Marshal(sub)
		consoleLine(vmSMSPrefix, string(b))
	}})
	if err != nil {
		return fmt.Errorf("the modem: %w", err)
	}
	g.out = &consoleWriter{prefix: vmBoxPrefix}
	g.box = startNightBox(g.t, s.State, s.Config, g.out, vmStartTimeout)
	return nil
}

func (g *guestBox) close() {
	if g.sms != nil {
		g.sms.Close()
	}
	if g.dev != nil {
		g.dev.Close()
	}
}

// forwardToHost listens on addr (127.0.0.1:port) in the guest and joins
// each connection to the same port on the host.
func forwardToHost(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("forward %s: %w", addr, err)
	}
	_, port, _ := net.SplitHostPort(addr)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				h, err := net.DialTimeout("tcp", net.JoinHostPort(vmtest.HostAddr, port), 10*time.Second)
				if err != nil {
					return
				}
				defer h.Close()
				done := make(chan struct{}, 2)
				go func() { io.Copy(h, c); h.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				go func() { io.Copy(c, h); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	return nil
}
