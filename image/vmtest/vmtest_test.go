//go:build vmtest

package vmtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestGuestBoots runs in a guest and checks what the init promised: PID 1
// is not the test, the kernel file systems are mounted and the requested
// module is loaded.
func TestGuestBoots(t *testing.T) {
	if !Guest(t, Options{Modules: []string{"uhid"}, Env: []string{"VMTEST_PROBE=42"}, KernelArgs: strings.Fields(os.Getenv("VMTEST_KERNEL_ARGS"))}) {
		return
	}
	if os.Getpid() == 1 {
		t.Fatal("the test runs as PID 1")
	}
	if got := os.Getenv("VMTEST_PROBE"); got != "42" {
		t.Errorf("VMTEST_PROBE = %q, want 42", got)
	}
	mods, err := os.ReadFile("/proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"uhid", "hid"} {
		if !strings.Contains(string(mods), m+" ") {
			t.Errorf("module %s not loaded:\n%s", m, mods)
		}
	}
	if _, err := os.Stat("/dev/uhid"); err != nil {
		t.Error(err)
	}
	b, _ := os.ReadFile("/proc/version")
	t.Logf("guest kernel: %s", b)
}

// TestGuestFailureReported checks the harness itself: a guest test that
// fails gives a failing exit code and its message on the console.
func TestGuestFailureReported(t *testing.T) {
	if InGuest() {
		if os.Getenv("VMTEST_WANT_FAIL") == "1" {
			t.Fatal("failing on purpose")
		}
		return
	}
	res, err := RunTest(t, Options{Env: []string{"VMTEST_WANT_FAIL=1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 1 {
		t.Errorf("guest exit %d, want 1", res.ExitCode)
	}
	if !containsSubstring(res.Console, "failing on purpose") || !containsSubstring(res.Console, "--- FAIL: TestGuestFailureReported") {
		t.Error("the guest's failure message is not on the console")
	}
}

func containsSubstring(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// BenchmarkGuestBoot boots a guest that runs an empty test and reports
// the time from starting qemu to the guest's init and to its power-off.
func BenchmarkGuestBoot(b *testing.B) {
	if InGuest() {
		return
	}
	var boot, total time.Duration
	for b.Loop() {
		m, err := Start(context.Background(), b.TempDir(), Options{Modules: []string{"uhid", "hid_generic"}}, mustExecutable(b), "-test.run=^$", "-test.bench=^$")
		if err != nil {
			b.Fatal(err)
		}
		res, err := m.Wait()
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("exit %d: %v", res.ExitCode, err)
		}
		boot += res.Boot
		total += res.Total
	}
	b.ReportMetric(boot.Seconds()/float64(b.N), "boot_s/op")
	b.ReportMetric(total.Seconds()/float64(b.N), "total_s/op")
}

func mustExecutable(b *testing.B) string {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	return exe
}

// TestUnknownModule: a module the kernel package lacks is an error naming
// the module and the package, before any guest boots.
func TestUnknownModule(t *testing.T) {
	k, err := loadKernel()
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.modules([]string{"no_such_module"})
	if err == nil || !strings.Contains(err.Error(), "no_such_module") || !strings.Contains(err.Error(), "linux-image-") {
		t.Errorf("error %v names neither the module nor the package", err)
	}
	files, err := k.modules([]string{"hid_generic", "uhid"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || !strings.HasSuffix(files[0], "/hid.ko") {
		t.Errorf("hid_generic and uhid load as %v, want hid.ko first and three modules", files)
	}
}
