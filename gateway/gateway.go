package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/clock"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
	"github.com/praxisgate/praxisgate/gateway/plausible"
	"github.com/praxisgate/praxisgate/gateway/schedule"
	"github.com/praxisgate/praxisgate/gateway/selfmon"
	"github.com/praxisgate/praxisgate/gateway/uplink"
)

// SelfDevice is the device id under which the box reports on itself.
const SelfDevice = "gateway"

// Options are the parts of a gateway that do not come from the config file.
type Options struct {
	// Version is reported in status and self-telemetry.
	Version string
	Logger  *slog.Logger
	// Clock overrides the gateway clock (tests).
	Clock *clock.Clock
}

// Gateway is one running daemon.
type Gateway struct {
	// boot is the config the daemon started with; Apply compares a saved
	// config with it to tell what waits for a restart. Everything else
	// reads live (Config).
	boot    *config.Config
	log     *slog.Logger
	version string
	started time.Time
	clock   *clock.Clock
	origin  contract.Origin

	buf    buffer.Queue
	up     *uplink.Uplink
	sched  *schedule.Scheduler
	alarms *alarm.Engine
	// devMu guards devices and inventories, which the web page's live
	// apply replaces (devices.go). inventories are the devices whose
	// driver keeps a network inventory, by id, looked up after every poll.
	devMu       sync.RWMutex
	inventories map[string]drivers.Inventorier
	cold        *coldchain.Recorder
	devices     []Device
	self        *selfmon.Monitor
	watch       *watchSet
	// lifeMu orders a live device change against shutdown: closeAll sets
	// closed under it, and applyDevices holds it throughout, so a driver
	// is never closed twice nor built after the others were closed.
	lifeMu sync.Mutex
	closed bool
	// applyMu serialises live config changes (Apply); live is the config
	// in effect: boot with the sections Apply has put into effect since.
	// It is the one config every part of the running daemon reads.
	applyMu sync.Mutex
	live    atomic.Pointer[config.Config]

	// startEvents are appended once Run starts (buffer reset, start).
	startEvents []drivers.Event

	// observers see every good sample (OnSample); set before Run.
	observers []func(drivers.Sample)
	// eventObservers see every event the gateway records (OnEvent); set
	// before Run.
	eventObservers []func(drivers.Event)
	// plaus refuses implausible readings and sensor error codes before the
	// alarm engine and the cold-chain record see them (devices as at start).
	plaus *plausible.Checker

	mu     sync.Mutex
	latest map[string]Latest
	// sources are the ids of the reading sources added by AddSource.
	sources       map[string]bool
	alarmsVersion uint64
	appendErrors  atomic.Int64
}

// Device is a configured device with its driver built.
type Device struct {
	Config config.Device
	Driver drivers.Driver
}

// Latest is the most recent result of a device, for the web page and the
// poll command.
type Latest struct {
	Sample drivers.Sample
	Err    string
	At     time.Time
}

