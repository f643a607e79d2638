package all

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
)

// TestConvention checks every driver package under drivers/ is linked here,
// registered under its package name, and carries a testdata folder, so a new
// driver cannot be forgotten in the binary.
func TestConvention(t *testing.T) {
	registered := map[string]bool{}
	for _, n := range drivers.Names() {
		registered[n] = true
	}
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	// Folders under drivers/ that are not drivers.
	notDrivers := map[string]bool{"all": true, "testpeer": true, "internal": true}
	for _, e := range entries {
		if !e.IsDir() || notDrivers[e.Name()] || e.Name() == "testdata" {
			continue
		}
		name := e.Name()
		if !registered[name] {
			t.Errorf("drivers/%s: no driver registered under %q (missing from drivers/all or named unlike its package)", name, name)
		}
		if fi, err := os.Stat(filepath.Join("..", name, "testdata")); err != nil || !fi.IsDir() {
			t.Errorf("drivers/%s: has no testdata folder", name)
		}
		delete(registered, name)
	}
	for n := range registered {
		t.Errorf("driver %q is registered but has no package drivers/%s", n, n)
	}
}
