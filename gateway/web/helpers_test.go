package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	_ "github.com/praxisgate/praxisgate/drivers/discover" // the test config's devices
	_ "github.com/praxisgate/praxisgate/drivers/sim"
	_ "github.com/praxisgate/praxisgate/drivers/snmp"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/logring"
)

// testConfig is a small practice: a fridge with a threshold, a UPS.
const testConfig = `# praxisgate test config
site: praxis-test
gateway: gw-01
state_dir: state
uplink:
  broker: "tcp://127.0.0.1:1883"
devices:
  - id: kuehlschrank
    name: Impfstoff-Kühlschrank
    driver: sim
    kind: fridge
    sim: {scenario: fridge}
  - id: usv
    driver: sim
    kind: ups
    sim: {scenario: ups}
  - id: netz
    driver: discover
    interval: 15m
    discover:
      interfaces: [lo]
      known_macs: ["00:11:32:aa:bb:cc"]
alarms:
  # vaccines: 2–8 °C
  - device: kuehlschrank
    metric: temperature
    above: 8
    below: 2
    for: 15m
    severity: critical
`

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeBackend stands in for the gateway in handler tests; the gateway's
// own adapter is tested in package gateway.
type fakeBackend struct {
	cfg *config.Config

	mu      sync.Mutex
	devices []Device
	alarms  []alarm.Alarm
	acks    []string // "id by user"
	events  []drivers.Event
	polls   []string
	hosts   []Host
	// update is the self-update's state; updateCalls records "check" and
	// "install force=<bool>".
	update      UpdateInfo
	updateCalls []string
	// history is each fridge's sparkline data.
	history map[string]TempHistory
	// applied are the configs Apply got.
	applied []*config.Config
}

func (b *fakeBackend) Inventory() []Host {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Host(nil), b.hosts...)
}

func (b *fakeBackend) Devices() []Device {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Device(nil), b.devices...)
}

func (b *fakeBackend) Alarms() []alarm.Alarm {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]alarm.Alarm(nil), b.alarms...)
}

func (b *fakeBackend) AckAlarm(_ context.Context, id, user, comment string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.alarms {
		if b.alarms[i].ID == id {
			b.alarms[i].Acked, b.alarms[i].AckedBy, b.alarms[i].AckComment = true, user, comment
			b.acks = append(b.acks, id+" by "+user)
			return nil
		}
	}
	return errors.New("no such alarm")
}

func (b *fakeBackend) PollNow(_ context.Context, device string) (drivers.Sample, error) {
	b.mu.Lock()
	b.polls = append(b.polls, device)
	b.mu.Unlock()
	switch device {
	case "usv":
		return drivers.Sample{}, errors.New("serial port /dev/ttyUSB0: no such file")
	case "netz":
		return drivers.Sample{Device: device, Metrics: []drivers.Metric{drivers.Num("discover.hosts", 23, ""),
			drivers.Num("discover.hosts.new", 2, ""), drivers.Num("discover.hosts.unknown", 5, ""), drivers.Num("discover.hosts.gone", 1, "")}}, nil
	}
	return drivers.Sample{Device: device, Metrics: []drivers.Metric{drivers.Num("temperature", 5.25, "°C")}}, nil
}

func (b *fakeBackend) Status() Status {
	return Status{Version: "1.2.3-test", Started: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), Connected: true,
		BufferRecords: 12, BufferBytes: 4096, Health: selfmonMetrics(95, 48.3, false)}
}

func (b *fakeBackend) Config() *config.Config {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg
}

func (b *fakeBackend) Event(e drivers.Event) {
	b.mu.Lock()
	b.events = append(b.events, e)
	b.mu.Unlock()
}

func (b *fakeBackend) eventsCopy() []drivers.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]drivers.Event(nil), b.events...)
}

// env is one page under test: server, backend, clock and a browser-like
// client (cookie jar, no automatic redirects).
type env struct {
	t       *testing.T
	srv     *Server
	ts      *httptest.Server
	c       *http.Client
	be      *fakeBackend
	clock   *fakeClock
	cfgPath string
	// cold is the real cold-chain recorder behind the page.
	cold *coldchain.Recorder
	// csrf is the token seen on the last page fetched.
	csrf string
}

