// Package vmtest runs Go test binaries inside a small qemu guest booting
// Debian's kernel, for tests that need kernel features the build machine
// lacks (uhid, hidraw, a disk whose power can be cut). It is the light
// sibling of the appliance boot test (image/test-image.sh): no root file
// system, no systemd, just the kernel, a few modules and the test binary in
// an initramfs built on the fly, so a guest boots in seconds under TCG.
//
// A test runs itself in a guest like this:
//
//	func TestHidraw(t *testing.T) {
//		if !vmtest.Guest(t, vmtest.Options{Modules: []string{"uhid", "hid_generic"}}) {
//			return // the host half: the guest ran this test and reported
//		}
//		// the guest half: this runs inside the VM as an ordinary test
//	}
//
// On the host, Guest boots a VM whose init (internal/vminit, a tiny static
// Go program) loads the modules with finit_module and runs the same test
// binary with -test.run matching the test; the guest's output is logged and
// its exit code decides the host test. Inside the guest Guest returns true.
//
// Start and Machine.Kill give a power cut: qemu is killed while the guest
// writes to a disk image, so whatever the guest kernel had not yet written
// to the virtual disk is lost, as in a real power failure; a second boot on
// the same image checks what survived.
//
// Nothing is installed: the kernel package is fetched with `apt-get
// download` into the user cache dir (no root). qemu-system-x86 must be
// installed (the Makefile's APPLIANCE_PEERS); without it the tests fail
// naming the package. No KVM is needed.
package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"flag"

	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options describe a guest.
type Options struct {
	// Modules are kernel modules to load before the test runs, by name
	// ("uhid", "hid_generic", "ext4"); their dependencies are added.
	Modules []string
	// Disks are raw disk images attached as virtio disks /dev/vda,
	// /dev/vdb, ... (load "virtio_pci" and "virtio_blk" to see them).
	Disks []string
	// Files are host files or directories (relative to the working
	// directory) copied into the guest under the same absolute paths. The
	// test runs in the guest in the host's working directory (created
	// empty), so relative paths to test data work unchanged.
	Files []string
	// Programs are host executables (/usr/sbin/mosquitto) copied into
	// the guest under the same paths with the shared libraries they need,
	// for a test that starts a real peer inside the guest.
	Programs []string
	// Env is added to the test binary's environment in the guest.
	Env []string
	// MemoryMiB is the guest's memory; 0 means 512.
	MemoryMiB int
	// Timeout bounds the whole guest run as a hang guard; 0 means 3 minutes.
	Timeout time.Duration
	// KernelArgs are appended to the kernel command line
	// ("loglevel=7" shows the kernel's messages).
	KernelArgs []string
	// Console, if set, is called with every line the guest writes to its
	// serial console, as it arrives (from one goroutine).
	Console func(line string)
	// Net gives the guest a virtio network card on qemu's user-mode
	// network: the guest (after NetUp, with NetModules loaded) reaches
	// the host's loopback at HostAddr, so it can talk to a peer the host
	// test started (a Mosquitto on 127.0.0.1). Nothing else is reachable
	// from a closed build machine, and nothing outside reaches the guest.
	Net bool
}

// Result is what a finished guest reported.
type Result struct {
	// ExitCode is the test binary's exit code; -1 if the guest ended
	// without reporting one (killed, panicked, hung).
	ExitCode int
	// Boot is the time from starting qemu to the guest's init running.
	Boot time.Duration
	// Total is the time from starting qemu to its end.
	Total time.Duration
	// Killed says the power was cut: by the host (Machine.Kill) or by the
	// guest (CutPower).
	Killed bool
	// Console holds every console line.
	Console []string
}

const defaultTimeout = 3 * time.Minute

// guestConfig is read by internal/vminit.
type guestConfig struct {
	Modules []string `json:"modules"`
	Args    []string `json:"args"`
	Env     []string `json:"env"`
	Dir     string   `json:"dir"`
}

// InGuest reports whether this process is a test binary run by vmtest's
// guest init.
func InGuest() bool { return os.Getenv("VMTEST_GUEST") == "1" && os.Getpid() != 1 }

// QemuPackage is the Debian package that provides the emulator.
const QemuPackage = "qemu-system-x86"

// qemuBinary finds qemu-system-x86_64 or says which package to install.
func qemuBinary() (string, error) {
	p, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return "", fmt.Errorf("vmtest: qemu-system-x86_64 not found: install the Debian package %s (make appliance-peers)", QemuPackage)
	}
	return p, nil
}

// Guest runs the calling top-level test inside a guest. On the host it
// boots the guest, logs its console, fails t if the guest's test failed
// and returns false; inside the guest it returns true at once, and the
// caller runs the test's real body.
func Guest(t testing.TB, opts Options) bool {
	t.Helper()
	if InGuest() {
		return true
	}
	res, err := RunTest(t, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Errorf("guest test %s failed (exit %d); console above", t.Name(), res.ExitCode)
	}
	return false
}