// New builds the gateway from a loaded config: opens the buffer (moving a
// corrupt one aside), loads alarm state and builds every driver. No device
// I/O and no network happen before Run.
func New(cfg *config.Config, opts Options) (*Gateway, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	g := &Gateway{boot: cfg, log: log, version: opts.Version, latest: map[string]Latest{}}
	g.live.Store(cfg)
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("gateway: create state dir: %w", err)
	}
	g.clock = opts.Clock
	if g.clock == nil {
		g.clock = clock.New(clock.Options{StateFile: filepath.Join(cfg.StateDir, "clock"), Logger: log})
	}
	g.started = g.clock.Now().Time
	g.origin = contract.Origin{Gateway: cfg.Gateway, Boot: newBootID()}

	var err error
	// What the buffer reports on its own (evictions, damage repaired at
	// open, records lost) becomes an event of the gateway itself; the
	// buffer stores it in the same transaction as what it reports.
	notice := func(n buffer.Notice) (buffer.Record, error) {
		sev, err := drivers.ParseSeverity(n.Severity)
		if err != nil {
			sev = drivers.Major
		}
		recs := g.eventRecords(nil, []drivers.Event{{Device: SelfDevice, Type: n.Type, Severity: sev, Message: n.Message, Attrs: n.Attrs}})
		if len(recs) != 1 {
			return buffer.Record{}, fmt.Errorf("gateway: encode buffer notice %s", n.Type)
		}
		return recs[0], nil
	}
	g.plaus = plausible.New(cfg.Devices)
	if g.buf, g.startEvents, err = openBuffer(cfg.Buffer, log, notice); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			g.closeAll()
		}
	}()

	g.alarms, err = alarm.FromConfig(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.cold, err = coldchain.FromConfig(cfg, log.With("part", "coldchain"))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	devs, err := BuildDrivers(cfg, log)
	if err != nil {
		return nil, err
	}
	g.setDevices(devs)
	g.watch = &watchSet{log: log, emit: func(e drivers.Event) { g.Emit(context.Background(), e) },
		push: func(ctx context.Context, id string, s drivers.Sample) error {
			_, err := g.sched.Push(ctx, id, s)
			return err
		}}
	g.up, err = uplink.New(uplink.Options{
		Config: cfg.Uplink, Site: cfg.Site, Gateway: cfg.Gateway, Origin: g.origin,
		Version: opts.Version, Started: g.started, Now: g.clock.Now, Logger: log.With("part", "uplink"),
	}, g.buf)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.self = selfmon.New(selfmon.Sources{
		Buffer: g.buf.Stats,
		Uplink: func() selfmon.UplinkState {
			s := g.up.Stats()
			return selfmon.UplinkState{Connected: s.Connected, Reconnects: s.Reconnects, Published: s.Published, PublishRate: s.PublishRate, Inflight: s.Inflight}
		},
		ClockSynced: g.clock.Synced,
		Version:     opts.Version,
		StateDir:    cfg.StateDir,
	})
	g.sched = schedule.New(g.handle, func() time.Time { return g.clock.Now().Time }, log.With("part", "schedule"))
	for _, d := range devs {
		g.sched.Add(jobFor(d))
	}
	g.sched.Add(schedule.Job{Device: SelfDevice, Kind: "gateway", Driver: g.self, Interval: cfg.Self.Interval,
		Timeout: 10 * time.Second, Jitter: cfg.Self.Interval / 20, UnreachableAfter: 1})
	ok = true
	return g, nil
}

// openBuffer opens the durable queue. A buffer that cannot be opened is
// moved aside and replaced by an empty one, with an error event (returned
// for Run to append), rather than letting the daemon crash-loop and lose
// every new reading too. On a data partition too full to open it, the
// gateway runs on an in-memory queue (buffer.OpenInMemory) that keeps
// buffer.disk_full raised, for the same reason: exiting would be a crash
// loop that stops every alarm until someone frees space.
// notice encodes what the buffer reports on its own (evictions, damage
// repaired at open, records lost) as a record of the gateway's events.
func openBuffer(c config.Buffer, log *slog.Logger, notice func(buffer.Notice) (buffer.Record, error)) (buffer.Queue, []drivers.Event, error) {
	opts := buffer.Options{MaxBytes: int64(c.MaxBytes), MaxAge: c.MaxAge, CommitWindow: c.CommitWindow, Logger: log.With("part", "buffer"),
		NoticeRecord: notice}
	db, err := buffer.Open(c.Dir, opts)
	if err == nil {
		return db, nil, nil
	}
	if errors.Is(err, buffer.ErrDiskFull) {
		mem, merr := buffer.OpenInMemory(c.Dir, opts)
		if merr != nil {
			return nil, nil, fmt.Errorf("gateway: %w (and the in-memory fallback failed: %v)", err, merr)
		}
		log.Error("data partition too full to open the buffer: running on an in-memory buffer until restarted with free space", "err", err)
		return mem, []drivers.Event{{Device: SelfDevice, Type: "buffer.in_memory", Severity: drivers.Major,
			Message: "the data partition is too full to open the buffer: readings are kept in memory only and are lost " +
				"if the box restarts before space is freed; records already on disk are sent after a restart with free space",
			Attrs: map[string]any{"error": err.Error(), "dir": c.Dir}}}, nil
	}
	if !errors.Is(err, buffer.ErrCorrupt) {
		return nil, nil, fmt.Errorf("gateway: %w", err)
	}
	moved, merr := buffer.MoveAside(c.Dir, time.Now())
	if merr != nil {
		return nil, nil, fmt.Errorf("gateway: %w (and moving it aside failed: %v)", err, merr)
	}
	log.Error("buffer unreadable: moved aside, starting with an empty buffer", "err", err, "moved_to", moved)
	db, ferr := buffer.Open(c.Dir, opts)
	if ferr != nil {
		return nil, nil, fmt.Errorf("gateway: open fresh buffer after moving the corrupt one aside: %w", ferr)
	}
	return db, []drivers.Event{{Device: SelfDevice, Type: "buffer.reset", Severity: drivers.Major,
		Message: "the buffer directory could not be opened; it was moved aside and an empty buffer started: unsent readings may be lost",
		Attrs:   map[string]any{"error": err.Error(), "moved_to": moved}}}, nil
}

