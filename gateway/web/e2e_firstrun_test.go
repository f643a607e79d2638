package web

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/praxisgate/praxisgate/gateway/config"
)

var issueCodeRE = regexp.MustCompile(`setup code:\s+([A-Z0-9-]{14})`)

// hammer is the attacker of issue 22: one program on the practice LAN
// that sends wrong setup codes or passwords with rotating user names,
// from rotating source addresses (127.0.3.x), as fast as the page
// answers, until stopped (bounded by maxTries).
type hammer struct {
	base, path string
	roots      *x509.CertPool
	tries      atomic.Int64
	stop       chan struct{}
	done       sync.WaitGroup
}

const hammerAddrs, maxTries = 40, 3000

func startHammer(t *testing.T, base, path string, roots *x509.CertPool) *hammer {
	h := &hammer{base: base, path: path, roots: roots, stop: make(chan struct{})}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		clients := make([]*http.Client, hammerAddrs)
		tokens := make([]string, hammerAddrs)
		for i := range clients {
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fmt.Sprintf("127.0.3.%d", i+2))}, Timeout: 5 * time.Second}
			tr := &http.Transport{DialContext: d.DialContext, TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}
			clients[i] = &http.Client{Transport: tr, Timeout: 10 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			clients[i].Jar, _ = cookiejar.New(nil)
		}
		for n := 0; n < maxTries; n++ {
			select {
			case <-h.stop:
				return
			default:
			}
			i := n % hammerAddrs
			c := clients[i]
			if tokens[i] == "" {
				resp, err := c.Get(h.base + h.path)
				if err != nil {
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if m := csrfRE.FindSubmatch(b); m != nil {
					tokens[i] = string(m[1])
				}
			}
			form := url.Values{"csrf": {tokens[i]}, "user": {[]string{"admin", "praxis", "root", fmt.Sprintf("admin%d", n)}[n%4]},
				"password": {"falsch-geraten-" + fmt.Sprint(n)}, "confirm": {"falsch-geraten-" + fmt.Sprint(n)}, "code": {"AAAA-BBBB-CCCC"}}
			resp, err := c.PostForm(h.base+h.path, form)
			if err != nil {
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			h.tries.Add(1)
		}
	}()
	t.Cleanup(h.halt)
	return h
}

func (h *hammer) halt() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	h.done.Wait()
}

