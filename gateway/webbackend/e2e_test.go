package webbackend

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	_ "github.com/praxisgate/praxisgate/drivers/discover"
	_ "github.com/praxisgate/praxisgate/drivers/sim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/fridgehist"
	"github.com/praxisgate/praxisgate/gateway/internal/gwtest"
)

// lockedBuffer collects the daemon's log, from which the test reads the
// setup code as a technician reads it from the journal.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBrowserLiveApply drives headless Chromium against a running gateway
// (sim fridge, real Mosquitto, the page served by RunWeb): the technician
// lowers the fridge's upper threshold below its temperature and sees the
// alarm become active on the overview and the alarms page without a
// restart, while the provider receives alarm.raised. It also visits the
// overview's sparkline, the Update page, the one-shot discovery on the
// Diagnose page and the settings page's restart button. Screenshots go to $ARTIFACTS/web-e2e-live (or a
// temp dir).
func TestBrowserLiveApply(t *testing.T) {
	testpeer.SkipShort(t, "chromium")
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("chromium not found: run `make test` (it installs test peers) or apt-get install chromium")
	}
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	sub := gwtest.SubscribeAll(t, mq.URL())
	dir := t.TempDir()
	port, err := testpeer.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "praxisgate.yaml")
	// The discovery device sweeps lo, which has no Ethernet address: the
	// page must report the real driver's verdict precisely.
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`# Praxis Test
site: praxis-test
gateway: gw-01
state_dir: %s
uplink: {broker: %q}
web: {listen: "127.0.0.1:%d", redirect_listen: "off"}
devices:
  - {id: kuehlschrank, name: Impfstoff-Kühlschrank, driver: sim, kind: fridge, interval: 1s, sim: {scenario: fridge}}
  - {id: netz, driver: discover, interval: 1h, discover: {interfaces: [lo]}}
alarms:
  # vaccines: 2-8 °C
  - {device: kuehlschrank, metric: temperature, above: 8, below: 2, for: 1s, severity: critical}
`, dir, mq.URL(), port)), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	g, err := gateway.New(cfg, gateway.Options{Version: "test-e2e", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran, served := make(chan error, 1), make(chan error, 1)
	temps := fridgehist.New(g.Config)
	g.OnSample(temps.Observe)
	go func() { ran <- g.Run(ctx) }()
	restarts := make(chan string, 1)
	go func() {
		served <- New(g, temps, log).Serve(ctx, Options{Logs: func() []string { return []string{"a log line"} },
			Restart: func(reason string) { restarts <- reason }})
	}()
	defer func() {
		cancel()
		for _, c := range []chan error{served, ran} {
			select {
			case err := <-c:
				if err != nil {
					t.Error(err)
				}
			case <-time.After(30 * time.Second):
				t.Error("gateway or web page did not stop")
			}
		}
	}()

	base := fmt.Sprintf("https://localhost:%d", port)
	codeRE := regexp.MustCompile(`setup_code=(\S+)`)
	var code string
	gwtest.WaitFor(t, "web page up with its setup code in the log", func() bool {
		m := codeRE.FindStringSubmatch(logs.String())
		if m == nil {
			return false
		}
		code = m[1]
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}).Get(base + "/setup")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	spki := pageSPKI(t, filepath.Join(dir, "web", "https.crt"))

	shots := os.Getenv("ARTIFACTS")
	if shots != "" {
		shots = filepath.Join(shots, "web-e2e-live")
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	} else {
		shots = t.TempDir()
	}
	t.Logf("screenshots in %s", shots)

	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	defer cancelA()
	bctx, cancelC := chromedp.NewContext(actx)
	defer cancelC()
	bctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	defer cancelT()

	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
		})
	}
	text := func(sel string) string {
		t.Helper()
		cctx, cancel := context.WithTimeout(bctx, 5*time.Second)
		defer cancel()
		s, err := chromedp.Run(cctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			return ""
		}
		return s
	}
	// waitPage reloads page until sel shows want: the page has no
	// JavaScript, so news arrive with the next load.
	waitPage := func(page, sel, want string) {
		t.Helper()
		var last string
		for range 60 {
			run("load "+page, chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS(sel)))
			if last = text(sel); strings.Contains(last, want) {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Fatalf("%s %s never showed %q (last %q)", page, sel, want, last)
	}
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	run("set up", chromedp.Navigate(base+"/"), chromedp.WaitVisible(id("code")),
		chromedp.SendKeys(id("code"), code), chromedp.SendKeys(id("password"), "richtig-geheim-42"),
		chromedp.SendKeys(id("confirm"), "richtig-geheim-42"), chromedp.Click(id("submit")), chromedp.WaitVisible(id("flash")))
	run("log in", chromedp.SendKeys(id("user"), "admin"), chromedp.SendKeys(id("password"), "richtig-geheim-42"),
		chromedp.Click(id("submit")), chromedp.WaitVisible(id("uplink")))

	// Overview: the fridge's reading with its sparkline, no alarm yet.
	waitPage("/", "#fridges", "°C")
	if h, err := chromedp.Run(bctx, chromedp.OuterHTML(css("#fridges svg.spark"))); err != nil || !strings.Contains(h, "<rect") {
		t.Fatalf("sparkline with its 2–8 °C band: %q (%v)", h, err)
	}
	if s := text("#alarms"); !strings.Contains(s, "Keine aktiven Alarme") {
		t.Fatalf("alarms before the edit: %q", s)
	}
	run("screenshot", shot("01-overview-sparkline"))

	// The technician lowers the upper threshold below the temperature.
	run("alarms page", chromedp.Navigate(base+"/alarms"), chromedp.WaitVisible(id("rule-0")),
		chromedp.SetValue(css(`#rule-0 input[name="above"]`), "4,5"), chromedp.Click(css("#rule-0 button")),
		chromedp.WaitVisible(id("flash")))
	if s := text("#flash"); s != "Gespeichert und sofort aktiv." {
		t.Fatalf("flash after the threshold edit: %q", s)
	}
	run("screenshot", shot("02-threshold-saved"))
	// The page words the alarm in German with the fridge's configured
	// name; the provider still gets the engine's English message.
	waitPage("/", "#alarms", "Impfstoff-Kühlschrank: Temperatur")
	if s := text("#alarms"); !strings.Contains(s, "über dem Grenzwert 4,5 °C") {
		t.Fatalf("alarm on the overview: %q", s)
	}
	// The box health card, from the real self monitor.
	if s := text("#health"); !strings.Contains(s, "Arbeitsspeicher") || !strings.Contains(s, "MiB belegt") || !strings.Contains(s, "GiB frei") {
		t.Fatalf("box health: %q", s)
	}
	run("screenshot", shot("03-overview-alarm"))
	waitPage("/alarms", "#active", "Impfstoff-Kühlschrank")
	if s := text("#active"); !strings.Contains(s, "über dem Grenzwert 4,5 °C") {
		t.Fatalf("alarm on the alarms page: %q", s)
	}
	run("screenshot", shot("04-alarms-active"))
	gwtest.WaitFor(t, "alarm.raised at the broker", func() bool {
		return sub.Count("/event/kuehlschrank", `"type":"alarm.raised"`, `"limit":4.5`, `above the limit of 4.5 °C`) == 1
	})
	if data, _ := os.ReadFile(cfgPath); !strings.Contains(string(data), "above: 4.5") || !strings.Contains(string(data), "# vaccines") {
		t.Fatalf("config file after the edit:\n%s", data)
	}

	// A broker change is saved but waits for the restart, and says so.
	run("settings", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible(id("settings")),
		chromedp.SetValue(id("broker"), "mqtts://mqtt.dienstleister.example:8883"), chromedp.Click(id("save")),
		chromedp.WaitVisible(id("flash")))
	if s := text("#flash"); s != "Gespeichert. Gilt nach Neustart des Dienstes: Verbindung zum Dienstleister." {
		t.Fatalf("flash after the broker edit: %q", s)
	}
	run("screenshot", shot("05-settings-restart"))
	if !g.Stats().Uplink.Connected {
		t.Fatal("the running uplink dropped its broker before a restart")
	}

	// Update page: this box has no update: section, and says so.
	run("update", chromedp.Navigate(base+"/update"), chromedp.WaitVisible(id("upd-off")), shot("06-update"))
	if s := text("#upd-off"); !strings.Contains(s, "Updates sind auf dieser Box ausgeschaltet") {
		t.Fatalf("update page: %q", s)
	}

	// One-shot discovery through the scheduler and the real driver.
	run("discover", chromedp.Navigate(base+"/diagnostics"), chromedp.WaitVisible(id("discover")),
		chromedp.Click(id("discover")), chromedp.WaitVisible(id("discovery-result")), shot("07-diagnostics-discovery"))
	if s := text("#discovery-result"); !strings.Contains(s, "netz") || !strings.Contains(s, "interface lo has no Ethernet address") {
		t.Fatalf("discovery result: %q", s)
	}
	if s := text("#audit"); !strings.Contains(s, "config.alarm") || !strings.Contains(s, "discovery.run") {
		t.Fatalf("audit: %q", s)
	}

	// The broker edit waits for a restart; the settings page offers one.
	run("restart", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible(id("restart-button")), shot("08-settings-restart-button"),
		chromedp.Click(id("restart-button")), chromedp.WaitVisible(id("flash")))
	if s := text("#flash"); !strings.Contains(s, "Der Dienst wird neu gestartet") {
		t.Fatalf("after the restart button: %q", s)
	}
	select {
	case r := <-restarts:
		if r != "web page: admin" {
			t.Fatalf("restart reason %q", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the restart button did not restart the daemon")
	}
	gwtest.WaitFor(t, "the restart audited at the broker", func() bool {
		return sub.Count("/event/gateway", `"type":"web.change"`, `"action":"service.restart"`) == 1
	})
}

// insecureTLS only asks whether the page answers yet; the browser below
// pins the certificate.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

// pageSPKI is the base64 SHA-256 of the page certificate's public key,
// what Chromium's ignore-certificate-errors-spki-list takes: the browser
// trusts exactly this certificate, as a technician who compared the
// fingerprint would.
func pageSPKI(t *testing.T, certFile string) string {
	t.Helper()
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		t.Fatalf("%s: no PEM", certFile)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