// BuildDrivers constructs the driver of every enabled device. Each device
// gets its own state directory below state_dir/devices.
func BuildDrivers(cfg *config.Config, log *slog.Logger) ([]Device, error) {
	var out []Device
	for _, dc := range cfg.Devices {
		if dc.Disabled {
			continue
		}
		f, ok := drivers.Lookup(dc.Driver)
		if !ok {
			closeDrivers(out)
			return nil, fmt.Errorf("gateway: device %s: unknown driver %q", dc.ID, dc.Driver)
		}
		dir := filepath.Join(cfg.StateDir, "devices", dc.ID)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			closeDrivers(out)
			return nil, fmt.Errorf("gateway: device %s: %w", dc.ID, err)
		}
		dcfg := dc.DriverConfig
		if dcfg == nil {
			dcfg = f.NewConfig()
		}
		d, err := f.New(drivers.Device{ID: dc.ID, Kind: dc.Kind, StateDir: dir}, dcfg, log.With("device", dc.ID, "driver", dc.Driver))
		if err != nil {
			closeDrivers(out)
			return nil, fmt.Errorf("gateway: device %s: %w", dc.ID, err)
		}
		if dc.Kind == "" {
			dc.Kind = f.Kind
		}
		out = append(out, Device{Config: dc, Driver: d})
	}
	return out, nil
}

// drainPolls bounds the wait at shutdown for polls still inside their
// drivers: the SNMP driver's longest poll (timeout × retries on every
// table) ends well within it, and systemd's stop timeout is longer.
const drainPolls = 10 * time.Second

func closeDrivers(ds []Device) {
	for _, d := range ds {
		if c, ok := d.Driver.(io.Closer); ok {
			c.Close()
		}
	}
}

func newBootID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Run runs the gateway until ctx ends, then shuts down in order.
func (g *Gateway) Run(ctx context.Context) error {
	cfg := g.Config()
	g.log.Info("gateway starting", "site", cfg.Site, "gateway", cfg.Gateway, "version", g.version,
		"devices", len(g.Devices()), "broker", cfg.Uplink.Broker, "boot", g.origin.Boot)
	if !g.clock.Synced() {
		g.log.Warn("system clock not synchronised: timestamps are estimates and marked clock=unsynced until it is")
	}
	upCtx, upCancel := context.WithCancel(context.Background())
	upDone := make(chan error, 1)
	go func() { upDone <- g.up.Run(upCtx) }()

	start := drivers.Event{Device: SelfDevice, Type: "gateway.started", Severity: drivers.Info,
		Message: fmt.Sprintf("praxisgate %s started", g.version), Attrs: map[string]any{"version": g.version, "devices": len(g.Devices())}}
	g.Emit(ctx, append(g.startEvents, start)...)
	g.publishAlarms(true)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.runTicks(ctx, TickInterval, g.alarms, g.cold)
	}()
	g.watch.start(ctx, g.Devices())
	g.sched.Run(ctx) // returns when ctx ends and the device loops have returned
	// A poll abandoned at the end may still be inside its driver (one slow
	// to notice the cancelled context): wait for it before the drivers
	// are closed, but not for ever.
	dctx, dcancel := context.WithTimeout(context.Background(), drainPolls)
	busy := g.sched.Drain(dctx)
	dcancel()
	if len(busy) > 0 {
		g.log.Warn("polls still running at shutdown; their drivers are left open", "devices", busy, "waited", drainPolls)
	}
	g.watch.wait()
	wg.Wait()

	// Give the uplink a moment to publish what the last polls produced.
	deadline := time.Now().Add(2 * time.Second)
	for g.up.Connected() && g.buf.Stats().Records > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	upCancel()
	uerr := <-upDone
	g.closeAll(busy...)
	g.log.Info("gateway stopped")
	if uerr != nil && !errors.Is(uerr, context.Canceled) {
		return fmt.Errorf("gateway: uplink: %w", uerr)
	}
	return nil
}