const testPassword = "richtig-geheim-42"

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "praxisgate.yaml")
	if err := os.WriteFile(cfgPath, []byte(testConfig), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	v, limit := 9.1, 8.0
	be := &fakeBackend{cfg: cfg,
		devices: []Device{
			{ID: "kuehlschrank", Name: "Impfstoff-Kühlschrank", Kind: "fridge", Driver: "sim", At: time.Date(2026, 11, 22, 9, 59, 0, 0, time.UTC),
				Metrics: []drivers.Metric{drivers.Num("temperature", 9.1, "°C")}},
			{ID: "usv", Kind: "ups", Driver: "sim", Err: "timeout"},
		},
		alarms: []alarm.Alarm{{ID: "kuehlschrank/temperature/above", Device: "kuehlschrank", Severity: drivers.Critical,
			Message: "temperature 9.1 °C above 8 °C", Metric: "temperature", Value: &v, Since: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC),
			Kind: alarm.KindThresholdHigh, Limit: &limit, Unit: "°C"}},
	}
	be.hosts = []Host{
		{Source: "netz", MAC: "00:c0:b7:01:02:03", IPs: []string{"192.168.10.31"}, Vendor: "American Power Conversion",
			Name: "APC-Rack-USV", Kind: "ups-card", Adopt: snmpAdoption("192.168.10.31", "ups"), Present: true},
		{Source: "netz", MAC: "3c:2a:f4:00:00:01", IPs: []string{"192.168.10.40"}, Vendor: "Brother", Name: "drucker empfang", Kind: "printer", Adopt: snmpAdoption("192.168.10.40", "printer"), Present: true, Known: true},
		{Source: "netz", MAC: "da:11:22:33:44:55", IPs: []string{"192.168.10.77"}, Kind: "phone", Present: true},
	}
	clock := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	ring := logring.NewRing(50)
	log := slog.New(logring.New(slog.NewTextHandler(io.Discard, nil), ring, slog.LevelInfo))
	log.Info("gateway starting", "site", "praxis-test")
	cc := recordColdChain(t, filepath.Join(dir, "state", "coldchain"))
	srv, err := New(Options{Backend: be, Dir: filepath.Join(dir, "web"), Logger: log, Logs: func() []string { return ring.Lines(0) },
		ColdChain: coldChainFiles{Recorder: cc, dir: filepath.Join(dir, "state", "coldchain")}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(ts.Close)
	c := ts.Client()
	c.Jar, _ = cookiejar.New(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &env{t: t, srv: srv, ts: ts, c: c, be: be, clock: clock, cfgPath: cfgPath, cold: cc}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (e *env) do(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if m := csrfRE.FindSubmatch(b); m != nil {
		e.csrf = string(m[1])
	}
	return resp, string(b)
}

func (e *env) get(path string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	return e.do(req)
}

// post sends a form with the current CSRF token unless the form has one.
func (e *env) post(path string, form url.Values, header ...string) (*http.Response, string) {
	e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", e.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(req)
}

func wantStatus(t *testing.T, resp *http.Response, code int, body string) {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, code, body)
	}
}

func wantRedirect(t *testing.T, resp *http.Response, to string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("%s %s: status %d, want a redirect to %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, to)
	}
	if loc := resp.Header.Get("Location"); loc != to {
		t.Fatalf("%s %s: redirect to %q, want %q", resp.Request.Method, resp.Request.URL.Path, loc, to)
	}
}

// setUp creates the admin account through the setup page.
func (e *env) setUp() {
	e.t.Helper()
	e.get("/setup")
	resp, body := e.post("/setup", url.Values{"code": {e.srv.SetupCode()}, "user": {"admin"},
		"password": {testPassword}, "confirm": {testPassword}})
	wantRedirect(e.t, resp, "/login")
	_ = body
}

// login sets up (if needed) and logs in as admin.
func (e *env) login() {
	e.t.Helper()
	if e.srv.SetupCode() != "" {
		e.setUp()
	}
	e.get("/login")
	resp, body := e.post("/login", url.Values{"user": {"admin"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login: status %d\n%s", resp.StatusCode, body)
	}
	e.get("/")
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

// recordColdChain lets the real recorder write two days of the vaccine
// fridge: 20 November in range, 21 November with a warm hour. The daily
// check is due by 09:00 and the probe's calibration on 10 December.
func recordColdChain(t *testing.T, dir string) *coldchain.Recorder {
	t.Helper()
	by, off := 9*time.Hour, -0.3
	rec, err := coldchain.New(coldchain.Options{Dir: dir, Location: time.UTC, CheckBy: &by,
		Fridges: []coldchain.Fridge{{ID: "kuehlschrank", Metric: "temperature", Low: 2, High: 8, Interval: 10 * time.Minute,
			Offset: &off, CalibrationDue: "2026-12-10"}}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 2*24*6; i++ {
		at := start.Add(time.Duration(i) * 10 * time.Minute)
		v := 5.0
		if at.Day() == 21 && at.Hour() == 19 {
			v = 11.2
		}
		rec.Observe(drivers.Sample{Device: "kuehlschrank", Kind: "fridge", Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", v, "°C")}})
		rec.Tick(at)
	}
	rec.Tick(start.Add(48*time.Hour + 5*time.Minute))
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return rec
}

// Apply takes alarms, the fridge profile, devices and poll defaults live,
// like the gateway (which holds a discovery device's sweep settings for
// the restart; no test here changes them), and records what it was given.
func (b *fakeBackend) Apply(_ context.Context, cfg *config.Config) Applied {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.applied = append(b.applied, cfg)
	var a Applied
	for _, sec := range config.Diff(b.cfg, cfg) {
		if config.SectionLive(sec) {
			a.Live = append(a.Live, sec)
		} else {
			a.Restart = append(a.Restart, sec)
		}
	}
	next := *b.cfg
	next.Alarms, next.Fridge, next.Devices, next.Defaults = cfg.Alarms, cfg.Fridge, cfg.Devices, cfg.Defaults
	b.cfg = &next
	return a
}

// snmpAdoption is how drivers/discover says a host that answered SNMP is
// monitored.
func snmpAdoption(addr, kind string) *drivers.Adoption {
	return &drivers.Adoption{Driver: "snmp", Kind: kind, Settings: map[string]string{"address": addr}, ProfileKey: "profiles"}
}
