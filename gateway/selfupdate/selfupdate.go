// Package selfupdate orchestrates the self-update (package update) of a
// running gateway: the trial of this version and its health check, the
// periodic checks with their gates (UPS on battery, critical alarm), the
// update events sent to the provider, and the triggers the MQTT commands
// and the web page use. It reaches the gateway through Core, defined here.
package selfupdate

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/update"
)

// Core is what the self-update needs of the running gateway
// (*gateway.Gateway).
type Core interface {
	Config() *config.Config
	Stats() gateway.Stats
	Alarms() []alarm.Alarm
	Emit(ctx context.Context, evs ...drivers.Event) error
}

// gw is the gateway as the self-update's steps see it.
type gw struct {
	core    Core
	version string
	log     *slog.Logger
}

// Config is the config in effect.
func (g *gw) Config() *config.Config { return g.core.Config() }

// Options connect the self-update (package update) to this daemon:
// what the config file cannot say.
type Options struct {
	// TrustedRoot is the provider's root.json (config update.root_file).
	TrustedRoot []byte
	// Restart ends the daemon so that the installed version (or, after a
	// rollback, the committed one) starts: exit for systemd, or re-exec.
	// It must return promptly. Required.
	Restart func() error
	// Web says that this daemon serves the web page, so a new
	// version on trial must have it answering before it commits.
	Web bool
	// HTTPClient fetches from the repository; nil uses the update
	// package's default.
	HTTPClient *http.Client
	// Hook is called at the named steps of download, switch and trial
	// (update.Config.Hook, Layout.Hook, TrialConfig.Hook). Only the
	// fault-injection build of the tests sets it; nil in production.
	Hook func(step string)
	// Logger receives the update's log lines; nil: slog.Default().
	Logger *slog.Logger
}

// restartGrace is how long Check waits before restarting into an
// installed version, so the command or the web page that asked can still
// answer.
const restartGrace = 2 * time.Second

// SelfUpdate is the self-update of one running gateway: the update.Daemon
// (trial of this version, then periodic checks) plus the two triggers the
// provider and the technician use (MQTT commands, web page).
type SelfUpdate struct {
	g      *gw
	o      Options
	layout *update.Layout
	mgr    *update.Manager
	daemon *update.Daemon

	// A restart asked for by the Manager while a command or the web page
	// is installing waits until that caller has answered.
	deferring atomic.Int32
	pending   atomic.Bool
}

// New builds the update machinery from the config's update:
// section. A box that cannot update (not provisioned with "praxisgate
// update provision", or a development build without a release version)
// gets an update.failed event saying so, and an error; the gateway itself
// runs on without updates.
func New(core Core, o Options) (*SelfUpdate, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	g := &gw{core: core, version: core.Stats().Version, log: o.Logger}
	c := g.Config().Update
	if !c.On() {
		return nil, errors.New("selfupdate: updates are not configured (config update.repo)")
	}
	if o.Restart == nil {
		return nil, errors.New("selfupdate: updates need a Restart function")
	}
	w, err := update.ParseWindow(c.Window)
	if err != nil {
		return nil, fmt.Errorf("selfupdate: %w", err)
	}
	u := &SelfUpdate{g: g, o: o, layout: &update.Layout{Dir: c.Dir, Hook: o.Hook}}
	if err := u.preflight(); err != nil {
		g.publishUpdateEvent(update.Event{Time: time.Now().UTC(), State: update.StateFailed, From: g.version,
			Reason: "self-update not possible: " + err.Error()})
		return nil, fmt.Errorf("selfupdate: %w", err)
	}
	log := g.log.With("part", "update")
	u.mgr, err = update.NewManager(update.Config{Layout: u.layout, RepoURL: c.Repo, TrustedRoot: o.TrustedRoot,
		Channel: c.Channel, GatewayID: g.UpdateID(), Running: g.version, HTTPClient: o.HTTPClient,
		Window: w.Contains, Gates: []update.Gate{g.gateOnBattery, g.gateCriticalAlarm},
		OnEvent: g.publishUpdateEvent, Restart: u.restart, Log: log, Hook: o.Hook})
	if err != nil {
		return nil, fmt.Errorf("selfupdate: %w", err)
	}
	u.daemon = &update.Daemon{Layout: u.layout, Manager: u.mgr, Interval: c.Interval, Jitter: c.RandomDelay,
		Trial: update.TrialConfig{Version: g.version, Checks: g.updateChecks(o.Web), Timeout: c.TrialTimeout,
			OnEvent: g.publishUpdateEvent, Restart: o.Restart, Log: log, Hook: o.Hook}}
	return u, nil
}

