package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/schedule"
)

// The running device list (g.devices, g.inventories) is replaced as a
// whole under g.devMu when the web page changes devices, never modified
// in place, so a reader may keep and range over what it got without the
// lock.

// Devices returns the devices that run now (disabled ones are not
// built). The list is never modified in place; callers may keep it.
func (g *Gateway) Devices() []Device {
	g.devMu.RLock()
	defer g.devMu.RUnlock()
	return g.devices
}

// setDevices makes devs the running device list.
func (g *Gateway) setDevices(devs []Device) {
	invs := map[string]drivers.Inventorier{}
	for _, d := range devs {
		if inv, ok := d.Driver.(drivers.Inventorier); ok {
			invs[d.Config.ID] = inv
		}
	}
	g.devMu.Lock()
	g.devices, g.inventories = devs, invs
	g.devMu.Unlock()
}

// jobFor is the scheduler job of a device, the same at start and when the
// device is added later.
func jobFor(d Device) schedule.Job {
	jitter := d.Config.Interval / 10
	if d.Config.Jitter != nil {
		jitter = *d.Config.Jitter
	}
	return schedule.Job{Device: d.Config.ID, Kind: d.Config.Kind, Driver: d.Driver, Interval: d.Config.Interval,
		Timeout: d.Config.Timeout, Jitter: jitter, UnreachableAfter: d.Config.UnreachableAfter}
}

// watchSet runs the Watch of every device driver that has one (SNMP traps,
// ARP changes), each under its own context so that one device can stop
// without the others. A drivers.SampleWatcher's readings go to push (the
// scheduler, which hands them to the pipeline between the device's polls).
type watchSet struct {
	log  *slog.Logger
	emit func(drivers.Event)
	push func(ctx context.Context, device string, s drivers.Sample) error

	mu sync.Mutex
	// ctx is Run's context while Run runs; a watch started later runs
	// under it too.
	ctx   context.Context
	wg    sync.WaitGroup
	byDev map[string]*watchRun
}

type watchRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// start starts the watches of devs; Run calls it.
func (w *watchSet) start(ctx context.Context, devs []Device) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ctx = ctx
	w.byDev = map[string]*watchRun{}
	for _, d := range devs {
		w.startLocked(d)
	}
}

// wait returns when every watch has ended; Run calls it after its
// context ended. No watch starts after it was called.
func (w *watchSet) wait() {
	w.mu.Lock()
	w.ctx = nil
	w.mu.Unlock()
	w.wg.Wait()
}

// add starts a device's watch if its driver has one and Run runs.
func (w *watchSet) add(d Device) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.startLocked(d)
}

func (w *watchSet) startLocked(d Device) {
	wr, ok := d.Driver.(drivers.Watcher)
	if !ok || w.ctx == nil || w.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(w.ctx)
	run := &watchRun{cancel: cancel, done: make(chan struct{})}
	w.byDev[d.Config.ID] = run
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer close(run.done)
		defer cancel()
		emit := func(e drivers.Event) {
			if e.Device == "" {
				e.Device = d.Config.ID
			}
			w.emit(e)
		}
		var err error
		if sw, ok := wr.(drivers.SampleWatcher); ok && w.push != nil {
			err = sw.WatchSamples(ctx, emit, func(s drivers.Sample) error { return w.push(ctx, d.Config.ID, s) })
		} else {
			err = wr.Watch(ctx, emit)
		}
		if err != nil && ctx.Err() == nil {
			w.log.Error("watch ended", "device", d.Config.ID, "err", err)
		}
	}()
}

// stop ends a device's watch and waits for it, or until ctx ends.
func (w *watchSet) stop(ctx context.Context, id string) error {
	w.mu.Lock()
	run, ok := w.byDev[id]
	delete(w.byDev, id)
	w.mu.Unlock()
	if !ok {
		return nil
	}
	run.cancel()
	select {
	case <-run.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop watch of %s: %w", id, ctx.Err())
	}
}

// deviceStopWait bounds how long applying devices waits for a removed
// device's poll and watch to return before it gives up closing its
// driver.
const deviceStopWait = 15 * time.Second

// deviceApply is what applyDevices did.
type deviceApply struct {
	// Added, Changed and Stopped (removed or disabled) device ids.
	Added, Changed, Stopped []string
	// Held are devices whose change waits for a restart: a discovery
	// device's sweep settings (its inventory lives in the running driver),
	// or a device whose new driver could not be built.
	Held []string
	// Lists are discovery devices whose adopted or known_macs lists were
	// handed to the running driver (its inventory and the next sweep's
	// device.unknown events follow them at once).
	Lists []string
}

