package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
)

const reportConfig = `site: praxis-test
gateway: gw-01
state_dir: %s
timezone: Europe/Berlin
uplink: {broker: "tcp://127.0.0.1:1"}
web: {listen: "off", redirect_listen: "off"}
devices:
  - id: kuehlschrank
    name: Impfstoff-Kühlschrank
    driver: sim
    kind: fridge
    interval: 1s
    sim: {scenario: fridge}
`

// TestColdchainReport records three November days with the real
// recorder, then has the binary print the month: from the config (names,
// time zone, practice) to a file, and from the directory alone to
// standard output; the text is read back with poppler's pdftotext.
func TestColdchainReport(t *testing.T) {
	testpeer.SkipShort(t, "poppler-utils (pdftotext)")
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext not found: install Debian package poppler-utils (`make test` installs it)")
	}
	state := t.TempDir()
	dir := filepath.Join(state, coldchain.DirName)
	loc, err := coldchain.LoadTimezone("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day0 := time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	rec, err := coldchain.New(coldchain.Options{Dir: dir, Location: loc, Now: func() time.Time { return day0 },
		Fridges: []coldchain.Fridge{{ID: "kuehlschrank", Low: 2, High: 8, Interval: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	for m := 0; m < 3*24*60; m += 10 {
		at := day0.Add(time.Duration(m) * time.Minute)
		rec.Tick(at)
		rec.Observe(drivers.Sample{Device: "kuehlschrank", Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", 5.5, "°C")}})
	}
	rec.Tick(day0.Add(72*time.Hour + time.Second))
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, t.TempDir(), "praxisgate.yaml", fmt.Sprintf(reportConfig, state))
	text := func(pdf string) string {
		t.Helper()
		out, err := exec.Command(pdftotext, "-layout", "-enc", "UTF-8", pdf, "-").CombinedOutput()
		if err != nil {
			t.Fatalf("pdftotext: %v\n%s", err, out)
		}
		return strings.Join(strings.Fields(string(out)), " ")
	}

	out := filepath.Join(t.TempDir(), "bericht.pdf")
	r := runBin(t, time.Minute, "coldchain", "report", "-config", cfg, "-month", "2026-11", "-out", out)
	if r.code != 0 || !strings.Contains(r.stdout, "Kühlketten-Monatsbericht 2026-11 nach "+out) {
		t.Fatalf("report from the config: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	got := text(out)
	for _, want := range []string{"Kühlketten-Monatsbericht November 2026", "praxis-test / gw-01",
		"Kühlschrank: Impfstoff-Kühlschrank (kuehlschrank)", "Fr 20.11.2026 5,5 5,5 5,50 5,50", "So 22.11.2026",
		"Protokoll geprüft: intakt (3 Tage)", "Zeitzone: Europe/Berlin", "Seite 1 von 1"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}

	r = runBin(t, time.Minute, "coldchain", "report", "-dir", dir, "-month", "2026-11", "-practice", "Praxis Dr. Weiß", "-out", "-")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "%PDF-") {
		t.Fatalf("report to stdout: exit %d, stdout %.40q, stderr %q", r.code, r.stdout, r.stderr)
	}
	stdoutPDF := filepath.Join(t.TempDir(), "stdout.pdf")
	if err := os.WriteFile(stdoutPDF, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := text(stdoutPDF); !strings.Contains(got, "Praxis Dr. Weiß") || !strings.Contains(got, "Kühlschrank: kuehlschrank") {
		t.Errorf("report from the directory:\n%s", got)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-dir", dir, "-month", "2026-13", "-out", out}, 1, "want YYYY-MM"},
		{[]string{"-dir", dir, "-month", "2099-01", "-out", out}, 1, "has not begun"},
		{[]string{"-dir", dir, "-month", "2026-11"}, 2, "Usage: praxisgate coldchain report"},
	} {
		r := runBin(t, time.Minute, append([]string{"coldchain", "report"}, tt.args...)...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d with %q", tt.args, r.code, r.stderr, tt.code, tt.want)
		}
	}
}