// RunTest runs the calling top-level test in a guest and returns its
// result, logging the console into t. extra arguments go to the test
// binary after -test.run and -test.v.
func RunTest(t testing.TB, opts Options, extra []string) (Result, error) {
	t.Helper()
	m, err := StartTest(t, opts, extra)
	if err != nil {
		return Result{}, err
	}
	res, err := m.Wait()
	t.Logf("guest boot %.1f s (qemu start to init), total %.1f s, exit %d", res.Boot.Seconds(), res.Total.Seconds(), res.ExitCode)
	return res, err
}

// StartTest boots a guest running the calling top-level test and returns
// at once, for a test that acts on the running guest (cuts its power).
// The console is logged into t.
func StartTest(t testing.TB, opts Options, extra []string) (*Machine, error) {
	t.Helper()
	if strings.Contains(t.Name(), "/") {
		return nil, fmt.Errorf("vmtest: %s: only a top-level test can run in a guest", t.Name())
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("vmtest: find the test binary: %w", err)
	}
	run := "^" + regexp.QuoteMeta(t.Name()) + "$"
	if f := flag.Lookup("test.run"); f != nil && strings.Contains(f.Value.String(), "/") {
		// go test -run 'TestX/sub' narrows the guest's run the same way.
		run = f.Value.String()
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	// The guest's own -test.timeout fires before the host's hang guard, so
	// a hung guest test prints its goroutines on the console.
	args := append([]string{"-test.run=" + run, "-test.v", fmt.Sprintf("-test.timeout=%v", timeout*3/4)}, extra...)
	console := opts.Console
	opts.Console = func(line string) {
		t.Log("guest: " + line)
		if console != nil {
			console(line)
		}
	}
	return Start(context.Background(), t.TempDir(), opts, exe, args...)
}

// Machine is a running guest.
type Machine struct {
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{}
	timeout *time.Timer

	mu      sync.Mutex
	res     Result
	killed  bool
	timedUp bool
	waitErr error
}

// Start boots a guest in which bin runs with args, as the test binary of
// the guest init. dir is a scratch directory for the initramfs (a test's
// t.TempDir()). ctx ends the guest when cancelled.
func Start(ctx context.Context, dir string, opts Options, bin string, args ...string) (*Machine, error) {
	qemu, err := qemuBinary()
	if err != nil {
		return nil, err
	}
	k, err := loadKernel()
	if err != nil {
		return nil, err
	}
	initrd := filepath.Join(dir, "initramfs.cpio")
	if err := buildInitramfs(initrd, dir, k, opts, bin, args); err != nil {
		return nil, err
	}
	mem := opts.MemoryMiB
	if mem == 0 {
		mem = 512
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	qargs := []string{
		"-M", "pc", "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", strconv.Itoa(mem),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
		"-kernel", k.bootImage(), "-initrd", initrd,
		"-append", strings.Join(append([]string{"console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init rodata=off mitigations=off"}, opts.KernelArgs...), " "),
	}
	if opts.Net {
		qargs = append(qargs, "-netdev", "user,id=net0,ipv6=off", "-device", "virtio-net-pci,netdev=net0")
	}
	for i, d := range opts.Disks {
		qargs = append(qargs, "-drive", fmt.Sprintf("file=%s,if=virtio,format=raw,cache=writeback,index=%d", d, i))
	}
	cmd := exec.CommandContext(ctx, qemu, qargs...)
	cmd.Stdin = nil
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	m := &Machine{cmd: cmd, done: make(chan struct{})}
	m.res.ExitCode = -1
	m.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("vmtest: start %s: %w", qemu, err)
	}
	m.timeout = time.AfterFunc(timeout, func() {
		m.mu.Lock()
		m.timedUp = true
		m.mu.Unlock()
		_ = cmd.Process.Kill()
	})
	go func() {
		defer close(m.done)
		m.readConsole(out, opts.Console)
		err := cmd.Wait()
		m.timeout.Stop()
		m.mu.Lock()
		defer m.mu.Unlock()
		m.res.Total = time.Since(m.started)
		guestCut := m.res.ExitCode < 0 && len(m.res.Console) > 0 && containsLine(m.res.Console, cutLine)
		m.res.Killed = m.killed || guestCut
		switch {
		case m.timedUp:
			m.waitErr = fmt.Errorf("vmtest: guest still running after %v (hang guard); last console lines:\n%s", timeout, tail(m.res.Console, 30))
		case m.res.Killed:
		case err != nil:
			m.waitErr = fmt.Errorf("vmtest: qemu: %w: %s", err, stderr.Bytes())
		case m.res.ExitCode < 0:
			m.waitErr = fmt.Errorf("vmtest: guest ended without reporting a result; last console lines:\n%s", tail(m.res.Console, 30))
		}
	}()
	return m, nil
}

var exitLine = regexp.MustCompile(`^vmtest: exit (-?\d+)$`)

func (m *Machine) readConsole(r io.Reader, fn func(string)) {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			// A last line without its newline was cut off by a power cut:
			// keep it for the log, but do not hand it on, so a torn
			// acknowledgement never counts.
			if line != "" {
				m.mu.Lock()
				m.res.Console = append(m.res.Console, strings.TrimRight(line, "\r")+" [cut off]")
				m.mu.Unlock()
			}
			break
		}
		line = strings.TrimRight(line, "\r\n")
		m.mu.Lock()
		m.res.Console = append(m.res.Console, line)
		if strings.HasPrefix(line, "vmtest: init at ") && m.res.Boot == 0 {
			m.res.Boot = time.Since(m.started)
		}
		if g := exitLine.FindStringSubmatch(line); g != nil {
			m.res.ExitCode, _ = strconv.Atoi(g[1])
		}
		m.mu.Unlock()
		if fn != nil {
			fn(line)
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// Kill cuts the guest's power: qemu is killed at once, with no chance for
// the guest kernel to write back its page cache.
func (m *Machine) Kill() {
	m.mu.Lock()
	m.killed = true
	m.mu.Unlock()
	_ = m.cmd.Process.Kill()
}

// Wait waits for the guest to end and returns its result. The error says
// why a guest ended without a result, unless it was killed on purpose.
func (m *Machine) Wait() (Result, error) {
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	res := m.res
	res.Console = append([]string(nil), m.res.Console...)
	return res, m.waitErr
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

func tail(lines []string, n int) string {
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// vminitPackage is the guest init's import path.
const vminitPackage = "github.com/praxisgate/praxisgate/image/vmtest/internal/vminit"

func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); runtime.GOROOT() != "" && fileExists(p) {
		return p
	}
	return "go"
}

//go:embed internal/vminit/main.go
var vminitSource []byte

// guestInit builds the guest init once per source and Go version into the
// cache (go build relinks every time, which costs seconds on a busy
// machine).
func guestInit() (string, error) {
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(append([]byte(runtime.Version()), 0), vminitSource...))
	bin := filepath.Join(cache, fmt.Sprintf("vminit-%x", sum[:8]))
	if fileExists(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("vmtest: %w", err)
	}
	tmp := fmt.Sprintf("%s.%d", bin, os.Getpid())
	build := exec.Command(goTool(), "build", "-o", tmp, vminitPackage)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-trimpath")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("vmtest: build the guest init (go build %s): %w\n%s", vminitPackage, err, out)
	}
	return bin, os.Rename(tmp, bin)
}

