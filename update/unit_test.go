package update_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/update"
)

// The shipped unit, image/praxisgate.service.
const unitFile = "../image/praxisgate.service"

// docs/update.md shows the shipped unit byte for byte, so what a reader
// copies is what the package installs.
func TestDocsShowTheShippedUnit(t *testing.T) {
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/update.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sect, ok := strings.Cut(string(doc), "\n## The service unit\n")
	if !ok {
		t.Fatal(`docs/update.md has no "## The service unit" section`)
	}
	_, block, ok := strings.Cut(sect, "```ini\n")
	if !ok {
		t.Fatal("the service unit section has no ```ini block")
	}
	block, _, ok = strings.Cut(block, "```\n")
	if !ok {
		t.Fatal("the ```ini block does not end")
	}
	if block != string(unit) {
		t.Fatalf("the unit in docs/update.md differs from %s; copy the file into the ```ini block", unitFile)
	}
}

// The unit's limits are the supervisor's defaults, and with them a
// release that hangs, before or after READY=1, is rolled back within
// 60 s even when it ignores SIGABRT: three starts of (limit + abort
// timeout + restart delay).
func TestUnitRollsBackWithinAMinute(t *testing.T) {
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && !strings.HasPrefix(k, "#") {
			got[k] = v
		}
	}
	sec := func(key string, want time.Duration) time.Duration {
		t.Helper()
		n, err := strconv.Atoi(got[key])
		if err != nil {
			t.Fatalf("%s=%q: want whole seconds", key, got[key])
		}
		d := time.Duration(n) * time.Second
		if want > 0 && d != want {
			t.Errorf("%s=%s, but update supervise uses %s", key, d, want)
		}
		return d
	}
	watchdog := sec("WatchdogSec", update.DefaultWatchdog)
	start := sec("TimeoutStartSec", update.DefaultStartTimeout)
	restart := sec("RestartSec", update.DefaultRestartDelay)
	abort := sec("TimeoutAbortSec", update.DefaultAbortTimeout)
	if got["Type"] != "notify" || got["TimeoutStartFailureMode"] != "abort" || got["Restart"] != "always" {
		t.Errorf("Type=%s TimeoutStartFailureMode=%s Restart=%s: want notify, abort, always",
			got["Type"], got["TimeoutStartFailureMode"], got["Restart"])
	}
	const starts = 3 // update boot's -max-boots default
	if worst := starts * (max(watchdog, start) + abort + restart); worst > time.Minute {
		t.Errorf("a hanging release may run %s before it is rolled back; the target is 60 s", worst)
	}
}
