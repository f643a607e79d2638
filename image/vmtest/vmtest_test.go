package vmtest

import (
	"os"
	"strings"
	"testing"
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
