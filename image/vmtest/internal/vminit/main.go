// Command vminit is PID 1 of a vmtest guest. It mounts the kernel file
// systems, loads the kernel modules the test asked for with finit_module,
// runs the test binary with the arguments from /vmtest/config.json, writes
// its exit code to the serial console and powers the machine off. It is a
// separate static program, not the test binary itself, because a test
// binary may be built with cgo or the race detector, which want /proc and
// a dynamic loader before main runs.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// config is what the host writes into the initramfs (vmtest.guestConfig).
type config struct {
	Modules []string `json:"modules"`
	Args    []string `json:"args"`
	Env     []string `json:"env"`
	Dir     string   `json:"dir"`
}

func main() {
	code := run()
	// The host reads this line; it is the only way a result leaves the VM.
	fmt.Printf("\nvmtest: exit %d\n", code)
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	// Without ACPI power-off, a reset ends qemu too (it runs with -no-reboot).
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	for {
		time.Sleep(time.Hour)
	}
}

func run() int {
	// The initramfs itself is a writable tmpfs, so /tmp needs no mount of
	// its own (one would hide the files the host put there).
	mounts := []struct{ src, dst, fstype string }{
		{"devtmpfs", "/dev", "devtmpfs"},
		{"devpts", "/dev/pts", "devpts"}, // pseudo-terminals (a modem simulator)
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
	}
	for _, m := range mounts {
		_ = os.MkdirAll(m.dst, 0o755)
		if err := unix.Mount(m.src, m.dst, m.fstype, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			fmt.Printf("vmtest: mount %s: %v\n", m.dst, err)
			return 125
		}
	}
	fmt.Printf("vmtest: init at %s s\n", uptime())
	b, err := os.ReadFile("/vmtest/config.json")
	if err != nil {
		fmt.Printf("vmtest: %v\n", err)
		return 125
	}
	var cfg config
	if err := json.Unmarshal(b, &cfg); err != nil {
		fmt.Printf("vmtest: config: %v\n", err)
		return 125
	}
	for _, m := range cfg.Modules {
		if err := load(m); err != nil {
			fmt.Printf("vmtest: load module %s: %v\n", m, err)
			return 125
		}
	}
	fmt.Printf("vmtest: %d modules loaded, running test at %s s\n", len(cfg.Modules), uptime())
	cmd := exec.Command("/vmtest/test", cfg.Args...)
	cmd.Env = append([]string{"PATH=/bin", "HOME=/tmp", "TMPDIR=/tmp", "VMTEST_GUEST=1"}, cfg.Env...)
	cmd.Dir = "/tmp"
	if cfg.Dir != "" {
		cmd.Dir = cfg.Dir
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if exit.ExitCode() < 0 {
			fmt.Printf("vmtest: test binary %v\n", exit)
			return 126
		}
		return exit.ExitCode()
	default:
		fmt.Printf("vmtest: run test binary: %v\n", err)
		return 127
	}
}

func load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), "", 0)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

func uptime() string {
	b, _ := os.ReadFile("/proc/uptime")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
