package report

import (
	"bytes"
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

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := coldchain.LoadTimezone("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// temperature gives a fridge's reading at a time; ok false: no reading.
type temperature func(device string, at time.Time) (v float64, ok bool)

// record lets the real recorder follow the fridges from "from" to "to",
// a reading every step, and returns the record directory.
func record(t testing.TB, dir string, loc *time.Location, ids []string, from, to time.Time, step time.Duration, temp temperature) {
	t.Helper()
	var fr []coldchain.Fridge
	for _, id := range ids {
		fr = append(fr, coldchain.Fridge{ID: id, Metric: "temperature", Low: 2, High: 8, Interval: step})
	}
	rec, err := coldchain.New(coldchain.Options{Dir: dir, Location: loc, Fridges: fr, SaveEvery: 6 * time.Hour,
		Now: func() time.Time { return from }})
	if err != nil {
		t.Fatal(err)
	}
	for at := from; !at.After(to); at = at.Add(step) {
		for _, id := range ids {
			if v, ok := temp(id, at); ok {
				rec.Observe(drivers.Sample{Device: id, Kind: "fridge", Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", v, "°C")}})
			}
		}
		rec.Tick(at)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
}

// pdfText extracts a PDF's text with poppler's pdftotext, keeping the
// layout so a table row stays one line.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	return poppler(t, "pdftotext", pdf, "-layout", "-enc", "UTF-8")
}

// pdfInfo is poppler's pdfinfo of a PDF.
func pdfInfo(t *testing.T, pdf []byte) string {
	t.Helper()
	return poppler(t, "pdfinfo", pdf)
}

func poppler(t *testing.T, tool string, pdf []byte, args ...string) string {
	t.Helper()
	testpeer.SkipShort(t, "poppler-utils ("+tool+")")
	bin, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s not found: install Debian package poppler-utils (`make test` installs it)", tool)
	}
	f := filepath.Join(t.TempDir(), "bericht.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out := append([]string{}, args...)
	out = append(out, f)
	if tool == "pdftotext" {
		out = append(out, "-")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, out...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Fatalf("%s complains about the PDF: %s", tool, s)
	}
	return stdout.String()
}

// squash folds runs of spaces, so a check does not depend on pdftotext's
// column padding.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }
