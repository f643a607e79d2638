// Package handlers serves the MQTT commands of docs/commands.md on a
// running gateway: it subscribes to cmd/# through the gateway's uplink and
// answers through gateway/command (parsing, signatures, replay protection,
// replies), using the gateway's core API through Core, defined here.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/command"
	"github.com/praxisgate/praxisgate/gateway/command/configguard"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
	"github.com/praxisgate/praxisgate/gateway/logring"
	"github.com/praxisgate/praxisgate/gateway/schedule"
	"github.com/praxisgate/praxisgate/gateway/supportbundle"
	"github.com/praxisgate/praxisgate/gateway/uplink"
	"github.com/praxisgate/praxisgate/update"
)

// Core is what the commands need of the running gateway
// (*gateway.Gateway).
type Core interface {
	Config() *config.Config
	Stats() gateway.Stats
	Now() contract.Stamp
	Uplink() *uplink.Uplink
	Devices() []gateway.Device
	Sources() []string
	Latest() []gateway.Latest
	Alarms() []alarm.Alarm
	PollNow(ctx context.Context, device string) (schedule.Result, error)
	AckAlarmComment(ctx context.Context, id, by, comment string) error
	Emit(ctx context.Context, evs ...drivers.Event) error
}

// server is the handlers of one gateway.
type server struct {
	core Core
	log  *slog.Logger
}

// Options connect the command processor to what lives outside the
// gateway core: the daemon's log ring, its restart, and the config file.
type Options struct {
	// Log holds recent log lines for get-log and support-bundle; nil
	// makes get-log answer that no log is kept.
	Log *logring.Ring
	// Restart ends the daemon so that systemd starts it again (restart,
	// set-config, config revert). It must return promptly; the reply has
	// already been sent when it is called. Required.
	Restart func(reason string)
	// Guard applies set-config with confirm-or-revert; nil refuses
	// set-config (e.g. a config that did not come from a file).
	Guard *configguard.Guard
	// Pending is the change Guard.Load found at start; it is confirmed or
	// reverted once the uplink is (or is not) up, and reported.
	Pending *configguard.Pending
	// Updater runs update-check and update-install;
	// *selfupdate.SelfUpdate implements it. nil answers that updates are
	// not available.
	Updater Updater
	// Logger receives the processor's log lines; nil: slog.Default().
	Logger *slog.Logger
	// SMS sends the test message of the alarms by SMS (notify-test); the
	// wiring passes the running notifier (gateway/notify). nil answers
	// that SMS alarms are not set up on this box.
	SMS SMSTester
}

// SMSTester is what notify-test needs from the SMS notifier.
type SMSTester interface {
	// Contacts are the names of the contacts, in config order.
	Contacts() []string
	// TestSMS sends the test message to the named contact, to every
	// contact when name is empty, and reports each send.
	TestSMS(ctx context.Context, name string) []SMSTestResult
}

// SMSTestResult is the outcome of the test message to one contact, as
// notify-test replies it.
type SMSTestResult struct {
	Contact string `json:"contact"`
	OK      bool   `json:"ok"`
	// Parts is how many SMS the message took.
	Parts int    `json:"parts,omitempty"`
	Error string `json:"error,omitempty"`
}

// Updater is what the update commands need from the update machinery.
type Updater interface {
	// Peek reports whether a release is available, installing nothing.
	Peek(ctx context.Context) update.Event
	// Check installs an available release if the gates (maintenance
	// window, UPS on battery, critical alarm) allow or force is set, and
	// restarts the daemon into it.
	Check(ctx context.Context, force bool) update.Event
}

// updateInstallTimeout bounds update-install: a release is downloaded over
// the practice's line, often a slow DSL upload shared with the practice.
const updateInstallTimeout = 30 * time.Minute

// errNotInBuild answers commands whose machinery is not part of this
// build yet, distinctly from "unknown command".
func errNotInBuild(name string) error {
	return fmt.Errorf("%s is not available in this build of praxisgate", name)
}

