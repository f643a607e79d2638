package web

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// MissingChromium tells a machine without the browser how to get it; the
// end-to-end test fails rather than skips, so a green run means a real
// browser clicked through the page.
const MissingChromium = "chromium not found: run `make test` (it installs test peers) or apt-get install chromium"

func chromiumPath(t *testing.T) string {
	testpeer.SkipShort(t, "chromium")
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal(MissingChromium)
	return ""
}

// artifactsDir is where screenshots go: $ARTIFACTS when CI sets it, else
// the test's temp dir (never the repository).
func artifactsDir(t *testing.T) string {
	if d := os.Getenv("ARTIFACTS"); d != "" {
		d = filepath.Join(d, "web-e2e")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestBrowserEndToEnd drives headless Chromium through the technician's
// first visit: setup code, login, a throttled wrong password, the pages,
// a test poll, adopting a discovered device, acknowledging an alarm, changing a threshold, switching the language and
// downloading the cold-chain CSV and the support bundle.
func TestBrowserEndToEnd(t *testing.T) {
	bin := chromiumPath(t)
	e := newEnv(t)
	e.srv.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(sctx, ln, nil) }()
	defer func() {
		stop()
		<-served
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "https://localhost:" + port

	// Trust exactly our certificate, by its public key, as a technician
	// who compared the fingerprint would.
	leaf, err := x509.ParseCertificate(e.srv.cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	downloads := t.TempDir()
	shots := artifactsDir(t)
	t.Logf("screenshots in %s", shots)

	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelA()
	ctx, cancelC := chromedp.NewContext(actx)
	defer cancelC()
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

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
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// waitText polls until the element holds want: after a click the old
	// page may still be there for a moment, with the same ids.
	waitText := func(sel, want string) {
		t.Helper()
		var last string
		for range 100 {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			s, err := chromedp.Run(cctx, chromedp.Text(chromedp.CSS(sel)))
			cancel()
			if err == nil && strings.Contains(s, want) {
				return
			}
			last = s
			if ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s never showed %q (last %q)", sel, want, last)
	}
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	// First start: the page asks for the setup code.
	run("open the page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(id("code")), shot("01-setup"))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, "/setup") {
		t.Fatalf("first visit landed on %s", loc)
	}
	if fp := text("#fingerprint"); fp != e.srv.Fingerprint() {
		t.Fatalf("page shows fingerprint %q, certificate has %q", fp, e.srv.Fingerprint())
	}
	run("set up", chromedp.SendKeys(id("code"), e.srv.SetupCode()),
		chromedp.SendKeys(id("password"), testPassword), chromedp.SendKeys(id("confirm"), testPassword), chromedp.Click(id("submit")))
	waitText("#flash", "Administrator angelegt")
	run("screenshot", shot("02-login"))

	// A wrong password, then the right one too soon: throttled.
	run("wrong password", chromedp.SendKeys(id("user"), "admin"), chromedp.SendKeys(id("password"), "falsch-falsch"), chromedp.Click(id("submit")))
	waitText("#error", "Passwort falsch")
	run("right password too soon", chromedp.SetValue(id("password"), testPassword), chromedp.Click(id("submit")))
	waitText("#error", "Zu viele Fehlversuche")
	run("screenshot", shot("03-throttled"))
	e.clock.Advance(2 * time.Second)
	run("log in", chromedp.SetValue(id("password"), testPassword), chromedp.Click(id("submit")))
	waitText("#uplink h2", "Verbindung zum Dienstleister")
	run("screenshot", shot("04-overview"))
	if s := text("#alarms"); !strings.Contains(s, "Temperatur 9,1 °C über dem Grenzwert 8 °C") {
		t.Fatalf("overview alarms: %q", s)
	}

	run("devices", chromedp.Navigate(base+"/devices"), chromedp.WaitVisible(id("devices")), chromedp.Click(css(`button[value="kuehlschrank"]`)))
	waitText("#poll", "5,25 °C")
	run("screenshot", shot("05-devices"))

	// The first adoptable host in the list is the APC card.
	run("inventory", chromedp.Click(id("found-link")), chromedp.WaitVisible(id("inventory")), shot("06-found"),
		chromedp.Click(css("#inventory a")), chromedp.WaitVisible(id("adopt-id")))
	run("adopt", chromedp.SetValue(id("adopt-id"), "usv-rack"), chromedp.Click(id("adopt-submit")))
	waitText("#flash", "Gespeichert")
	if data, _ := os.ReadFile(e.cfgPath); !strings.Contains(string(data), `id: "usv-rack"`) {
		t.Fatalf("adopted device not in the config:\n%s", data)
	}

	run("alarms", chromedp.Navigate(base+"/alarms"), chromedp.WaitVisible(id("active")), shot("07-alarms"),
		chromedp.SetValue(css(`#active input[name="user"]`), "MW"),
		chromedp.SetValue(css(`#active input[name="comment"]`), "Tür war offen, Ware geprüft"), chromedp.Click(css("button.ack")))
	waitText("#active", "quittiert von MW: „Tür war offen, Ware geprüft“")
	run("daily check", chromedp.SetValue(css(`#cc-kuehlschrank input[name="user"]`), "MW"), chromedp.Click(id("check-kuehlschrank")))
	waitText("#flash", "Tageskontrolle gespeichert")
	waitText("#checks-kuehlschrank", "MW")
	run("change threshold", chromedp.SetValue(css(`#rule-0 input[name="above"]`), "9,5"), chromedp.Click(css("#rule-0 button")))
	waitText("#flash", "Gespeichert")
	run("screenshot", shot("08-threshold"))
	above, err := chromedp.Run(ctx, chromedp.Value(css(`#rule-0 input[name="above"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if above != "9,5" {
		t.Fatalf("threshold shows %q after save", above)
	}
	if data, _ := os.ReadFile(e.cfgPath); !strings.Contains(string(data), "above: 9.5") {
		t.Fatalf("config file not changed:\n%s", data)
	}

	run("settings", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible(id("settings")),
		chromedp.SetValue(id("broker"), "ftp://falsch"), chromedp.Click(id("save")))
	waitText("#broker-error", "unbekanntes Schema")
	run("screenshot", shot("09-settings-error"))
	run("diagnostics", chromedp.Navigate(base+"/diagnostics"), chromedp.WaitVisible(id("audit")), shot("10-diagnostics"))
	if s := text("#audit"); !strings.Contains(s, "alarm.ack") || !strings.Contains(s, "config.alarm") {
		t.Fatalf("audit on diagnostics page: %q", s)
	}

	run("english", chromedp.Click(id("lang")))
	waitText("h1", "Diagnostics")
	run("screenshot", shot("11-english"))
	run("english overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(id("uplink")))
	if s := text("#uplink h2"); s != "Connection to the provider" {
		t.Fatalf("english overview: %q", s)
	}

	// Downloads: the cold-chain CSV and the support bundle.
	on := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &on}); err != nil {
		t.Fatal(err)
	}
	download := func(what string, actions ...chromedp.Action[chromedp.Void]) string {
		t.Helper()
		progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
		run(what, actions...)
		for ev, err := range progress {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			switch ev.State {
			case browser.DownloadProgressStateCompleted:
				return filepath.Join(downloads, ev.GUID)
			case browser.DownloadProgressStateCanceled:
				t.Fatalf("%s: download canceled", what)
			}
		}
		t.Fatalf("%s: no download", what)
		return ""
	}
	csvFile := download("cold-chain CSV", chromedp.Navigate(base+"/alarms"), chromedp.WaitVisible(id("coldchain")),
		chromedp.SetValue(css(`#coldchain input[name="from"]`), "2026-11-21"), chromedp.Click(id("csv")))
	csvData, err := os.ReadFile(csvFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(csvData), "\ufeffDatum;Gerät;") || !strings.Contains(string(csvData), "21.11.2026;kuehlschrank") ||
		strings.Contains(string(csvData), "20.11.2026") {
		t.Fatalf("downloaded CSV:\n%s", csvData)
	}
	bundle := download("support bundle", chromedp.Navigate(base+"/diagnostics"), chromedp.WaitVisible(id("bundle")), chromedp.Click(id("bundle")))
	zr, err := zip.OpenReader(bundle)
	if err != nil {
		t.Fatalf("downloaded bundle: %v", err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "praxisgate.yaml") {
		t.Fatalf("bundle holds %v", names)
	}
	run("log out", chromedp.Click(id("logout")))
	waitText("#flash", "Logged out")
	run("screenshot", shot("12-logged-out"))
}
