package selfupdate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	_ "github.com/praxisgate/praxisgate/drivers/sim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/command/handlers"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/internal/gwtest"
	"github.com/praxisgate/praxisgate/update"
)

func TestUpdateEvent(t *testing.T) {
	ts := time.Date(2026, 11, 22, 21, 0, 0, 0, time.UTC)
	tests := []struct {
		in   update.Event
		want drivers.Event
	}{
		{update.Event{Time: ts, State: update.StateChecking, From: "1.0.0"},
			drivers.Event{Device: "gateway", Type: "update.checking", Severity: drivers.Info, Message: "update checking: running 1.0.0",
				Attrs: map[string]any{"state": "checking", "from": "1.0.0"}}},
		{update.Event{Time: ts, State: update.StateInstalled, From: "1.0.0", To: "2.0.0", Reason: "restarting into the new version"},
			drivers.Event{Device: "gateway", Type: "update.installed", Severity: drivers.Info,
				Message: "update installed: 1.0.0 → 2.0.0 (restarting into the new version)",
				Attrs:   map[string]any{"state": "installed", "from": "1.0.0", "to": "2.0.0", "reason": "restarting into the new version"}}},
		{update.Event{Time: ts, State: update.StateRolledBack, From: "3.0.0", To: "2.0.0", Reason: "not healthy within 5m0s: uplink: not connected to the broker"},
			drivers.Event{Device: "gateway", Type: "update.rolled_back", Severity: drivers.Major,
				Message: "update rolled back: 3.0.0 → 2.0.0 (not healthy within 5m0s: uplink: not connected to the broker)",
				Attrs:   map[string]any{"state": "rolled_back", "from": "3.0.0", "to": "2.0.0", "reason": "not healthy within 5m0s: uplink: not connected to the broker"}}},
		{update.Event{Time: ts, State: update.StateRefused, From: "2.0.0", Reason: "signature check failed"},
			drivers.Event{Device: "gateway", Type: "update.refused", Severity: drivers.Major, Message: "update refused: running 2.0.0 (signature check failed)",
				Attrs: map[string]any{"state": "refused", "from": "2.0.0", "reason": "signature check failed"}}},
		{update.Event{Time: ts, State: update.StateDeferred, To: "2.0.0", Reason: "UPS usv is on battery"},
			drivers.Event{Device: "gateway", Type: "update.deferred", Severity: drivers.Info, Message: "update deferred: 2.0.0 (UPS usv is on battery)",
				Attrs: map[string]any{"state": "deferred", "to": "2.0.0", "reason": "UPS usv is on battery"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in.State, func(t *testing.T) {
			if got := updateEvent(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// A box without updates answers the update commands through a nil
// *SelfUpdate instead of crashing.
func TestNilSelfUpdate(t *testing.T) {
	var u *SelfUpdate
	var cmds handlers.Updater = u
	for _, ev := range []update.Event{cmds.Peek(context.Background()), cmds.Check(context.Background(), true), u.Last()} {
		if ev.State != update.StateFailed || !strings.Contains(ev.Reason, "self-update is off") {
			t.Fatalf("nil updater answered %+v", ev)
		}
	}
}

// A box that cannot update says why, as an error and as an update.failed
// event in the buffer, instead of failing later at every check.
func TestNewSelfUpdatePreflight(t *testing.T) {
	for _, tt := range []struct {
		name, version string
		provisioned   bool
		want          string
	}{
		{"development build", "dev", true, `this build's version "dev" is not a release version`},
		{"not provisioned", "1.0.0", false, "not provisioned?"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			state := filepath.Join(dir, "state")
			if tt.provisioned {
				gwtest.Provision(t, state, "1.0.0")
			}
			root := filepath.Join(dir, "root.json")
			if err := os.WriteFile(root, []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := gwtest.Load(t, dir, fmt.Sprintf("site: s\ngateway: g\nstate_dir: %s\nuplink: {broker: \"tcp://127.0.0.1:1\"}\nupdate: {repo: \"https://u.example\", root_file: %s, dir: %s}\n",
				dir, root, state))
			g := gwtest.New(t, cfg, tt.version)
			u, err := New(g, Options{TrustedRoot: []byte("{}"), Restart: func() error { return nil }})
			if u != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want an error with %q", u, err, tt.want)
			}
			if n := g.Stats().Buffer.Appended; n != 1 {
				t.Fatalf("%d records appended, want the update.failed event", n)
			}
		})
	}
}

// runGateway starts a gateway of the given version until the test ends.
func runGateway(t *testing.T, cfg *config.Config, version string) *gateway.Gateway {
	t.Helper()
	g := gwtest.New(t, cfg, version)
	gwtest.Run(t, g)
	return g
}

// The gates hold an install back while a UPS is on battery or a critical
// alarm is active, with the reason the deferred event carries.
func TestUpdateGates(t *testing.T) {
	const (
		ups    = "  - {id: usv, driver: sim, interval: 1s, sim: {scenario: ups, episodes: [{at: 0s, for: 1h}]}}\n"
		fridge = "  - {id: fridge, driver: sim, kind: fridge, interval: 1s, sim: {scenario: fridge}}\n"
		hot    = "alarms:\n  - {device: fridge, metric: temperature, below: 1000, severity: critical}\n"
	)
	tests := []struct {
		name, devices, alarms string
		battery, critical     string // expected reasons; "" = not blocked
	}{
		{name: "quiet", devices: fridge},
		{name: "on battery", devices: ups + fridge, battery: "UPS usv is on battery"},
		{name: "critical alarm", devices: fridge, alarms: hot, critical: "critical alarm active: fridge/temperature.below"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			// No broker needed: port 1 on loopback refuses at once.
			cfg := gwtest.Load(t, dir, fmt.Sprintf("site: s\ngateway: g\nstate_dir: %s\nuplink: {broker: \"tcp://127.0.0.1:1\"}\nweb: {listen: \"off\"}\ndevices:\n%s%s",
				dir, tt.devices, tt.alarms))
			g := runGateway(t, cfg, "1.0.0")
			gwtest.WaitFor(t, "first polls", func() bool { return len(g.Latest()) >= 2 })
			if tt.battery != "" || tt.critical != "" {
				gwtest.WaitFor(t, "alarm", func() bool { return len(g.Alarms()) > 0 })
			} else {
				time.Sleep(1500 * time.Millisecond) // a second round of polls: still nothing
			}
			ctx := context.Background()
			for _, gate := range []struct {
				name string
				fn   update.Gate
				want string
			}{{"battery", (&gw{core: g}).gateOnBattery, tt.battery}, {"critical", (&gw{core: g}).gateCriticalAlarm, tt.critical}} {
				reason, blocked := gate.fn(ctx)
				if reason != gate.want || blocked != (gate.want != "") {
					t.Errorf("%s gate: %q, %v; want %q (alarms %+v)", gate.name, reason, blocked, gate.want, g.Alarms())
				}
			}
		})
	}
}

// A box in the maintenance window's off hours reports the release as
// available and deferred; a forced install restarts only after the caller
// could answer; the provider sees each step as an event.
func TestSelfUpdateCheckAndForcedInstall(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	s := gwtest.SubscribeAll(t, mq.URL())
	dir := t.TempDir()
	repoURL, rootFile := gwtest.Publish(t, dir, "2.0.0")
	state := filepath.Join(dir, "state")
	gwtest.Provision(t, state, "1.0.0")
	h := time.Now().Hour()
	window := fmt.Sprintf("%02d:00-%02d:00", (h+2)%24, (h+3)%24) // not now
	cfg := gwtest.Load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
web: {listen: "off"}
update: {repo: %q, insecure_http: true, root_file: %s, window: %q, dir: %s}
`, dir, mq.URL(), repoURL, rootFile, window, state))
	g := runGateway(t, cfg, "1.0.0")
	var restarts atomic.Int32
	u, err := New(g, Options{TrustedRoot: gwtest.ReadFile(t, rootFile), Restart: func() error { restarts.Add(1); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if ev := u.Peek(ctx); ev.State != update.StateAvailable || ev.To != "2.0.0" {
		t.Fatalf("Peek: %+v", ev)
	}
	if ev := u.Check(ctx, false); ev.State != update.StateDeferred || ev.Reason != "outside the maintenance window" {
		t.Fatalf("Check outside the window: %+v", ev)
	}
	if ev := u.Check(ctx, true); ev.State != update.StateInstalled || ev.To != "2.0.0" {
		t.Fatalf("forced Check: %+v", ev)
	}
	if n := restarts.Load(); n != 0 {
		t.Fatalf("restarted before the caller could answer (%d)", n)
	}
	gwtest.WaitFor(t, "restart after the grace", func() bool { return restarts.Load() == 1 })
	if got := u.Last(); got.State != update.StateInstalled {
		t.Fatalf("Last: %+v", got)
	}
	for _, want := range []string{`"type":"update.available"`, `"type":"update.deferred"`, `"type":"update.downloading"`, `"type":"update.installed"`} {
		gwtest.WaitFor(t, want, func() bool { return s.Count("/g/event/gateway ", want) >= 1 })
	}
}

// A version on trial that does not become healthy (here: its web page
// does not answer) is rolled back and the daemon restarted; the provider
// sees update.trial and update.rolled_back (major) with the reason.
func TestSelfUpdateTrialRollsBack(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	s := gwtest.SubscribeAll(t, mq.URL())
	dir := t.TempDir()
	repoURL, rootFile := gwtest.Publish(t, dir, "2.0.0")
	state := filepath.Join(dir, "state")
	gwtest.Provision(t, state, "1.0.0")
	l := &update.Layout{Dir: state}
	// 2.0.0 installed by 1.0.0 and on trial, as after the restart.
	m, err := update.NewManager(update.Config{Layout: l, RepoURL: repoURL, TrustedRoot: gwtest.ReadFile(t, rootFile), Running: "1.0.0", GatewayID: "s/g"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := m.Check(context.Background(), true); ev.State != update.StateInstalled {
		t.Fatalf("install: %+v", ev)
	}
	cfg := gwtest.Load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
web: {listen: "127.0.0.1:1", dir: %s}
update: {repo: %q, insecure_http: true, root_file: %s, dir: %s, trial_timeout: 10s}
`, dir, mq.URL(), filepath.Join(dir, "web"), repoURL, rootFile, state))
	cfg.Update.TrialTimeout = 3 * time.Second // below what the config allows, to keep the test short
	g := runGateway(t, cfg, "2.0.0")
	var restarts atomic.Int32
	u, err := New(g, Options{TrustedRoot: gwtest.ReadFile(t, rootFile), Web: true, Restart: func() error { restarts.Add(1); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := u.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if restarts.Load() != 1 {
		t.Fatalf("restarts %d, want 1", restarts.Load())
	}
	st, err := l.ReadState()
	if err != nil || st.Committed != "1.0.0" || st.Trial != nil || !st.IsFailed("2.0.0") {
		t.Fatalf("state after rollback: %+v, %v", st, err)
	}
	gwtest.WaitFor(t, "trial event", func() bool { return s.Count("/g/event/gateway ", `"type":"update.trial"`, `"to":"2.0.0"`) == 1 })
	gwtest.WaitFor(t, "rollback event", func() bool {
		return s.Count("/g/event/gateway ", `"type":"update.rolled_back"`, `"severity":"major"`,
			`not healthy within 3s: web: read the page's certificate`) == 1
	})
}

// The web check trusts exactly the page's own certificate.
func TestCheckWebPinsTheCertificate(t *testing.T) {
	page := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}))
	defer page.Close()
	// httptest's servers share one certificate: the impostor gets its own.
	other := httptest.NewUnstartedServer(http.NotFoundHandler())
	other.TLS = &tls.Config{Certificates: []tls.Certificate{selfSignedCert(t)}}
	other.StartTLS()
	defer other.Close()
	dir := t.TempDir()
	writeCert := func(srv *httptest.Server) {
		b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(filepath.Join(dir, webCertFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g := &gw{core: configOnly{&config.Config{Web: config.Web{Listen: page.Listener.Addr().String(), Dir: dir}}}}
	ctx := context.Background()
	if err := g.checkWeb(ctx); err == nil || !strings.Contains(err.Error(), "read the page's certificate") {
		t.Fatalf("without a certificate file: %v", err)
	}
	writeCert(page)
	if err := g.checkWeb(ctx); err != nil {
		t.Fatalf("the page itself: %v", err)
	}
	writeCert(other)
	if err := g.checkWeb(ctx); err == nil || !strings.Contains(err.Error(), "another certificate") {
		t.Fatalf("a page with another certificate: %v", err)
	}
	for listen, want := range map[string]string{":443": "127.0.0.1:443", "0.0.0.0:8443": "127.0.0.1:8443",
		"[::]:443": "127.0.0.1:443", "192.168.1.5:443": "192.168.1.5:443", "[::1]:8443": "[::1]:8443"} {
		if got, err := loopbackAddr(listen); err != nil || got != want {
			t.Errorf("loopbackAddr(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
}

func selfSignedCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "impostor"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// configOnly is a Core that has a config and nothing else.
type configOnly struct{ cfg *config.Config }

func (c configOnly) Config() *config.Config                     { return c.cfg }
func (configOnly) Stats() gateway.Stats                         { return gateway.Stats{} }
func (configOnly) Alarms() []alarm.Alarm                        { return nil }
func (configOnly) Emit(context.Context, ...drivers.Event) error { return nil }