// Start subscribes to cmd/# and serves the commands of docs/commands.md
// until ctx ends, and settles a pending config change. Call it after
// gateway.New and before or during Run; call Close on the returned
// processor after Run returned.
func Start(ctx context.Context, core Core, o Options) (*command.Processor, error) {
	if o.Restart == nil {
		return nil, errors.New("commands need a Restart function")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	g := &server{core: core, log: o.Logger}
	c := core.Config().Commands
	st, up := core.Stats(), core.Uplink()
	v, err := command.NewVerifier(command.VerifierOptions{Root: up.Root(), Keys: c.Keys, Require: c.RequireSignature,
		MaxSkew: c.MaxSkew, Now: func() time.Time { return core.Now().Time }, NotBefore: st.Started})
	if err != nil {
		return nil, fmt.Errorf("commands: %w", err)
	}
	p := command.New(command.Options{
		Handlers: g.commandHandlers(o), Publisher: up, Verifier: v, Origin: st.Origin,
		Stamp:    core.Now,
		Logger:   o.Logger.With("part", "command"),
		Timeouts: map[string]time.Duration{"update-install": updateInstallTimeout, "update-check": 5 * time.Minute},
	})
	up.Subscribe("cmd/#", p.Handle)
	if o.Guard != nil && o.Pending != nil {
		go o.Guard.Watch(ctx, o.Pending, up.Connected, g.reportConfigChange, func() { o.Restart("config change reverted") })
	}
	return p, nil
}

// reportConfigChange tells the provider how a set-config ended, through
// the buffer so that it arrives even if the reply was lost in a restart.
func (g *server) reportConfigChange(o configguard.Outcome) {
	e := drivers.Event{Device: gateway.SelfDevice, Type: "config.applied", Severity: drivers.Info,
		Message: "config pushed by command " + o.ID + " applied: the uplink came back", Attrs: map[string]any{"command_id": o.ID}}
	if !o.Applied {
		e.Type, e.Severity = "config.reverted", drivers.Major
		e.Message = "config pushed by command " + o.ID + " reverted: " + o.Reason
		e.Attrs["reason"] = o.Reason
	}
	g.core.Emit(context.Background(), e)
}

func (g *server) commandHandlers(o Options) map[string]command.Handler {
	restart := func(reason string) command.Handler {
		return func(_ context.Context, r command.Request) (any, error) {
			var a struct {
				Reason string `json:"reason"`
			}
			if err := command.DecodeArgs(r.Args, &a); err != nil {
				return nil, err
			}
			g.log.Warn("restart requested by command", "id", r.ID, "reason", a.Reason)
			return command.Then{Result: map[string]any{"restarting": true}, After: func() { o.Restart(reason) }}, nil
		}
	}
	hs := map[string]command.Handler{
		"ping":             g.cmdPing,
		"poll-now":         g.cmdPollNow,
		"discover-now":     g.cmdDiscoverNow,
		"ack-alarm":        g.cmdAckAlarm,
		"get-config":       g.cmdGetConfig,
		"set-config":       g.cmdSetConfig(o),
		"get-log":          cmdGetLog(o.Log),
		"support-bundle":   g.cmdSupportBundle(o.Log),
		"restart":          restart("restart command"),
		"update-check":     cmdUpdateCheck(o.Updater),
		"update-install":   cmdUpdateInstall(o.Updater),
		"ups-selftest":     g.cmdUPSSelfTest,
		"notify-test":      g.cmdNotifyTest(o.SMS),
		"coldchain-verify": g.cmdColdChainVerify,
	}
	hs["coldchain-report"] = g.cmdColdChainReport
	return hs
}

// cmdUPSSelfTest starts a UPS's battery self-test. It is signed by
// default: a test takes the load onto the battery for a while.
func (g *server) cmdUPSSelfTest(ctx context.Context, r command.Request) (any, error) {
	var a struct {
		Device string `json:"device"`
		Deep   bool   `json:"deep"`
	}
	if err := command.DecodeArgs(r.Args, &a); err != nil {
		return nil, err
	}
	d, ok := g.deviceByID(a.Device)
	if !ok || a.Device == gateway.SelfDevice {
		return nil, command.BadArgs(fmt.Sprintf("args.device: unknown device %q", a.Device))
	}
	st, ok := d.Driver.(drivers.SelfTester)
	if !ok {
		return nil, command.BadArgs(fmt.Sprintf("args.device: %q (driver %s) cannot start a battery self-test", a.Device, d.Config.Driver))
	}
	if err := st.SelfTest(ctx, a.Deep); err != nil {
		return nil, fmt.Errorf("self-test of %s: %w", a.Device, err)
	}
	g.log.Info("UPS self-test started by command", "id", r.ID, "device", a.Device, "deep", a.Deep)
	return map[string]any{"started": true, "device": a.Device, "deep": a.Deep}, nil
}

// cmdNotifyTest sends the SMS test message to a contact (every contact
// without args.contact) and replies with the result of each send. It is
// signed by default: every SMS costs money and spends the hourly budget
// that alarms need. A send that failed makes the reply an error naming
// each contact's failure, so the provider's tooling cannot take it for a
// working alarm path.
func (g *server) cmdNotifyTest(sms SMSTester) command.Handler {
	return func(ctx context.Context, r command.Request) (any, error) {
		var a struct {
			Contact string `json:"contact"`
		}
		if err := command.DecodeArgs(r.Args, &a); err != nil {
			return nil, err
		}
		if sms == nil {
			return nil, errors.New("notify-test: alarms by SMS are not set up on this box (no notify section in the config)")
		}
		if a.Contact != "" && !slices.Contains(sms.Contacts(), a.Contact) {
			return nil, command.BadArgs(fmt.Sprintf("args.contact: unknown contact %q (contacts: %s)", a.Contact, strings.Join(sms.Contacts(), ", ")))
		}
		res := sms.TestSMS(ctx, a.Contact)
		var failed, sent []string
		for _, t := range res {
			if t.OK {
				sent = append(sent, t.Contact)
			} else {
				failed = append(failed, t.Contact+": "+t.Error)
			}
		}
		g.log.Info("SMS test message sent by command", "id", r.ID, "contact", a.Contact, "sent", len(sent), "failed", len(failed))
		if len(failed) > 0 {
			msg := "notify-test: the test SMS failed for " + strings.Join(failed, "; ")
			if len(sent) > 0 {
				msg += " (sent to " + strings.Join(sent, ", ") + ")"
			}
			return nil, errors.New(msg)
		}
		return map[string]any{"sent": len(sent), "results": res}, nil
	}
}

func (g *server) cmdPing(_ context.Context, r command.Request) (any, error) {
	if err := command.DecodeArgs(r.Args, &struct{}{}); err != nil {
		return nil, err
	}
	now, st := g.core.Now(), g.core.Stats()
	return map[string]any{"pong": true, "version": st.Version, "boot": st.Origin.Boot,
		"uptime_s": int64(now.Time.Sub(st.Started).Seconds()), "clock_synced": now.Synced,
		"buffer_records": st.Buffer.Records}, nil
}

// pollResult is one device's answer to poll-now.
type pollResult struct {
	Device     string                `json:"device"`
	OK         bool                  `json:"ok"`
	Error      string                `json:"error,omitempty"`
	DurationMS int64                 `json:"duration_ms"`
	Metrics    []contract.MetricJSON `json:"metrics,omitempty"`
}

func (g *server) cmdPollNow(ctx context.Context, r command.Request) (any, error) {
	var a struct {
		Device string `json:"device"`
	}
	if err := command.DecodeArgs(r.Args, &a); err != nil {
		return nil, err
	}
	ids := []string{a.Device}
	if a.Device == "" {
		// Every device, the box itself and the reading sources wired in
		// beside the devices (the SMS modem).
		ids = append(g.deviceIDs(func(gateway.Device) bool { return true }), gateway.SelfDevice)
		ids = append(ids, g.core.Sources()...)
	}
	return g.pollDevices(ctx, ids)
}

// cmdDiscoverNow runs a sweep of every discovery device now; the
// inventory is published retained as after any sweep. The reply also
// lists what is plugged into the box itself (a USB UPS), which no network
// sweep can see, so the provider learns of a UPS nobody adopted yet.
func (g *server) cmdDiscoverNow(ctx context.Context, r command.Request) (any, error) {
	if err := command.DecodeArgs(r.Args, &struct{}{}); err != nil {
		return nil, err
	}
	attached, ferr := config.FindAttached(g.core.Config())
	if ferr != nil {
		g.log.Warn("discover-now: looking for devices attached to the box", "err", ferr)
	}
	ids := g.deviceIDs(func(d gateway.Device) bool { _, ok := d.Driver.(drivers.Inventorier); return ok })
	if len(ids) == 0 && len(attached) == 0 {
		return nil, errors.New("no discovery device is configured on this box, and nothing is plugged into it")
	}
	res := map[string]any{"polled": 0, "results": []pollResult{}}
	if len(ids) > 0 {
		polled, err := g.pollDevices(ctx, ids)
		if err != nil {
			return nil, err
		}
		res = polled.(map[string]any)
	}
	res["attached"] = drivers.Reports(attached)
	return res, nil
}

// deviceByID finds a configured device; the box itself counts as one.
func (g *server) deviceByID(id string) (gateway.Device, bool) {
	if id == gateway.SelfDevice {
		return gateway.Device{}, true
	}
	for _, d := range g.core.Devices() {
		if d.Config.ID == id {
			return d, true
		}
	}
	return gateway.Device{}, false
}

func (g *server) deviceIDs(keep func(gateway.Device) bool) []string {
	var ids []string
	for _, d := range g.core.Devices() {
		if keep(d) {
			ids = append(ids, d.Config.ID)
		}
	}
	return ids
}

// pollDevices polls devices at once (each device is still never polled
// twice concurrently: the scheduler serialises). Results go through the
// pipeline as any poll's do.
func (g *server) pollDevices(ctx context.Context, ids []string) (any, error) {
	if len(ids) == 1 {
		if _, ok := g.deviceByID(ids[0]); !ok && !slices.Contains(g.core.Sources(), ids[0]) {
			return nil, command.BadArgs(fmt.Sprintf("args.device: unknown device %q", ids[0]))
		}
	}
	out := make([]pollResult, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := g.core.PollNow(ctx, id)
			pr := pollResult{Device: id, DurationMS: res.Duration.Milliseconds()}
			switch {
			case err != nil:
				pr.Error = err.Error()
			case res.Err != nil:
				pr.Error = res.Err.Error()
			default:
				pr.OK = true
				for _, m := range res.Sample.Metrics {
					pr.Metrics = append(pr.Metrics, contract.MetricJSON{Name: m.Name, Value: m.Value, Unit: m.Unit})
				}
			}
			out[i] = pr
		}()
	}
	wg.Wait()
	return map[string]any{"polled": len(ids), "results": out}, nil
}

