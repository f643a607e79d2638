package testpeer

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// StartProc runs a peer program until the test ends, with env added to
// the test's environment and its output in the file out, which is logged
// when the test failed: a peer's own complaint is usually the quickest
// explanation of a failure.
func StartProc(t testing.TB, env []string, out string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out)
			t.Logf("%s output:\n%s", filepath.Base(name), b)
		}
	})
	return cmd
}