// preflight tells why this daemon cannot take part in updates at all.
func (u *SelfUpdate) preflight() error {
	if _, err := update.ParseVersion(u.g.version); err != nil {
		return fmt.Errorf("this build's version %q is not a release version", u.g.version)
	}
	if _, err := u.layout.ReadState(); err != nil {
		return err
	}
	return nil
}

// UpdateID is the box's id for the staged rollout: site and gateway, since
// gateway slugs like gw-01 repeat across practices.
func (g *gw) UpdateID() string { return g.Config().Site + "/" + g.Config().Gateway }

// Run is the trial of this version (commit or roll back), then periodic
// checks, until ctx ends or a rollback restarted the daemon. Start it after
// the gateway's Run: the trial's health check needs the running gateway.
func (u *SelfUpdate) Run(ctx context.Context) error { return u.daemon.Run(ctx) }

// Peek looks for a release without installing it (the update-check
// command and the web page's search button).
func (u *SelfUpdate) Peek(ctx context.Context) update.Event {
	if u == nil {
		return updatesOff()
	}
	return u.mgr.Peek(ctx)
}

// updatesOff is what Peek and Check answer on a nil *SelfUpdate (a box
// without update: in its config, or one that cannot update), so the daemon
// can hand its updater to the commands without a nil check.
func updatesOff() update.Event {
	return update.Event{Time: time.Now().UTC(), State: update.StateFailed,
		Reason: "self-update is off on this box (no usable update: section in the config)"}
}

// Check checks and installs a release (the update-install command and the
// web page's install button); force skips the maintenance window,
// UPS-on-battery and critical-alarm gates and the staged rollout, never a
// signature, hash, downgrade or failed-version check. After an install the
// daemon restarts restartGrace later, so that the caller's reply goes out
// first. With Peek it is the Updater of the update commands.
func (u *SelfUpdate) Check(ctx context.Context, force bool) update.Event {
	if u == nil {
		return updatesOff()
	}
	u.deferring.Add(1)
	ev := u.mgr.Check(ctx, force)
	u.deferring.Add(-1)
	if u.pending.Swap(false) {
		time.AfterFunc(restartGrace, u.restartNow)
	}
	return ev
}

// Last is the most recent update event of this daemon, for the web page;
// on a nil *SelfUpdate the event says that updates are off.
func (u *SelfUpdate) Last() update.Event {
	if u == nil {
		return updatesOff()
	}
	return u.mgr.Last()
}

// History is the recorded update steps of this box, oldest first (see
// update.Layout.History); on a nil *SelfUpdate there are none.
func (u *SelfUpdate) History() ([]update.Event, error) {
	if u == nil {
		return nil, nil
	}
	return u.layout.History()
}

// restart is the Manager's Restart: at once for the periodic check, held
// back while Check (a command or the web page) still has to answer.
func (u *SelfUpdate) restart() error {
	if u.deferring.Load() > 0 {
		u.pending.Store(true)
		return nil
	}
	return u.o.Restart()
}

func (u *SelfUpdate) restartNow() {
	if err := u.o.Restart(); err != nil {
		u.g.log.Error("update: restart into the installed version", "err", err)
	}
}

// publishUpdateEvent passes an update step to the provider as the event
// update.<state> of the box itself, through the buffer so that it survives
// the restart that follows an install.
func (g *gw) publishUpdateEvent(ev update.Event) {
	g.core.Emit(context.Background(), updateEvent(ev))
}