func (g *server) cmdAckAlarm(ctx context.Context, r command.Request) (any, error) {
	var a struct {
		Alarm   string `json:"alarm"`
		By      string `json:"by"`
		Comment string `json:"comment"`
	}
	if err := command.DecodeArgs(r.Args, &a); err != nil {
		return nil, err
	}
	if a.Alarm == "" {
		return nil, command.BadArgs("args.alarm: required (the id of an active alarm)")
	}
	if a.By == "" {
		a.By = "provider"
	}
	if len(a.By) > 64 {
		return nil, command.BadArgs("args.by: at most 64 characters")
	}
	if _, err := coldchain.CleanText(a.By, coldchain.MaxUserLen, false); err != nil {
		return nil, command.BadArgs(fmt.Sprintf("args.by: %v", err))
	}
	// The comment goes into a fridge's cold-chain record as typed there.
	comment, err := coldchain.CleanText(a.Comment, coldchain.MaxCommentLen, true)
	if err != nil {
		return nil, command.BadArgs(fmt.Sprintf("args.comment: %v", err))
	}
	if err := g.core.AckAlarmComment(ctx, a.Alarm, a.By, comment); err != nil {
		if errors.Is(err, alarm.ErrNoAlarm) {
			return nil, fmt.Errorf("no active alarm %q", a.Alarm)
		}
		return nil, err
	}
	res := map[string]any{"acked": a.Alarm, "by": a.By}
	if comment != "" {
		res["comment"] = comment
	}
	return res, nil
}

