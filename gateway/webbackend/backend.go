// Package webbackend is the running gateway as the technician's web page
// (gateway/web) sees it: web defines the Backend interface and never
// imports the gateway; this package implements it on the gateway's core
// API (Core, defined here, where it is used), with the fridge sparkline
// (gateway/fridgehist), the cold-chain recorder and the self-update.
package webbackend

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/fridgehist"
	"github.com/praxisgate/praxisgate/gateway/schedule"
	"github.com/praxisgate/praxisgate/gateway/web"
)

// Core is what the page needs of the running gateway (*gateway.Gateway).
type Core interface {
	Config() *config.Config
	Latest() []gateway.Latest
	Devices() []gateway.Device
	Alarms() []alarm.Alarm
	AckAlarm(ctx context.Context, id, by string) error
	PollNow(ctx context.Context, device string) (schedule.Result, error)
	Stats() gateway.Stats
	Emit(ctx context.Context, evs ...drivers.Event) error
	Apply(ctx context.Context, cfg *config.Config) config.Applied
	AckAlarmComment(ctx context.Context, id, by, comment string) error
	ColdChain() *coldchain.Recorder
}

// Backend implements web.Backend on a running gateway.
type Backend struct {
	core  Core
	temps *fridgehist.History
	log   *slog.Logger
	// updater is the self-update (SetUpdater); nil: updates are off.
	updater atomic.Pointer[updaterBox]
}

// New returns the page's view of core; temps is the fridge history the
// gateway feeds (its OnSample), nil for none.
func New(core Core, temps *fridgehist.History, log *slog.Logger) *Backend {
	if log == nil {
		log = slog.Default()
	}
	return &Backend{core: core, temps: temps, log: log}
}

var _ web.Backend = (*Backend)(nil)

// Devices lists every configured device (disabled ones too) with its
// latest result.
func (b *Backend) Devices() []web.Device {
	latest := map[string]gateway.Latest{}
	for _, l := range b.core.Latest() {
		latest[l.Sample.Device] = l
	}
	devs := b.Config().Devices
	out := make([]web.Device, 0, len(devs))
	for _, dc := range devs {
		d := web.Device{ID: dc.ID, Name: dc.Name, Kind: dc.Kind, Driver: dc.Driver, Disabled: dc.Disabled}
		if l, ok := latest[dc.ID]; ok {
			d.At, d.Err, d.Metrics = l.At, l.Err, l.Sample.Metrics
		}
		_, d.SelfTest = b.selfTester(dc.ID)
		out = append(out, d)
	}
	return out
}

// Alarms returns the active alarms.
func (b *Backend) Alarms() []alarm.Alarm { return b.core.Alarms() }

// AckAlarm acknowledges an alarm in the name the person typed (or the
// login's), with their comment; the page's audit log keeps which login
// it was.
func (b *Backend) AckAlarm(ctx context.Context, id, user, comment string) error {
	return b.core.AckAlarmComment(ctx, id, user, comment)
}

// PollNow runs a test poll through the scheduler (never concurrently with
// the device's scheduled poll).
func (b *Backend) PollNow(ctx context.Context, device string) (drivers.Sample, error) {
	r, err := b.core.PollNow(ctx, device)
	if err != nil {
		return drivers.Sample{}, err
	}
	return r.Sample, r.Err
}

// Status summarises uplink, buffer and the box's own telemetry.
func (b *Backend) Status() web.Status {
	gs := b.core.Stats()
	bs, us := gs.Buffer, gs.Uplink
	st := web.Status{Version: gs.Version, Started: gs.Started, Boot: gs.Origin.Boot,
		Connected: us.Connected, ConnectedSince: us.ConnectedSince, LastPublish: us.LastPublish, LastError: us.LastError,
		Published: us.Published, BufferRecords: bs.Records, BufferBytes: bs.Bytes, BufferOldest: bs.Oldest,
		Evicted: bs.EvictedTelemetry + bs.EvictedEvents}
	for _, l := range b.core.Latest() {
		if l.Sample.Device == gateway.SelfDevice {
			st.Health = l.Sample.Metrics
		}
	}
	return st
}

// FridgeHistory is a fridge's last 24 h for the overview's sparkline,
// with the cold-chain band of the config.
func (b *Backend) FridgeHistory(device string) web.TempHistory {
	fp := b.Config().Fridge.Effective()
	h := web.TempHistory{Low: *fp.Low, High: *fp.High}
	if b.temps == nil {
		return h
	}
	pts := b.temps.Points(device, time.Now())
	h.Points = make([]web.TempPoint, len(pts))
	for i, p := range pts {
		h.Points[i] = web.TempPoint{At: p.At, V: p.V, Lo: p.Lo, Hi: p.Hi}
	}
	return h
}

// Inventory lists what every discovery device found on the network. A
// host adopted or ignored on the page shows so at once, even when its
// discovery driver could not take the new lists (applyDevices holds them
// for the restart): the page takes them from the config in effect.
func (b *Backend) Inventory() []web.Host {
	lists := map[string]drivers.HostListConfig{}
	for _, dc := range b.Config().Devices {
		if c, ok := dc.DriverConfig.(drivers.HostListConfig); ok {
			lists[dc.ID] = c
		}
	}
	var out []web.Host
	for _, d := range b.core.Devices() {
		hl, ok := d.Driver.(drivers.HostLister)
		if !ok {
			continue
		}
		for _, h := range hl.Hosts() {
			wh := web.Host{Source: d.Config.ID, MAC: h.MAC, IPs: h.IPs, Vendor: h.Vendor, Name: h.Name, Kind: h.Kind,
				Adopt: h.Adopt, Known: h.Known, Adopted: h.Adopted, Present: h.Present, LastSeen: h.LastSeen}
			if c := lists[d.Config.ID]; c != nil {
				if known, adopted := c.Listed(h.MAC); known {
					wh.Known = true
					if adopted != "" {
						wh.Adopted = adopted
					}
				}
			}
			out = append(out, wh)
		}
	}
	return out
}

// Config is the config the gateway runs with: the one it started with, and
// the sections Apply has put into effect since.
func (b *Backend) Config() *config.Config { return b.core.Config() }

// Apply puts a config the page just saved into effect as far as the
// gateway can without a restart (gateway.Gateway.Apply).
func (b *Backend) Apply(ctx context.Context, cfg *config.Config) web.Applied {
	return b.core.Apply(ctx, cfg)
}

// Event buffers an audit record from the web page as an event of the box
// itself, so the provider sees every change made on site.
func (b *Backend) Event(e drivers.Event) {
	if e.Device == "" {
		e.Device = gateway.SelfDevice
	}
	b.core.Emit(context.Background(), e)
}

// ColdChain is the page's view of the fridges' cold-chain record: the
// gateway's recorder, which writes below <state_dir>/coldchain, takes the
// daily checks and keeps the record's verification; with the monthly
// report (coldchainreport.go) over the core's current config.
func (b *Backend) ColdChain() web.ColdChain {
	r := b.core.ColdChain()
	if r == nil {
		return nil
	}
	return webColdChain{ColdChain: r, cfg: b.core.Config}
}

// webColdChain adds the monthly PDF report to the recorder's view.
type webColdChain struct {
	web.ColdChain
	// cfg names the fridges, the practice and the time zone of the
	// monthly report; the core's current config, so a live change counts.
	cfg func() *config.Config
}