// closeAll closes the drivers, but not those of the devices named in
// skip (their Poll is still running), and the parts below the core.
func (g *Gateway) closeAll(skip ...string) {
	g.lifeMu.Lock()
	g.closed = true
	g.lifeMu.Unlock()
	closeDrivers(slices.DeleteFunc(slices.Clone(g.Devices()), func(d Device) bool { return slices.Contains(skip, d.Config.ID) }))
	if g.cold != nil {
		if err := g.cold.Close(); err != nil {
			g.log.Error("close cold-chain record", "err", err)
		}
	}
	if g.buf != nil {
		if err := g.buf.Close(); err != nil {
			g.log.Error("close buffer", "err", err)
		}
	}
}

// handle takes one poll result through the pipeline. It runs on the
// device's own goroutine.
func (g *Gateway) handle(r schedule.Result) {
	s := r.Sample
	// Implausible values and sensor error codes go nowhere: not to the
	// page, the alarms, the cold-chain record or the provider's telemetry;
	// a reading.invalid event says what was refused.
	var invalid []drivers.Event
	if r.Err == nil {
		s, invalid = g.plaus.Filter(s)
		// A fridge probe's calibration offset applies to the plausible
		// value; the record's own alarms (integrity, daily check,
		// calibration due) ride along as conditions of the fridge.
		s = g.cold.Calibrate(s)
		if cs := g.cold.Conditions(s.Device, s.Time); len(cs) > 0 {
			s.Conditions = append(slices.Clip(s.Conditions), cs...)
		}
	}
	l := Latest{Sample: s, At: s.Time}
	if r.Err != nil {
		l.Err = r.Err.Error()
		g.mu.Lock()
		if prev, ok := g.latest[s.Device]; ok {
			// Keep the last good readings visible, with the error.
			l.Sample = prev.Sample
		}
		g.mu.Unlock()
	}
	g.mu.Lock()
	g.latest[s.Device] = l
	g.mu.Unlock()

	alarmEvents := append(invalid, g.alarms.Observe(s, r.Err != nil)...)
	if r.Err == nil {
		g.cold.Observe(s)
		for _, f := range g.observers {
			f(s)
		}
	}
	st := contract.Stamp{Time: s.Time, Synced: g.clock.Synced()}
	recs := make([]buffer.Record, 0, 1+len(s.Events)+len(alarmEvents))
	body, err := g.origin.EncodeTelemetry(s, st)
	if err != nil {
		g.log.Error("encode telemetry", "device", s.Device, "err", err)
	} else {
		recs = append(recs, buffer.Record{Class: buffer.Telemetry, Topic: contract.TelemetryTopic(s.Device), Payload: body})
	}
	recs = g.eventRecords(recs, append(s.Events, alarmEvents...))
	g.append(context.Background(), recs)
	if len(alarmEvents) > 0 {
		g.publishAlarms(false)
	}
	if r.Err == nil {
		g.publishInventory(s.Device)
	}
}

func (g *Gateway) publishInventory(device string) {
	g.devMu.RLock()
	inv, ok := g.inventories[device]
	g.devMu.RUnlock()
	if !ok {
		return
	}
	body, err := g.origin.EncodeInventory(inv.InventoryPayload(), g.clock.Now())
	if err != nil {
		g.log.Error("encode inventory", "device", device, "err", err)
		return
	}
	g.up.SetRetained(contract.TopicInventory, body)
}

func (g *Gateway) eventRecords(recs []buffer.Record, evs []drivers.Event) []buffer.Record {
	for _, e := range evs {
		if e.Time.IsZero() {
			e.Time = g.clock.Now().Time
		}
		body, err := g.origin.EncodeEvent(e, contract.Stamp{Time: e.Time, Synced: g.clock.Synced()})
		if err != nil {
			g.log.Error("encode event", "device", e.Device, "type", e.Type, "err", err)
			continue
		}
		recs = append(recs, buffer.Record{Class: buffer.Event, Topic: contract.EventTopic(e.Device), Payload: body})
		for _, f := range g.eventObservers {
			f(e)
		}
	}
	return recs
}

// Emit appends events (of devices or of the box itself: audit records of
// the web page, update steps, config changes) to the buffer, to be
// published in order with the readings. It returns once they are on disk;
// an error means they are lost, and is also logged and counted.
func (g *Gateway) Emit(ctx context.Context, evs ...drivers.Event) error {
	return g.append(ctx, g.eventRecords(nil, evs))
}

func (g *Gateway) append(ctx context.Context, recs []buffer.Record) error {
	if len(recs) == 0 {
		return nil
	}
	err := g.buf.Append(ctx, recs)
	if err != nil {
		n := g.appendErrors.Add(1)
		g.log.Error("buffer append failed: readings lost", "records", len(recs), "failures", n, "err", err)
	}
	return err
}

