// Package upshid reads a UPS over USB: the HID Power Device class that
// APC Back-UPS and Smart-UPS, Eaton, CyberPower, Legrand and most other
// UPSes sold for small offices speak. It talks to /dev/hidrawN through
// ioctls (package hidraw), parses the report descriptor (package
// hidreport) and publishes the NUT-style metrics the serial ups driver
// publishes too (battery.charge, ups.status...), so alarms work the same.
//
// The UPS needs no configuration: the driver finds it in sysfs by its
// descriptor (Power Device usage page) and follows it by serial number
// when it drops off the bus and comes back under another hidraw number,
// which many units do exactly at mains loss or mains return. Interrupt
// Input reports (AC present, discharging, below capacity limit) become
// events at once through Watch, not at the next poll.
package upshid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/ups"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidraw"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
)

// Config is the `upshid:` section of a device. Every key is optional.
type Config struct {
	// Serial picks the UPS with this USB serial number when several are
	// connected. Empty: the only UPS found, whose serial is then followed.
	Serial string `yaml:"serial"`
	// Device is a fixed hidraw node (/dev/hidraw0). It turns discovery
	// off, so it cannot follow re-enumeration; for tests and odd setups.
	Device string `yaml:"device"`
	// SysRoot and DevRoot are where discovery looks (/sys and /dev); a VM
	// test guest or a container may move them.
	SysRoot string `yaml:"sys_root"`
	DevRoot string `yaml:"dev_root"`
	// RescanEvery is how often the event watch looks for a UPS that went
	// away (default 250ms).
	RescanEvery time.Duration `yaml:"rescan_every"`
	// WearRatio raises ups.battery_worn when the runtime at the present
	// load, on mains with a full battery, falls below this share of the
	// best seen (default 0.5; 0 turns the check off).
	WearRatio *float64 `yaml:"wear_ratio"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{SysRoot: hidraw.DefaultRoots.Sys, DevRoot: hidraw.DefaultRoots.Dev, RescanEvery: 250 * time.Millisecond}
}

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "upshid",
		Kind:     "ups",
		Doc:      "UPS on USB (HID Power Device: APC, Eaton, CyberPower, Legrand...), found and followed by itself",
		Defaults: DefaultConfig,
		New: func(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
			return New(dev, cfg, log)
		},
	})
}

// Conn is an open HID device: *hidraw.Device, or a simulated one in tests.
type Conn interface {
	Descriptor() ([]byte, error)
	GetFeature(buf []byte) (int, error)
	GetInput(buf []byte) (int, error)
	SetFeature(buf []byte) error
	ReadInput(ctx context.Context, buf []byte) (int, error)
	Close() error
}

// identifier is implemented by *hidraw.Device: HIDIOCGRAWINFO,
// HIDIOCGRAWNAME and HIDIOCGRAWUNIQ.
type identifier interface {
	Info() (hidraw.RawInfo, error)
	Name() (string, error)
	Uniq() (string, error)
}

// Driver reads one USB UPS.
type Driver struct {
	cfg   Config
	dev   drivers.Device
	log   *slog.Logger
	roots hidraw.Roots
	open  func(path string) (Conn, error)
	now   func() time.Time

	mu     sync.Mutex
	conn   Conn
	node   hidraw.Node
	serial string // the unit being followed
	desc   []byte
	m      *Map
	state  *State
	prev   []string // status flags last reported (by Poll or Watch)
	test   int64    // last test result raw value, -1 unknown
	wear   wear
	// gen counts opens, so Watch notices a reconnect by Poll.
	gen int
	// sampleGap is the package's sampleGap; tests shorten it.
	sampleGap time.Duration
}

// New checks cfg; it does no I/O.
func New(dev drivers.Device, cfg Config, log *slog.Logger) (*Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if cfg.SysRoot == "" {
		cfg.SysRoot = hidraw.DefaultRoots.Sys
	}
	if cfg.DevRoot == "" {
		cfg.DevRoot = hidraw.DefaultRoots.Dev
	}
	if cfg.RescanEvery == 0 {
		cfg.RescanEvery = 250 * time.Millisecond
	}
	if cfg.RescanEvery < 10*time.Millisecond || cfg.RescanEvery > time.Minute {
		errs = append(errs, drivers.Fieldf("rescan_every", "%s is out of range (10ms...1m)", cfg.RescanEvery))
	}
	if cfg.Device != "" && !strings.HasPrefix(cfg.Device, "/") {
		errs = append(errs, drivers.Fieldf("device", "%q is not an absolute path such as /dev/hidraw0", cfg.Device))
	}
	ratio := 0.5
	if cfg.WearRatio != nil {
		ratio = *cfg.WearRatio
		if ratio < 0 || ratio >= 1 {
			errs = append(errs, drivers.Fieldf("wear_ratio", "%v is out of range (0 = off, else below 1)", ratio))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg, dev: dev, log: log, roots: hidraw.Roots{Sys: cfg.SysRoot, Dev: cfg.DevRoot},
		open: openHidraw, now: time.Now, serial: cfg.Serial, test: -1, sampleGap: sampleGap}
	d.wear = wear{ratio: ratio, dir: dev.StateDir, log: log}
	d.wear.load()
	return d, nil
}

func openHidraw(path string) (Conn, error) {
	dev, err := hidraw.Open(path)
	if err != nil {
		return nil, err
	}
	return dev, nil
}

// Candidate is a hidraw device that looks like a UPS.
type Candidate struct {
	hidraw.Node
	// Map is nil when the descriptor could not be read or parsed.
	Map *Map
	Err error
}

// Known vendor IDs of UPS makers whose units speak HID Power Device.
var knownVendors = map[uint16]string{
	0x051d: "APC", 0x0463: "Eaton", 0x0764: "CyberPower", 0x1cb0: "Legrand", 0x09ae: "Tripp Lite",
	0x06da: "Phoenixtec", 0x0d9f: "Powercom", 0x10af: "Liebert", 0x2b2d: "Riello",
}

// Find lists the UPSes sysfs shows under roots: every hidraw device whose
// descriptor declares Power Device or Battery System usages, and devices
// of a known UPS vendor whose descriptor could not be read (listed with
// Err, so the reason shows).
func Find(roots hidraw.Roots) ([]Candidate, error) {
	nodes, err := hidraw.Scan(roots)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, n := range nodes {
		c := Candidate{Node: n}
		if n.Descriptor != nil {
			d, err := hidreport.Parse(n.Descriptor)
			if err == nil {
				c.Map = NewMap(d)
				if c.Map.PowerDevice {
					out = append(out, c)
				}
				continue
			}
			c.Err = err
		} else {
			c.Err = n.Err
		}
		if _, ok := knownVendors[n.Vendor]; ok && n.Bus == 3 {
			out = append(out, c)
		}
	}
	return out, nil
}

// connectLocked finds and opens the UPS.
func (d *Driver) connectLocked() error {
	var node hidraw.Node
	if d.cfg.Device != "" {
		node = hidraw.Node{Path: d.cfg.Device, Name: d.cfg.Device}
		if nodes, err := hidraw.Scan(d.roots); err == nil {
			for _, n := range nodes {
				if n.Path == d.cfg.Device {
					node = n
				}
			}
		}
	} else {
		cands, err := Find(d.roots)
		if err != nil {
			return fmt.Errorf("upshid: %w: %w", drivers.ErrUnreachable, err)
		}
		var match []Candidate
		for _, c := range cands {
			if c.Map != nil && (d.serial == "" || c.Serial == d.serial) {
				match = append(match, c)
			}
		}
		switch {
		case len(match) == 0 && d.serial != "":
			return fmt.Errorf("upshid: %w: no USB UPS with serial %q (found %d other)", drivers.ErrUnreachable, d.serial, len(cands))
		case len(match) == 0:
			for _, c := range cands {
				if c.Err != nil {
					return fmt.Errorf("upshid: %w: %s (%s) looks like a UPS but its descriptor is unreadable: %v", drivers.ErrUnreachable, c.Path, c.ID(), c.Err)
				}
			}
			return fmt.Errorf("upshid: %w: no USB UPS found under %s", drivers.ErrUnreachable, d.roots.Sys)
		case len(match) > 1:
			var s []string
			for _, c := range match {
				s = append(s, fmt.Sprintf("%s %s serial %q", c.Path, c.ID(), c.Serial))
			}
			return fmt.Errorf("upshid: %w: %d USB UPSes found (%s); set serial to pick one", drivers.ErrProtocol, len(match), strings.Join(s, ", "))
		}
		node = match[0].Node
	}
	conn, err := d.open(node.Path)
	if err != nil {
		return fmt.Errorf("upshid: open %s: %w: %w", node.Path, drivers.ErrUnreachable, err)
	}
	if id, ok := conn.(identifier); ok {
		// A fixed device path without a sysfs entry (or an old kernel):
		// ask the node itself.
		if node.Vendor == 0 {
			if ri, err := id.Info(); err == nil {
				node.Bus, node.Vendor, node.Product = ri.Bus, ri.Vendor, ri.Product
			}
		}
		if node.HIDName == "" {
			node.HIDName, _ = id.Name()
		}
		if node.Serial == "" {
			node.Serial, _ = id.Uniq()
		}
	}
	desc, err := conn.Descriptor()
	if err != nil && node.Descriptor != nil {
		desc, err = node.Descriptor, nil
	}
	if err != nil {
		conn.Close()
		return fmt.Errorf("upshid: %s: %w: %w", node.Path, drivers.ErrUnreachable, err)
	}
	if !slices.Equal(desc, d.desc) || d.m == nil {
		p, err := hidreport.Parse(desc)
		if err != nil {
			conn.Close()
			return fmt.Errorf("upshid: %s: %w: %w", node.Path, drivers.ErrProtocol, err)
		}
		d.desc, d.m = desc, NewMap(p)
		d.state = d.m.NewState()
	}
	d.conn, d.node, d.gen = conn, node, d.gen+1
	if d.serial == "" && node.Serial != "" {
		d.serial = node.Serial
		d.log.Info("upshid: following UPS by serial", "serial", node.Serial, "node", node.Path, "id", node.ID())
	}
	d.log.Info("upshid: UPS connected", "node", node.Path, "id", node.ID(), "serial", node.Serial, "model", node.ProductName)
	return nil
}

func (d *Driver) dropLocked(why error) {
	if d.conn != nil {
		_ = d.conn.Close()
		d.log.Warn("upshid: UPS connection dropped", "node", d.node.Path, "err", why)
	}
	d.conn = nil
}

// Poll reads every Feature report holding a mapped value.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		if err := d.connectLocked(); err != nil {
			return drivers.Sample{}, err
		}
	}
	if err := d.readAllLocked(ctx); err != nil {
		d.dropLocked(err)
		return drivers.Sample{}, err
	}
	// The wear trend learns from polls only, so a burst of interrupt
	// reports does not weigh more than the steady readings; it learns
	// before the sample is made, so the ratio shown is the one judged.
	c, worn := d.wear.observe(d.state, d.state.Flags(), d.now())
	s := d.sampleLocked()
	if worn {
		s.Conditions = append(s.Conditions, c)
	}
	s.Events = append(s.Events, d.edgesLocked()...)
	return s, nil
}

// readAllLocked refreshes the state with GET_REPORT of every report that
// carries a mapped value.
func (d *Driver) readAllLocked(ctx context.Context) error {
	var problems []string
	got := 0
	for _, id := range d.m.FeatureReports() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("upshid: %w: %w", drivers.ErrUnreachable, err)
		}
		buf := make([]byte, d.m.Desc.Sizes[hidreport.Key{Type: hidreport.Feature, ID: id}])
		buf[0] = id
		n, err := d.conn.GetFeature(buf)
		if err != nil {
			return fmt.Errorf("upshid: %s: %w: %w", d.node.Path, drivers.ErrUnreachable, err)
		}
		if _, err := d.state.Update(hidreport.Feature, buf[:n]); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		got++
	}
	for _, id := range d.m.InputOnlyReports() {
		buf := make([]byte, d.m.Desc.Sizes[hidreport.Key{Type: hidreport.Input, ID: id}])
		buf[0] = id
		if n, err := d.conn.GetInput(buf); err == nil {
			if _, err := d.state.Update(hidreport.Input, buf[:n]); err == nil {
				got++
			}
		}
	}
	if got == 0 && len(problems) > 0 {
		return fmt.Errorf("upshid: %s: %w: %s", d.node.Path, drivers.ErrProtocol, strings.Join(problems, "; "))
	}
	if len(problems) > 0 {
		d.log.Debug("upshid: some reports could not be decoded", "problems", problems)
	}
	return nil
}

// identity returns device.* metrics from sysfs.
func (d *Driver) identity() []drivers.Metric {
	mfr, model := d.node.Manufacturer, d.node.ProductName
	if model == "" && d.node.HIDName != "" {
		model = d.node.HIDName
		if mfr != "" {
			model = strings.TrimSpace(strings.TrimPrefix(model, mfr))
		}
	}
	if mfr == "" {
		mfr = knownVendors[d.node.Vendor]
	}
	var fw string
	// APC puts the firmware into the product string: "Back-UPS ES 850G2 FW:938.a2 .I USB FW:a2".
	if i := strings.Index(model, " FW:"); i >= 0 {
		model, fw = strings.TrimSpace(model[:i]), strings.TrimSpace(model[i+4:])
	}
	if mfr == "CPS" {
		mfr = "CyberPower"
	}
	var out []drivers.Metric
	add := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, drivers.Text(k, v))
		}
	}
	add("device.mfr", mfr)
	add("device.model", model)
	add("device.serial", d.node.Serial)
	add("ups.firmware", fw)
	if d.node.Vendor != 0 {
		add("device.usb_id", d.node.ID())
	}
	return out
}

func (d *Driver) sampleLocked() drivers.Sample {
	now := d.now()
	s := drivers.Sample{Kind: "ups", Time: now}
	s.Metrics = append(d.identity(), d.state.Metrics()...)
	if raw, ok := d.state.Raw("battery.date"); ok {
		if t, ok := DecodeDate(raw); ok && t.Before(now) && !unsetDate(t) {
			s.Metrics = append(s.Metrics, drivers.Num("battery.age", float64(int(now.Sub(t).Hours()/24)), "d"))
		}
	}
	s.Metrics = append(s.Metrics, drivers.Text("ups.driver", "upshid"))
	flags := d.state.Flags()
	if d.state.hasFlags() {
		s.Conditions = ups.Conditions(flags)
	}
	if r, ok := d.wear.ratioNow(); ok {
		s.Metrics = append(s.Metrics, drivers.Num("battery.runtime.ratio", round(r), ""))
	}
	return s
}

// unsetDate tells a battery date that says nothing: APC Back-UPS units
// report 2001-01-01 until someone sets the battery's install date (the
// BX1600MI recording does), and no UPS battery in service dates from
// before 1995. Such a date is published as battery.date, but gives no
// battery.age, which would claim a battery decades old.
func unsetDate(t time.Time) bool {
	return t.Year() < 1995 || t.Equal(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
}

// edgesLocked returns the events since the last call: status transitions
// and a finished self-test.
func (d *Driver) edgesLocked() []drivers.Event {
	if !d.state.hasFlags() {
		return nil
	}
	flags := d.state.Flags()
	ev := ups.Transitions(d.prev, flags)
	d.prev = flags
	if raw, ok := d.state.Raw("ups.test.result"); ok {
		if d.test >= 0 && raw != d.test && raw >= 1 && raw <= 4 {
			sev := map[int64]drivers.Severity{1: drivers.Info, 2: drivers.Minor, 3: drivers.Major, 4: drivers.Minor}[raw]
			ev = append(ev, drivers.Event{Type: "ups.self_test", Severity: sev,
				Message: "UPS self-test finished: " + testResults[raw],
				Attrs:   map[string]any{"ups.test.result": testResults[raw]}})
		}
		d.test = raw
	}
	return ev
}

// Watch turns interrupt Input reports into events as they arrive, and
// reconnects to the UPS (rescanning sysfs) when it drops off the bus.
// Each event carries the status and the metrics of that moment in Attrs.
// The gateway calls WatchSamples instead.
func (d *Driver) Watch(ctx context.Context, emit func(drivers.Event)) error {
	return d.watch(ctx, emit, nil)
}

// WatchSamples is Watch for the gateway (drivers.SampleWatcher): an
// interrupt report that brings a status edge or changes the conditions
// (mains lost, battery low) becomes a complete sample at once, with the
// edges as its events, so the alarms, the buffer and the telemetry see it
// without waiting for the next poll. Reports that only move values or
// status bits of no consequence (charge, runtime, DISCHRG a moment before
// OB) become a sample too, but held for sampleHold, so the rest of a
// burst joins it, and at most one per sampleGap; the polls take the rest.
// After a reconnect the first full reading is a sample at once, so
// readings are back as soon as the UPS is.
func (d *Driver) WatchSamples(ctx context.Context, emit func(drivers.Event), sample func(drivers.Sample) error) error {
	return d.watch(ctx, emit, sample)
}

// sampleGap spaces the samples of reports of no consequence: some units
// report charge and runtime every few seconds, and their readings need
// not reach the provider more often than a poll's would. sampleHold is
// how long such a sample waits for more reports of the same burst (APC
// units carry the status bits in several reports).
const (
	sampleGap  = 10 * time.Second
	sampleHold = 100 * time.Millisecond
)

func (d *Driver) watch(ctx context.Context, emit func(drivers.Event), sample func(drivers.Sample) error) error {
	buf := make([]byte, 4096)
	// Readings go to the gateway from a goroutine of their own, through a
	// one-slot mailbox: the watch keeps reading reports while the
	// pipeline takes a reading, and a burst of reports (several status
	// bits in several reports) becomes one reading with all their events.
	// The lock is released before the hand-over: the gateway never takes
	// a pushed sample while a poll (which needs d.mu) runs.
	box := &mailbox{ready: make(chan struct{}, 1)}
	deliver := box.put
	if sample != nil {
		pctx, stop := context.WithCancel(ctx)
		pushed := make(chan struct{})
		go func() {
			defer close(pushed)
			box.run(pctx, d.now, d.sampleGap, func(s drivers.Sample) {
				if err := sample(s); err != nil && pctx.Err() == nil {
					d.log.Warn("upshid: reading from an interrupt report not taken", "err", err)
				}
			})
		}()
		defer func() { stop(); <-pushed }()
	}
	for ctx.Err() == nil {
		d.mu.Lock()
		if d.conn == nil {
			if err := d.connectLocked(); err != nil {
				d.mu.Unlock()
				d.log.Debug("upshid: watch waits for the UPS", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(d.cfg.RescanEvery):
				}
				continue
			}
			// Read everything once, so the first interrupt report
			// is judged against a full state.
			if err := d.readAllLocked(ctx); err != nil {
				d.dropLocked(err)
				d.mu.Unlock()
				continue
			}
			ev := d.edgesLocked()
			if sample == nil {
				if len(ev) > 0 {
					d.emitLocked(ev, emit)
				}
				d.mu.Unlock()
			} else {
				s := d.pushSampleLocked()
				d.mu.Unlock()
				deliver(s, ev, true)
			}
			continue
		}
		conn, gen := d.conn, d.gen
		d.mu.Unlock()

		n, err := conn.ReadInput(ctx, buf)
		if ctx.Err() != nil {
			break
		}
		d.mu.Lock()
		if err != nil {
			if d.gen == gen && d.conn != nil {
				d.dropLocked(fmt.Errorf("read input report: %w", err))
			}
			d.mu.Unlock()
			continue
		}
		if d.gen != gen {
			d.mu.Unlock()
			continue
		}
		before := d.state.Flags()
		changed, err := d.state.Update(hidreport.Input, buf[:n])
		if err != nil {
			d.log.Debug("upshid: input report not understood", "report", fmt.Sprintf("% x", buf[:n]), "err", err)
		}
		ev := d.edgesLocked()
		if sample == nil {
			if len(ev) > 0 {
				d.emitLocked(ev, emit)
			}
			d.mu.Unlock()
			continue
		}
		after := d.state.Flags()
		if len(ev) == 0 && len(changed) == 0 && slices.Equal(before, after) {
			d.mu.Unlock()
			continue
		}
		urgent := len(ev) > 0 || !slices.EqualFunc(ups.Conditions(before), ups.Conditions(after),
			func(a, b drivers.Condition) bool { return a.Name == b.Name })
		s := d.pushSampleLocked()
		d.mu.Unlock()
		deliver(s, ev, urgent)
	}
	return nil
}

// mailbox holds the newest reading not yet handed to the gateway, with
// the events of every reading it replaced. An urgent reading goes at
// once; another waits sampleHold after it was put and sampleGap after the
// last hand-over, and an urgent one put meanwhile takes it along.
type mailbox struct {
	mu     sync.Mutex
	s      *drivers.Sample
	urgent bool
	since  time.Time // when the pending reading was first put
	ready  chan struct{}
}

func (b *mailbox) put(s drivers.Sample, ev []drivers.Event, urgent bool) {
	b.mu.Lock()
	if b.s != nil {
		ev = append(b.s.Events, ev...)
	} else {
		b.since = s.Time
	}
	s.Events = ev
	b.s = &s
	b.urgent = b.urgent || urgent
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// run hands each reading to take until ctx ends.
func (b *mailbox) run(ctx context.Context, now func() time.Time, gap time.Duration, take func(drivers.Sample)) {
	var last time.Time
	for {
		b.mu.Lock()
		s, wait := b.s, time.Duration(0)
		if s != nil && !b.urgent {
			due := b.since.Add(sampleHold)
			if g := last.Add(gap); g.After(due) {
				due = g
			}
			wait = due.Sub(now())
		}
		if s != nil && wait <= 0 {
			b.s, b.urgent = nil, false
		}
		b.mu.Unlock()
		if s != nil && wait <= 0 {
			take(*s)
			last = now()
			continue
		}
		// Nothing due: wait for a reading, or for the pending one's time.
		var due <-chan time.Time
		if s != nil {
			due = time.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-b.ready:
		case <-due:
		}
	}
}

// pushSampleLocked is the sample of the present state, for WatchSamples:
// what a poll returns, without reading the UPS again.
func (d *Driver) pushSampleLocked() drivers.Sample {
	s := d.sampleLocked()
	if c, ok := d.wear.condition(); ok {
		s.Conditions = append(s.Conditions, c)
	}
	return s
}

// emitLocked sends events with the present reading attached, so a
// subscriber sees the values of the moment without waiting for a poll.
func (d *Driver) emitLocked(ev []drivers.Event, emit func(drivers.Event)) {
	s := d.sampleLocked()
	vals := map[string]any{}
	for _, m := range s.Metrics {
		vals[m.Name] = m.Value
	}
	now := d.now()
	for _, e := range ev {
		e.Device, e.Time = d.dev.ID, now
		if e.Attrs == nil {
			e.Attrs = map[string]any{}
		}
		e.Attrs["metrics"] = vals
		emit(e)
	}
}

var _ drivers.SampleWatcher = (*Driver)(nil)

// SelfTest starts the UPS battery self-test (quick, or deep when deep is
// set) by writing the Test feature. The result arrives later as an
// ups.self_test event.
func (d *Driver) SelfTest(ctx context.Context, deep bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		if err := d.connectLocked(); err != nil {
			return err
		}
	}
	b, ok := d.m.Binding("ups.test.result")
	if !ok {
		return fmt.Errorf("upshid: %w: this UPS declares no Test control", drivers.ErrProtocol)
	}
	var f *hidreport.Field
	for _, x := range b.Fields {
		if x.Type == hidreport.Feature {
			f = x
		}
	}
	if f == nil {
		return fmt.Errorf("upshid: %w: the Test control is not a Feature", drivers.ErrProtocol)
	}
	buf := make([]byte, d.m.Desc.Sizes[hidreport.Key{Type: hidreport.Feature, ID: f.ReportID}])
	buf[0] = f.ReportID
	if n, err := d.conn.GetFeature(buf); err != nil || n != len(buf) {
		return fmt.Errorf("upshid: read Test report: %w: %v", drivers.ErrUnreachable, err)
	}
	v := int64(1)
	if deep {
		v = 2
	}
	if err := d.m.Desc.SetRaw(buf, f, v); err != nil {
		return err
	}
	if err := d.conn.SetFeature(buf); err != nil {
		d.dropLocked(err)
		return fmt.Errorf("upshid: start self-test: %w: %w", drivers.ErrUnreachable, err)
	}
	d.log.Info("upshid: battery self-test started", "deep", deep)
	return nil
}

// Close releases the device.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		_ = d.conn.Close()
		d.conn = nil
	}
	return d.wear.save()
}