// updateEvent renders an update step as a gateway event. A refused
// release and a rollback need a person to look (major); the rest is
// information.
func updateEvent(ev update.Event) drivers.Event {
	sev := drivers.Info
	if ev.State == update.StateRefused || ev.State == update.StateRolledBack {
		sev = drivers.Major
	}
	attrs := map[string]any{"state": ev.State}
	msg := "update " + strings.ReplaceAll(ev.State, "_", " ")
	switch {
	case ev.From != "" && ev.To != "":
		msg += ": " + ev.From + " → " + ev.To
	case ev.From != "":
		msg += ": running " + ev.From
	case ev.To != "":
		msg += ": " + ev.To
	}
	if ev.From != "" {
		attrs["from"] = ev.From
	}
	if ev.To != "" {
		attrs["to"] = ev.To
	}
	if ev.Reason != "" {
		attrs["reason"] = ev.Reason
		msg += " (" + ev.Reason + ")"
	}
	return drivers.Event{Device: gateway.SelfDevice, Type: "update." + ev.State, Severity: sev, Message: msg, Attrs: attrs}
}

// gateOnBattery holds an install back while a UPS runs on battery: a
// restart during a mains failure is the worst moment to find out that the
// new version does not come up.
func (g *gw) gateOnBattery(context.Context) (string, bool) {
	for _, a := range g.core.Alarms() {
		if a.Condition && strings.HasSuffix(a.ID, "/"+alarm.OnBattery) {
			return "UPS " + a.Device + " is on battery", true
		}
	}
	return "", false
}

// gateCriticalAlarm holds an install back while a critical alarm (say,
// the vaccine fridge too warm) is active: the box must keep watching.
func (g *gw) gateCriticalAlarm(context.Context) (string, bool) {
	for _, a := range g.core.Alarms() {
		if a.Severity == drivers.Critical {
			return "critical alarm active: " + a.ID, true
		}
	}
	return "", false
}

// updateChecks are the trial's health check: uplink connected (external:
// a broker that is down is not the release's fault), the web page
// answering (when this daemon serves it), and a durable write to the
// buffer, last, so that it happens once the rest is healthy.
func (g *gw) updateChecks(web bool) []update.Check {
	checks := []update.Check{{Name: "uplink", Fn: g.checkUplink, External: true}}
	if web && g.Config().Web.Listen != config.WebOff {
		checks = append(checks, update.Check{Name: "web", Fn: g.checkWeb})
	}
	checks = append(checks, update.Check{Name: "buffer", Fn: g.checkBuffer})
	return checks
}

func (g *gw) checkUplink(context.Context) error {
	if !g.core.Stats().Uplink.Connected {
		return errors.New("not connected to the broker")
	}
	return nil
}

// checkBuffer appends the event that the trial's health check passed and
// fails when the append does: a version that cannot write its buffer
// would lose readings, so it must not commit.
func (g *gw) checkBuffer(ctx context.Context) error {
	e := drivers.Event{Device: gateway.SelfDevice, Type: "update.health", Severity: drivers.Info,
		Message: "praxisgate " + g.version + " on trial: healthy, committing", Attrs: map[string]any{"version": g.version}}
	if err := g.core.Emit(ctx, e); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

// webCertFile is the web page's certificate in web.dir (gateway/web
// tlscert.go); the health check trusts exactly that certificate.
const webCertFile = "https.crt"

// checkWeb fetches the page from this box over loopback. Any answer below
// 500 counts: the login page answers 200 or a redirect.
func (g *gw) checkWeb(ctx context.Context) error {
	addr, err := loopbackAddr(g.Config().Web.Listen)
	if err != nil {
		return err
	}
	pem, err := os.ReadFile(filepath.Join(g.Config().Web.Dir, webCertFile))
	if err != nil {
		return fmt.Errorf("read the page's certificate: %w", err)
	}
	tc, err := pinnedTLS(pem)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("page does not answer: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("page answers %s", resp.Status)
	}
	return nil
}

// loopbackAddr turns a listen address into one to dial on this box.
func loopbackAddr(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("web.listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// pinnedTLS accepts exactly the certificate in pemBytes: the page's
// self-signed certificate names the box, not the loopback address, so
// name checks cannot apply, but nothing else may answer in its place.
func pinnedTLS(pemBytes []byte) (*tls.Config, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("the page's certificate file holds no certificate")
	}
	want := block.Bytes
	return &tls.Config{
		InsecureSkipVerify: true, // replaced by the exact comparison below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], want) {
				return errors.New("the page answered with another certificate")
			}
			return nil
		},
	}, nil
}
