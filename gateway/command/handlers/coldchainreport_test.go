package handlers

import (
	"crypto/ed25519"
	"encoding/base64"
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

// The provider asks for November's cold-chain report, signed, against a
// real Mosquitto and a running gateway whose record holds three November
// days with a warm hour; the joined chunks are the PDF, read back with
// poppler's pdftotext.
func TestColdChainReportCommand(t *testing.T) {
	testpeer.SkipShort(t, "mosquitto, poppler-utils")
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext not found: install Debian package poppler-utils (`make test` installs it)")
	}
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	pub, priv, _ := ed25519.GenerateKey(nil)
	dir := t.TempDir()

	loc, err := coldchain.LoadTimezone("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day0 := time.Date(2026, 11, 20, 0, 0, 0, 0, loc)
	rec, err := coldchain.New(coldchain.Options{Dir: filepath.Join(dir, "state", coldchain.DirName), Location: loc,
		Now: func() time.Time { return day0 }, Fridges: []coldchain.Fridge{{ID: "f", Low: 2, High: 8, Interval: 10 * time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	for m := 0; m < 3*24*60; m += 10 {
		at := day0.Add(time.Duration(m) * time.Minute)
		v := 5.0
		if at.In(loc).Day() == 21 && at.In(loc).Hour() == 19 {
			v = 11.2
		}
		rec.Observe(drivers.Sample{Device: "f", Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", v, "°C")}})
		rec.Tick(at)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(dir, "praxisgate.yaml")
	cfg := fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q, backoff_min: 100ms, backoff_max: 1s}
commands: {keys: [%q]}
devices: [{id: f, name: Impfstoff-Kühlschrank, kind: fridge, driver: sim, interval: 1s, sim: {scenario: fridge}}]
`, filepath.Join(dir, "state"), mq.URL(), base64.StdEncoding.EncodeToString(pub))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, path)
	p := newProvider(t, mq.URL(), priv)
	// The daemon refuses commands signed before it started; an unsigned
	// ping answers once it runs.
	mustOK(t, "ping", p.call("ping", nil))

	id := p.newID()
	first := p.send("coldchain-report", id, p.signedPayload("coldchain-report", id, map[string]any{"month": "2026-11"}, time.Now()), 1)[0]
	if !first.OK || first.Parts < 1 {
		t.Fatalf("first reply: %+v", first)
	}
	var pdf []byte
	for i, r := range p.send("coldchain-report", id, nil, first.Parts) {
		res, _ := r.Result.(map[string]any)
		if !r.OK || r.Part != i+1 || res["encoding"] != "pdf" {
			t.Fatalf("chunk %d: %+v", i, r)
		}
		data, err := base64.StdEncoding.DecodeString(res["data"].(string))
		if err != nil {
			t.Fatal(err)
		}
		pdf = append(pdf, data...)
	}
	f := filepath.Join(dir, "bericht.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-layout", "-enc", "UTF-8", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{"Kühlketten-Monatsbericht November 2026", "Kühlschrank: Impfstoff-Kühlschrank (f)",
		"Sa 21.11.2026 5,0 11,2", "zu warm", "Protokoll geprüft: intakt"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}

	mustFail(t, "month 13", p.call("coldchain-report", map[string]any{"month": "2026-13"}), "args.month")
	mustFail(t, "a month to come", p.call("coldchain-report", map[string]any{"month": "2999-01"}), "args.month")
	mustFail(t, "unknown argument", p.call("coldchain-report", map[string]any{"monat": "2026-11"}), `unknown field "monat"`)
}