// buildInitramfs writes the guest's initramfs: the init, the test binary
// with its shared libraries, the modules in load order and the config.
func buildInitramfs(dst, dir string, k *kernel, opts Options, bin string, args []string) error {
	initBin, err := guestInit()
	if err != nil {
		return err
	}
	mods, err := k.modules(opts.Modules)
	if err != nil {
		return err
	}
	libs, err := sharedDeps(bin)
	if err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	c := newCPIO(w)
	c.chardev("/dev/console", 5, 1)
	c.chardev("/dev/null", 1, 3)
	for _, d := range []string{"/proc", "/sys", "/tmp", "/run", "/mnt"} {
		c.mkdirAll(d)
	}
	add := func(name, src string) error {
		b, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("vmtest: %w", err)
		}
		c.file(name, 0o755, b)
		return nil
	}
	if err := add("/init", initBin); err != nil {
		return err
	}
	if err := add("/vmtest/test", bin); err != nil {
		return err
	}
	for _, prog := range opts.Programs {
		deps, err := sharedDeps(prog)
		if err != nil {
			return err
		}
		for _, l := range deps {
			if !slices.Contains(libs, l) {
				libs = append(libs, l)
			}
		}
		if err := add(prog, prog); err != nil {
			return err
		}
	}
	for _, l := range libs {
		if err := add(l, l); err != nil {
			return err
		}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	for _, name := range opts.Files {
		root := name
		if !filepath.IsAbs(root) {
			root = filepath.Join(cwd, root)
		}
		root = filepath.Clean(root)
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				c.mkdirAll(p)
				return nil
			}
			if !e.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			c.file(p, uint32(info.Mode().Perm()), b)
			return nil
		})
		if err != nil {
			return fmt.Errorf("vmtest: copy %s into the guest: %w", name, err)
		}
	}
	c.mkdirAll(cwd)
	cfg := guestConfig{Args: args, Env: opts.Env, Dir: cwd}
	for i, m := range mods {
		name := fmt.Sprintf("/vmtest/modules/%02d-%s", i, filepath.Base(m))
		if err := add(name, m); err != nil {
			return err
		}
		cfg.Modules = append(cfg.Modules, name)
	}
	cb, _ := json.Marshal(cfg)
	c.file("/vmtest/config.json", 0o644, cb)
	if err := c.close(); err != nil {
		return fmt.Errorf("vmtest: write %s: %w", dst, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("vmtest: write %s: %w", dst, err)
	}
	return f.Close()
}