// waitTries blocks until the hammer made n attempts (bounded).
func (h *hammer) waitTries(t *testing.T, n int64) {
	t.Helper()
	for range 600 {
		if h.tries.Load() >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the attacker made only %d attempts", h.tries.Load())
}

// TestBrowserFirstHour drives headless Chromium through issue 22's first
// hour: the technician reads the setup code from the console screen's text
// and sets up while another host hammers wrong codes, logs in while it
// hammers passwords with rotating names (and has spent the global budget
// for unknown browsers), follows the checklist to the test SMS and
// confirms it, keeps a threshold typed before the session expired, and
// leaves a screenshot of every page in both languages.
func TestBrowserFirstHour(t *testing.T) {
	bin := chromiumPath(t)
	e, nf := notifyEnvOpts(t)
	issue := filepath.Join(t.TempDir(), "setup.issue")
	srv, err := New(Options{Backend: pollWords{e.be}, Dir: filepath.Join(t.TempDir(), "web"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ColdChain: e.srv.cold, Now: e.clock.Now, Notify: nf, IssueFile: issue})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln, nil) }()
	defer func() {
		stop()
		<-served
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "https://localhost:" + port
	leaf, err := x509.ParseCertificate(srv.cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	shots := artifactsDir(t)
	t.Logf("screenshots in %s", shots)

	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	defer cancelA()
	ctx, cancelC := chromedp.NewContext(actx)
	defer cancelC()
	ctx, cancelT := context.WithTimeout(ctx, 120*time.Second)
	defer cancelT()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, "firsthour-"+name+".png"), buf, 0o644)
		})
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
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
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("%s never showed %q (last %q); page:\n%s", sel, want, last, body)
	}
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// The console login screen's text carries the code.
	text, err := os.ReadFile(issue)
	if err != nil {
		t.Fatalf("no console text: %v", err)
	}
	m := issueCodeRE.FindSubmatch(text)
	if m == nil || string(m[1]) != srv.SetupCode() || !strings.Contains(string(text), srv.Fingerprint()) {
		t.Fatalf("console text does not carry the code and fingerprint:\n%s", text)
	}
	consoleCode := string(m[1])

	// Setup while another host hammers wrong codes.
	setupAttack := startHammer(t, base, "/setup", roots)
	setupAttack.waitTries(t, 60)
	run("open the page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(id("code")), shot("de-setup"))
	run("english setup", chromedp.Click(id("lang")))
	waitText("h1", "First-time setup")
	run("screenshot", shot("en-setup"), chromedp.Click(id("lang")))
	waitText("h1", "Ersteinrichtung")
	run("set up with the console's code", chromedp.SendKeys(id("code"), consoleCode),
		chromedp.SendKeys(id("password"), testPassword), chromedp.SendKeys(id("confirm"), testPassword), chromedp.Click(id("submit")))
	waitText("#flash", "Administrator angelegt")
	setupAttack.halt()
	t.Logf("setup done while the attacker sent %d wrong codes", setupAttack.tries.Load())
	if _, err := os.Stat(issue); err == nil {
		t.Error("console text still there after setup")
	}

	// Login while the attacker hammers passwords with rotating names from
	// 40 addresses, spending the global budget for unknown browsers.
	loginAttack := startHammer(t, base, "/login", roots)
	loginAttack.waitTries(t, 120)
	if w := srv.throttle.wait(attempt{account: "admin", addr: "127.0.0.9"}); w == 0 {
		t.Fatal("the attack did not slow unknown browsers; it proves nothing")
	}
	run("screenshot", shot("de-login"))
	run("log in", chromedp.SendKeys(id("user"), "admin"), chromedp.SendKeys(id("password"), testPassword), chromedp.Click(id("submit")))
	waitText("#checklist h2", "Erste Schritte")
	loginAttack.halt()
	t.Logf("logged in while the attacker sent %d wrong passwords", loginAttack.tries.Load())

	// The checklist: connection up and fridges done, the rest open with
	// their links; the test SMS is sent and confirmed.
	run("screenshot", shot("de-overview-checklist"))
	for sel, want := range map[string]string{"#ck-uplink": "erledigt", "#ck-fridges": "Sollbereich 2–8 °C", "#ck-clock": "offen", "#ck-ups": "offen", "#ck-test": "offen"} {
		waitText(sel, want)
	}
	run("follow the test alarm's link", chromedp.Click(css("#ck-test a")), chromedp.WaitVisible(id("notify-test")), chromedp.Click(id("notify-test")))
	waitText("#flash", "Test-SMS gesendet")
	run("back to the overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(id("ck-confirm")))
	waitText("#ck-test", "Test-SMS gesendet")
	run("confirm", chromedp.Click(id("ck-confirm")))
	waitText("#flash", "Test-Alarm ist angekommen")
	waitText("#ck-test", "erledigt")

	// A threshold typed, the session expires, the value survives a login.
	run("type a threshold", chromedp.Navigate(base+"/alarms"), chromedp.WaitVisible(id("rule-0")),
		chromedp.SetValue(css(`#rule-0 input[name="above"]`), "8,5"))
	e.clock.Advance(idleTimeout + time.Minute)
	run("save too late", chromedp.Click(css("#rule-0 button")))
	waitText("#error", "Sitzung ist abgelaufen")
	waitText("#kept", "8,5")
	run("screenshot", shot("de-session-expired"))
	run("log in again", chromedp.SendKeys(id("user"), "admin"), chromedp.SendKeys(id("password"), testPassword), chromedp.Click(id("submit")))
	waitText("#kept", "8,5")
	run("screenshot", shot("de-resend"))
	run("send again", chromedp.Click(id("resend")))
	waitText("#flash", "Gespeichert")
	if data, _ := os.ReadFile(e.cfgPath); !strings.Contains(string(data), "8.5") {
		t.Fatalf("resent threshold not in the config:\n%s", data)
	}

	// Every page in both languages.
	pages := []struct{ name, path, sel string }{
		{"overview", "/", "#uplink"}, {"devices", "/devices", "#devices"}, {"found", "/devices/found", "#inventory"},
		{"adopt", "/devices/adopt?source=netz&mac=00:c0:b7:01:02:03", "#adopt"}, {"alarms", "/alarms", "#active"},
		{"settings", "/settings", "#settings"}, {"notify", "/notify", "#notify-test"}, {"update", "/update", "#update"},
		{"diagnostics", "/diagnostics", "#audit"}, {"not-found", "/keine-seite", "#error"},
	}
	for _, lang := range []string{"de", "en"} {
		if lang == "en" {
			run("english", chromedp.Click(id("lang")))
			waitText("h1", "Devices")
		}
		for _, p := range pages {
			run(lang+" "+p.name, chromedp.Navigate(base+p.path), chromedp.WaitVisible(css(p.sel)), shot(lang+"-"+p.name))
		}
		run(lang+" test poll", chromedp.Navigate(base+"/devices"), chromedp.WaitVisible(id("devices")), chromedp.Click(css(`button[value="kuehlschrank"]`)))
		waitText("#poll", map[string]string{"de": "Tür offen", "en": "door open"}[lang])
		run("screenshot", shot(lang+"-test-poll"))
	}
	run("log out", chromedp.Click(id("logout")))
	waitText("#flash", "Logged out")
	run("screenshot", shot("en-login"))
	entries, _ := os.ReadDir(shots)
	t.Logf("%d screenshots", len(entries))
}

// notifyEnvOpts is notifyEnv without the login: a practice with an SMS
// notifier and two contacts, the page not set up.
func notifyEnvOpts(t *testing.T) (*env, *fakeNotify) {
	e := newEnv(t)
	f := &fakeNotify{}
	e.be.mu.Lock()
	e.be.cfg.Notify = &config.Notify{Contacts: []config.NotifyContact{{Name: "Praxis-Handy", Number: "+4915112345678"}}}
	e.be.mu.Unlock()
	return e, f
}
