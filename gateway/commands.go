package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/command"
	"github.com/praxisgate/praxisgate/gateway/command/configguard"
	"github.com/praxisgate/praxisgate/gateway/contract"
	"github.com/praxisgate/praxisgate/gateway/logring"
	"github.com/praxisgate/praxisgate/gateway/uplink"
	"github.com/praxisgate/praxisgate/update"
)

// CommandOptions connect the command processor to what lives outside the
// Gateway: the daemon's log ring, its restart, and the config file.
type CommandOptions struct {
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
	// Updater runs update-check and update-install; *update.Manager
	// implements it. nil answers that updates are not available.
	Updater Updater
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

// StartCommands subscribes to cmd/# and serves the commands of
// docs/commands.md until ctx ends, and settles a pending config change.
// Call it after New and before or during Run; call Close on the returned
// processor after Run returned.
func (g *Gateway) StartCommands(ctx context.Context, o CommandOptions) (*command.Processor, error) {
	if o.Restart == nil {
		return nil, errors.New("gateway: commands need a Restart function")
	}
	c := g.Config().Commands
	v, err := command.NewVerifier(command.VerifierOptions{Root: g.up.Root(), Keys: c.Keys, Require: c.RequireSignature,
		MaxSkew: c.MaxSkew, Now: func() time.Time { return g.clock.Now().Time }, NotBefore: g.started})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	p := command.New(command.Options{
		Handlers: g.commandHandlers(o), Publisher: g.up, Verifier: v, Origin: g.origin,
		Stamp:    func() contract.Stamp { return g.clock.Now() },
		Logger:   g.log.With("part", "command"),
		Timeouts: map[string]time.Duration{"update-install": updateInstallTimeout, "update-check": 5 * time.Minute},
	})
	g.up.Subscribe("cmd/#", p.Handle)
	if o.Guard != nil && o.Pending != nil {
		go o.Guard.Watch(ctx, o.Pending, g.up.Connected, g.reportConfigChange, func() { o.Restart("config change reverted") })
	}
	return p, nil
}

// reportConfigChange tells the provider how a set-config ended, through
// the buffer so that it arrives even if the reply was lost in a restart.
func (g *Gateway) reportConfigChange(o configguard.Outcome) {
	e := drivers.Event{Device: SelfDevice, Type: "config.applied", Severity: drivers.Info,
		Message: "config pushed by command " + o.ID + " applied: the uplink came back", Attrs: map[string]any{"command_id": o.ID}}
	if !o.Applied {
		e.Type, e.Severity = "config.reverted", drivers.Major
		e.Message = "config pushed by command " + o.ID + " reverted: " + o.Reason
		e.Attrs["reason"] = o.Reason
	}
	g.appendEvents(context.Background(), []drivers.Event{e})
}

func (g *Gateway) commandHandlers(o CommandOptions) map[string]command.Handler {
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
	return map[string]command.Handler{
		"ping":           g.cmdPing,
		"poll-now":       g.cmdPollNow,
		"discover-now":   g.cmdDiscoverNow,
		"ack-alarm":      g.cmdAckAlarm,
		"get-config":     g.cmdGetConfig,
		"set-config":     g.cmdSetConfig(o),
		"get-log":        cmdGetLog(o.Log),
		"support-bundle": g.cmdSupportBundle(o.Log),
		"restart":        restart("restart command"),
		"update-check":   cmdUpdateCheck(o.Updater),
		"update-install": cmdUpdateInstall(o.Updater),
	}
}

func (g *Gateway) cmdPing(_ context.Context, r command.Request) (any, error) {
	if err := command.DecodeArgs(r.Args, &struct{}{}); err != nil {
		return nil, err
	}
	now := g.clock.Now()
	return map[string]any{"pong": true, "version": g.version, "boot": g.origin.Boot,
		"uptime_s": int64(now.Time.Sub(g.started).Seconds()), "clock_synced": now.Synced,
		"buffer_records": g.buf.Stats().Records}, nil
}

// pollResult is one device's answer to poll-now.
type pollResult struct {
	Device     string                `json:"device"`
	OK         bool                  `json:"ok"`
	Error      string                `json:"error,omitempty"`
	DurationMS int64                 `json:"duration_ms"`
	Metrics    []contract.MetricJSON `json:"metrics,omitempty"`
}

func (g *Gateway) cmdPollNow(ctx context.Context, r command.Request) (any, error) {
	var a struct {
		Device string `json:"device"`
	}
	if err := command.DecodeArgs(r.Args, &a); err != nil {
		return nil, err
	}
	ids := []string{a.Device}
	if a.Device == "" {
		ids = append(g.deviceIDs(func(Device) bool { return true }), SelfDevice)
	}
	return g.pollDevices(ctx, ids)
}

// cmdDiscoverNow runs a sweep of every discovery device now; the
// inventory is published retained as after any sweep.
func (g *Gateway) cmdDiscoverNow(ctx context.Context, r command.Request) (any, error) {
	if err := command.DecodeArgs(r.Args, &struct{}{}); err != nil {
		return nil, err
	}
	ids := g.deviceIDs(func(d Device) bool { _, ok := d.Driver.(drivers.Inventorier); return ok })
	if len(ids) == 0 {
		return nil, errors.New("no discovery device is configured on this box")
	}
	return g.pollDevices(ctx, ids)
}

// deviceByID finds a configured device; the box itself counts as one.
func (g *Gateway) deviceByID(id string) (Device, bool) {
	if id == SelfDevice {
		return Device{}, true
	}
	for _, d := range g.deviceList() {
		if d.Config.ID == id {
			return d, true
		}
	}
	return Device{}, false
}

func (g *Gateway) deviceIDs(keep func(Device) bool) []string {
	var ids []string
	for _, d := range g.deviceList() {
		if keep(d) {
			ids = append(ids, d.Config.ID)
		}
	}
	return ids
}

// pollDevices polls devices at once (each device is still never polled
// twice concurrently: the scheduler serialises). Results go through the
// pipeline as any poll's do.
func (g *Gateway) pollDevices(ctx context.Context, ids []string) (any, error) {
	if len(ids) == 1 {
		if _, ok := g.deviceByID(ids[0]); !ok {
			return nil, command.BadArgs(fmt.Sprintf("args.device: unknown device %q", ids[0]))
		}
	}
	out := make([]pollResult, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := g.PollNow(ctx, id)
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

func (g *Gateway) cmdAckAlarm(ctx context.Context, r command.Request) (any, error) {
	var a struct {
		Alarm string `json:"alarm"`
		By    string `json:"by"`
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
	if err := g.AckAlarm(ctx, a.Alarm, a.By); err != nil {
		if errors.Is(err, alarm.ErrNoAlarm) {
			return nil, fmt.Errorf("no active alarm %q", a.Alarm)
		}
		return nil, err
	}
	return map[string]any{"acked": a.Alarm, "by": a.By}, nil
}

// redactedConfig is the config file as on disk with every secret replaced.
func (g *Gateway) redactedConfig() ([]byte, error) {
	if g.Config().Path == "" {
		return nil, errors.New("the running config did not come from a file")
	}
	raw, err := os.ReadFile(g.Config().Path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return configguard.RedactYAML(raw)
}

func (g *Gateway) cmdGetConfig(_ context.Context, r command.Request) (any, error) {
	if err := command.DecodeArgs(r.Args, &struct{}{}); err != nil {
		return nil, err
	}
	y, err := g.redactedConfig()
	if err != nil {
		return nil, err
	}
	return map[string]any{"path": g.Config().Path, "yaml": string(y)}, nil
}

func (g *Gateway) cmdSetConfig(o CommandOptions) command.Handler {
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
		timeout := g.Config().Commands.ConfirmTimeout
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

// supportBundle is what a support case needs, without secrets: the config
// is redacted, log lines carry redacted secrets already.
type supportBundle struct {
	Generated   string         `json:"generated"`
	Version     string         `json:"version"`
	Boot        string         `json:"boot"`
	Site        string         `json:"site"`
	Gateway     string         `json:"gateway"`
	Started     string         `json:"started"`
	ClockSynced bool           `json:"clock_synced"`
	Config      string         `json:"config,omitempty"`
	ConfigError string         `json:"config_error,omitempty"`
	Buffer      buffer.Stats   `json:"buffer"`
	Uplink      uplink.Stats   `json:"uplink"`
	Alarms      []alarm.Alarm  `json:"alarms"`
	Devices     []bundleDevice `json:"devices"`
	Log         []string       `json:"log,omitempty"`
	Runtime     map[string]any `json:"runtime"`
}

type bundleDevice struct {
	Device  string                `json:"device"`
	At      string                `json:"at"`
	Error   string                `json:"error,omitempty"`
	Metrics []contract.MetricJSON `json:"metrics"`
}

func (g *Gateway) cmdSupportBundle(ring *logring.Ring) command.Handler {
	return func(_ context.Context, r command.Request) (any, error) {
		if err := command.DecodeArgs(r.Args, &struct{}{}); err != nil {
			return nil, err
		}
		now := g.clock.Now()
		b := supportBundle{Generated: contract.FormatTime(now.Time), Version: g.version, Boot: g.origin.Boot,
			Site: g.Config().Site, Gateway: g.Config().Gateway, Started: contract.FormatTime(g.started), ClockSynced: now.Synced,
			Buffer: g.buf.Stats(), Uplink: g.up.Stats(), Alarms: g.alarms.Active()}
		if y, err := g.redactedConfig(); err != nil {
			b.ConfigError = err.Error()
		} else {
			b.Config = string(y)
		}
		for _, l := range g.Latest() {
			d := bundleDevice{Device: l.Sample.Device, At: contract.FormatTime(l.At), Error: l.Err}
			for _, m := range l.Sample.Metrics {
				d.Metrics = append(d.Metrics, contract.MetricJSON{Name: m.Name, Value: m.Value, Unit: m.Unit})
			}
			b.Devices = append(b.Devices, d)
		}
		if ring != nil {
			b.Log = ring.Lines(maxLogLines)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.Runtime = map[string]any{"go": runtime.Version(), "goroutines": runtime.NumGoroutine(), "heap_bytes": ms.HeapAlloc, "os": runtime.GOOS, "arch": runtime.GOARCH}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if err := json.NewEncoder(zw).Encode(b); err != nil {
			return nil, fmt.Errorf("encode bundle: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("compress bundle: %w", err)
		}
		return command.Chunked{Encoding: "json+gzip", Data: buf.Bytes()}, nil
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