// applyDevices brings the running devices in line with next's devices:
// new and re-enabled ones are built (BuildDrivers, each with its state
// directory) and scheduled at once, removed and disabled ones stop
// polling and watching before their driver is closed, and a changed one
// is stopped and built anew. The alarm engine learns the new list, which
// clears the alarms of devices that are gone. Callers serialise it.
func (g *Gateway) applyDevices(ctx context.Context, next *config.Config) deviceApply {
	var res deviceApply
	g.lifeMu.Lock()
	defer g.lifeMu.Unlock()
	cur := g.Devices()
	if g.closed {
		// Shutting down: the drivers are closed or being closed, and the
		// saved file takes effect at the next start.
		for _, dc := range next.Devices {
			res.Held = append(res.Held, dc.ID)
		}
		return res
	}
	curBy := make(map[string]Device, len(cur))
	for _, d := range cur {
		curBy[d.Config.ID] = d
	}
	want := map[string]config.Device{}
	for _, dc := range next.Devices {
		if !dc.Disabled {
			want[dc.ID] = dc
		}
	}

	keep := map[string]bool{}
	var stop []Device
	var build []config.Device
	for _, d := range cur {
		w, ok := want[d.Config.ID]
		switch {
		case !ok:
			stop = append(stop, d)
			res.Stopped = append(res.Stopped, d.Config.ID)
		case sameDevice(d.Config, w):
			keep[d.Config.ID] = true
		case hasHostLists(d.Config) && hasHostLists(w):
			keep[d.Config.ID] = true
			if !sameDevice(withoutLists(d.Config), withoutLists(w)) {
				res.Held = append(res.Held, d.Config.ID)
				break
			}
			// Only the adopted/known lists changed: the running sweep
			// keeps its inventory and judges by the new lists.
			ls, ok := d.Driver.(drivers.ListSetter)
			known, adopted := w.DriverConfig.(drivers.HostListConfig).HostLists()
			if !ok {
				res.Held = append(res.Held, d.Config.ID)
			} else if err := ls.SetLists(known, adopted); err != nil {
				g.log.Error("discovery lists not applied; they wait for the restart", "device", d.Config.ID, "err", err)
				res.Held = append(res.Held, d.Config.ID)
			} else {
				d.Config = w
				curBy[d.Config.ID] = d
				res.Lists = append(res.Lists, d.Config.ID)
			}
		default:
			stop = append(stop, d)
			build = append(build, w)
			res.Changed = append(res.Changed, d.Config.ID)
		}
	}
	for _, dc := range next.Devices {
		if _, running := curBy[dc.ID]; !dc.Disabled && !running {
			if g.isSource(dc.ID) {
				// A feature's source (the SMS modem) has the id; the
				// scheduler cannot run two jobs of one device.
				g.log.Error("device not added: its id belongs to a reading source of the box", "device", dc.ID)
				res.Held = append(res.Held, dc.ID)
				continue
			}
			build = append(build, dc)
			res.Added = append(res.Added, dc.ID)
		}
	}
	if len(stop) == 0 && len(build) == 0 && len(res.Lists) == 0 {
		g.setAlarmDevices(ctx, next)
		return res
	}

	for _, d := range stop {
		g.stopDevice(ctx, d)
	}
	built := map[string]Device{}
	for _, dc := range build {
		one := *next
		one.Devices = []config.Device{dc}
		ds, err := BuildDrivers(&one, g.log)
		if err != nil {
			g.log.Error("device not started; it waits for the restart", "device", dc.ID, "err", err)
			res.Held = append(res.Held, dc.ID)
			continue
		}
		built[dc.ID] = ds[0]
	}

	var list []Device
	for _, dc := range next.Devices {
		switch {
		case keep[dc.ID]:
			list = append(list, curBy[dc.ID])
		case built[dc.ID].Driver != nil:
			list = append(list, built[dc.ID])
		}
	}
	g.setDevices(list)
	g.mu.Lock()
	for _, d := range stop {
		if built[d.Config.ID].Driver == nil {
			delete(g.latest, d.Config.ID)
		}
	}
	g.mu.Unlock()
	for _, dc := range build {
		if d, ok := built[dc.ID]; ok {
			g.sched.Add(jobFor(d))
			g.watch.add(d)
		}
	}
	g.setAlarmDevices(ctx, next)
	return res
}

// stopDevice ends a device's polls and watch, then closes its driver. A
// driver still busy after deviceStopWait is left open rather than closed
// under a running call; its goroutine ends when the device answers.
func (g *Gateway) stopDevice(ctx context.Context, d Device) {
	wctx, cancel := context.WithTimeout(ctx, deviceStopWait)
	defer cancel()
	err := g.sched.Remove(wctx, d.Config.ID)
	if errors.Is(err, schedule.ErrUnknownDevice) {
		err = nil
	}
	if werr := g.watch.stop(wctx, d.Config.ID); werr != nil {
		err = errors.Join(err, werr)
	}
	if err != nil {
		g.log.Error("device stopped but its driver is still busy; not closed", "device", d.Config.ID, "err", err)
		return
	}
	if c, ok := d.Driver.(io.Closer); ok {
		if err := c.Close(); err != nil {
			g.log.Warn("close driver of a stopped device", "device", d.Config.ID, "err", err)
		}
	}
}

// setAlarmDevices gives the alarm engine next's devices and sends the
// clearing of alarms of devices that are gone.
func (g *Gateway) setAlarmDevices(ctx context.Context, next *config.Config) {
	evs := g.alarms.SetDevices(next.Devices, g.clock.Now().Time)
	g.Emit(ctx, evs...)
	g.publishAlarms(false)
}

// sameDevice tells whether a running device's config equals a new one,
// ignoring where it stands in the file and a kind the driver filled in.
func sameDevice(running, next config.Device) bool {
	running.Line, next.Line = 0, 0
	if next.Kind == "" {
		if f, ok := drivers.Lookup(next.Driver); ok {
			next.Kind = f.Kind
		}
	}
	return reflect.DeepEqual(running, next)
}

// hasHostLists tells a device whose driver config has lists of known and
// adopted hosts (a discovery device), which the web page edits.
func hasHostLists(d config.Device) bool {
	_, ok := d.DriverConfig.(drivers.HostListConfig)
	return ok
}

// withoutLists is such a device without its lists.
func withoutLists(d config.Device) config.Device {
	d.DriverConfig = d.DriverConfig.(drivers.HostListConfig).WithoutHostLists()
	return d
}
