package web

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/coldchain/report"
)

// coldChainFiles is the test page's record (recordColdChain: 20 and 21
// November 2026, the 22nd in progress) with the monthly report, which
// webbackend adds on the running box.
type coldChainFiles struct {
	*coldchain.Recorder
	dir string
}

// The report's clock stands just after midnight.
func (c coldChainFiles) CurrentMonth() string { return "2026-11" }

func (c coldChainFiles) WriteReport(w io.Writer, month string) error {
	r, err := report.Collect(c.dir, report.Options{Month: month, Practice: "praxis-test / gw-01", Location: time.UTC,
		Now: time.Date(2026, 11, 22, 0, 5, 0, 0, time.UTC), Fridges: []report.FridgeRef{{ID: "kuehlschrank", Name: "Impfstoff-Kühlschrank"}}})
	if err != nil {
		return err
	}
	return report.Render(w, r)
}

func TestColdChainReport(t *testing.T) {
	e := newEnv(t)
	resp, _ := e.get("/coldchain.pdf?month=2026-11")
	wantRedirect(t, resp, "/setup")
	e.login()
	_, body := e.get("/alarms")
	for _, want := range []string{`action="/coldchain.pdf"`, `name="month" value="2026-11" max="2026-11"`, "Monatsbericht zum Ausdrucken (PDF)", "Bericht öffnen"} {
		if !strings.Contains(body, want) {
			t.Errorf("alarms page lacks %q", want)
		}
	}
	for _, tt := range []struct {
		query string
		code  int
	}{
		{"month=2026-11", http.StatusOK},
		{"", http.StatusOK}, // the current month
		{"month=2026-10", http.StatusOK},
		{"month=2026-12", http.StatusBadRequest},
		{"month=2026-13", http.StatusBadRequest},
		{"month=November", http.StatusBadRequest},
		{"month=" + url.QueryEscape("2026-11\n"), http.StatusBadRequest},
	} {
		resp, body := e.get("/coldchain.pdf?" + tt.query)
		if resp.StatusCode != tt.code {
			t.Errorf("%q: status %d, want %d", tt.query, resp.StatusCode, tt.code)
			continue
		}
		if tt.code != http.StatusOK {
			if !strings.Contains(body, "Monat bitte als JJJJ-MM") {
				t.Errorf("%q: the refusal does not say why:\n%s", tt.query, body)
			}
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" || !strings.HasPrefix(body, "%PDF-") {
			t.Errorf("%q: content type %q, body %.20q", tt.query, ct, body)
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `inline; filename="kuehlkette-bericht-2026-1`) {
			t.Errorf("%q: disposition %q", tt.query, cd)
		}
	}

	// What the practice prints, read back by poppler.
	testpeer.SkipShort(t, "poppler-utils (pdftotext)")
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext not found: install Debian package poppler-utils (`make test` installs it)")
	}
	_, pdf := e.get("/coldchain.pdf?month=2026-11")
	f := filepath.Join(t.TempDir(), "bericht.pdf")
	if err := os.WriteFile(f, []byte(pdf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{"Kühlketten-Monatsbericht November 2026", "Kühlschrank: Impfstoff-Kühlschrank (kuehlschrank)",
		"Fr 20.11.2026", "Sa 21.11.2026", "11,2", "So 22.11.2026", "unvollständig", "Protokoll geprüft: intakt (2 Tage)"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}

	// The form in English.
	e.post("/lang", url.Values{"lang": {"en"}, "back": {"/alarms"}})
	if _, body := e.get("/alarms"); !strings.Contains(body, "Monthly report for printing (PDF)") || !strings.Contains(body, "Open report") {
		t.Errorf("the report form is not in English:\n%s", body)
	}
}