// redactedConfig is the config file as on disk with every secret replaced.
func (g *server) redactedConfig() ([]byte, error) {
	path := g.core.Config().Path
	if path == "" {
		return nil, errors.New("the running config did not come from a file")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return configguard.RedactYAML(raw)
}

func (g *server) cmdGetConfig(_ context.Context, r command.Request) (any, error) {
	if err := command.DecodeArgs(r.Args, &struct{}{}); err != nil {
		return nil, err
	}
	y, err := g.redactedConfig()
	if err != nil {
		return nil, err
	}
	return map[string]any{"path": g.core.Config().Path, "yaml": string(y)}, nil
}

func (g *server) cmdSetConfig(o Options) command.Handler {
	return func(_ context.Context, r command.Request) (any, error) {
		var a struct {
			YAML string `json:"yaml"`
		}
		if err := command.DecodeArgs(r.Args, &a); err != nil {
			return nil, err
		}
		if a.YAML == "" {
			return nil, command.BadArgs("args.yaml: required (the whole config file)")
		}
		if o.Guard == nil {
			return nil, errNotInBuild("set-config")
		}
		timeout := g.core.Config().Commands.ConfirmTimeout
		if err := o.Guard.Stage(r.ID, []byte(a.YAML), timeout); err != nil {
			return nil, err
		}
		return command.Then{
			Result: map[string]any{"state": "restarting", "confirm_timeout_s": int64(timeout.Seconds())},
			After:  func() { o.Restart("set-config " + r.ID) },
		}, nil
	}
}

const (
	defaultLogLines = 200
	maxLogLines     = 2000
)

func cmdGetLog(ring *logring.Ring) command.Handler {
	return func(_ context.Context, r command.Request) (any, error) {
		var a struct {
			Lines int `json:"lines"`
		}
		if err := command.DecodeArgs(r.Args, &a); err != nil {
			return nil, err
		}
		if a.Lines < 0 || a.Lines > maxLogLines {
			return nil, command.BadArgs(fmt.Sprintf("args.lines: want 1-%d", maxLogLines))
		}
		if a.Lines == 0 {
			a.Lines = defaultLogLines
		}
		if ring == nil {
			return nil, errors.New("this daemon keeps no log lines in memory")
		}
		return map[string]any{"lines": ring.Lines(a.Lines)}, nil
	}
}

func (g *server) cmdSupportBundle(ring *logring.Ring) command.Handler {
	return func(_ context.Context, r command.Request) (any, error) {
		if err := command.DecodeArgs(r.Args, &struct{}{}); err != nil {
			return nil, err
		}
		var lines []string
		if ring != nil {
			lines = ring.Lines(maxLogLines)
		}
		y, cerr := g.redactedConfig()
		data, err := supportbundle.Build(g.core, y, cerr, lines)
		if err != nil {
			return nil, err
		}
		return command.Chunked{Encoding: "json+gzip", Data: data}, nil
	}
}

// updateReply turns the update machinery's last event into a reply: a
// refused or failed update is an error; deferred, up to date, available
// and installed are results the provider acts on.
func updateReply(ev update.Event) (any, error) {
	switch ev.State {
	case update.StateFailed, update.StateRefused:
		return nil, fmt.Errorf("update %s: %s", ev.State, ev.Reason)
	}
	return ev, nil
}

func cmdUpdateCheck(u Updater) command.Handler {
	return func(ctx context.Context, r command.Request) (any, error) {
		if err := command.DecodeArgs(r.Args, &struct{}{}); err != nil {
			return nil, err
		}
		if u == nil {
			return nil, errNotInBuild(r.Name)
		}
		return updateReply(u.Peek(ctx))
	}
}

func cmdUpdateInstall(u Updater) command.Handler {
	return func(ctx context.Context, r command.Request) (any, error) {
		var a struct {
			// Force skips the maintenance window, UPS and alarm gates,
			// never the signature, hash or downgrade checks.
			Force bool `json:"force"`
		}
		if err := command.DecodeArgs(r.Args, &a); err != nil {
			return nil, err
		}
		if u == nil {
			return nil, errNotInBuild(r.Name)
		}
		return updateReply(u.Check(ctx, a.Force))
	}
}