// publishAlarms sends the retained active alarm set when it changed.
func (g *Gateway) publishAlarms(force bool) {
	v := g.alarms.Version()
	g.mu.Lock()
	if !force && v == g.alarmsVersion {
		g.mu.Unlock()
		return
	}
	g.alarmsVersion = v
	g.mu.Unlock()
	g.up.SetRetained(contract.TopicAlarms, g.origin.EncodeAlarms(alarm.Contract(g.alarms.Active()), g.clock.Now()))
}

// Config is the config in effect: the one the daemon started with and the
// sections Apply has put into effect since (config.Sections says which).
func (g *Gateway) Config() *config.Config { return g.live.Load() }

// Latest returns the most recent result of every device, sorted by id.
func (g *Gateway) Latest() []Latest {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Latest, 0, len(g.latest))
	for _, l := range g.latest {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Sample.Device < out[j].Sample.Device })
	return out
}

// PollNow polls one device out of schedule.
func (g *Gateway) PollNow(ctx context.Context, device string) (schedule.Result, error) {
	return g.sched.PollNow(ctx, device)
}

// AckAlarm acknowledges an active alarm and records who did it.
func (g *Gateway) AckAlarm(ctx context.Context, id, by string) error {
	return g.AckAlarmComment(ctx, id, by, "")
}

// AckAlarmComment acknowledges an active alarm with the person's comment
// (why, what was done). An alarm of a fridge also goes into the fridge's
// cold-chain record, the audit trail an inspector reads.
func (g *Gateway) AckAlarmComment(ctx context.Context, id, by, comment string) error {
	now := g.clock.Now().Time
	var a alarm.Alarm
	for _, x := range g.alarms.Active() {
		if x.ID == id {
			a = x
		}
	}
	e, err := g.alarms.AckComment(id, by, comment, now)
	if err != nil {
		return err
	}
	if _, err := g.cold.AddAck(a.Device, coldchain.Ack{At: now, User: by, Comment: comment, Alarm: id, Kind: a.Kind, Metric: a.Metric, Message: a.Message}); err != nil {
		g.log.Error("cold-chain record: acknowledgement not recorded", "alarm", id, "err", err)
	}
	g.Emit(ctx, e)
	g.publishAlarms(false)
	return nil
}

// ColdChain is the fridges' cold-chain recorder (daily checks, the
// record's state for the page).
func (g *Gateway) ColdChain() *coldchain.Recorder { return g.cold }

// Alarms returns the active alarms.
func (g *Gateway) Alarms() []alarm.Alarm { return g.alarms.Active() }

// Stats is a snapshot of the running daemon for status pages, commands
// and the self-update's health check.
type Stats struct {
	Version string
	// Origin names the box and this daemon start (the boot id).
	Origin      contract.Origin
	Started     time.Time
	ClockSynced bool
	Buffer      buffer.Stats
	Uplink      uplink.Stats
	// AppendErrors counts buffer appends that failed (readings lost).
	AppendErrors int64
}

// Stats reports the daemon, its buffer and its broker connection.
func (g *Gateway) Stats() Stats {
	return Stats{Version: g.version, Origin: g.origin, Started: g.started, ClockSynced: g.clock.Synced(),
		Buffer: g.buf.Stats(), Uplink: g.up.Stats(), AppendErrors: g.appendErrors.Load()}
}

// Now is the gateway clock: the time to stamp a message with, and whether
// the system clock is synchronised.
func (g *Gateway) Now() contract.Stamp { return g.clock.Now() }

// Uplink is the MQTT connection, for the parts that publish or subscribe
// beside the pipeline (commands and their replies).
func (g *Gateway) Uplink() *uplink.Uplink { return g.up }

// OnEvent registers f to see every event the gateway records (alarms
// raised, cleared and acknowledged, device and box events) as it goes to
// the buffer; f runs on the recording goroutine and must not block. Set
// before Run (the SMS notifier follows the alarms through it).
func (g *Gateway) OnEvent(f func(drivers.Event)) { g.eventObservers = append(g.eventObservers, f) }

// OnSample registers f to see every good sample after the pipeline took
// it, on the device's own goroutine (so f must be quick). Call it before
// Run.
func (g *Gateway) OnSample(f func(drivers.Sample)) { g.observers = append(g.observers, f) }
