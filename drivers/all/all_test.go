package all

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
)

// TestConvention checks every driver package under drivers/ is linked here,
// registered under its package name, carries a testdata folder and has its
// page docs/drivers/<name>.md read by a docs test, so a new driver cannot be
// forgotten in the binary nor stay undocumented.
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
		// Its page, kept true by a docs test in the package that reads it.
		page := "docs/drivers/" + name + ".md"
		if _, err := os.Stat(filepath.Join("..", "..", page)); err != nil {
			t.Errorf("drivers/%s: has no page %s", name, page)
		}
		if !docsTested(t, name, page) {
			t.Errorf("drivers/%s: no test reads %s (drivers/internal/doccheck.Keys in docs_test.go)", name, page)
		}
		delete(registered, name)
	}
	for n := range registered {
		t.Errorf("driver %q is registered but has no package drivers/%s", n, n)
	}
}

// docsTested tells whether a test file of drivers/<name> reads page.
func docsTested(t *testing.T, name, page string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", name, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `"../../`+page+`"`) {
			return true
		}
	}
	return false
}
