package gateway

import (
	"context"
	"io"
	"path/filepath"
	"sort"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/web"
)

// WebBackend adapts the gateway to what the local web page needs
// (web.Backend); web defines the interface so it never imports gateway.
type WebBackend struct{ g *Gateway }

// Web returns the gateway's view for gateway/web.
func (g *Gateway) Web() *WebBackend { return &WebBackend{g: g} }

var _ web.Backend = (*WebBackend)(nil)

// Devices lists every configured device (disabled ones too) with its
// latest result.
func (b *WebBackend) Devices() []web.Device {
	latest := map[string]Latest{}
	for _, l := range b.g.Latest() {
		latest[l.Sample.Device] = l
	}
	devs := b.Config().Devices
	out := make([]web.Device, 0, len(devs))
	for _, dc := range devs {
		d := web.Device{ID: dc.ID, Name: dc.Name, Kind: dc.Kind, Driver: dc.Driver, Disabled: dc.Disabled}
		if l, ok := latest[dc.ID]; ok {
			d.At, d.Err, d.Metrics = l.At, l.Err, l.Sample.Metrics
		}
		out = append(out, d)
	}
	return out
}

// Alarms returns the active alarms.
func (b *WebBackend) Alarms() []alarm.Alarm { return b.g.Alarms() }

// AckAlarm acknowledges an alarm in the name of the web user.
func (b *WebBackend) AckAlarm(ctx context.Context, id, user string) error {
	return b.g.AckAlarm(ctx, id, "web:"+user)
}

// PollNow runs a test poll through the scheduler (never concurrently with
// the device's scheduled poll).
func (b *WebBackend) PollNow(ctx context.Context, device string) (drivers.Sample, error) {
	r, err := b.g.PollNow(ctx, device)
	if err != nil {
		return drivers.Sample{}, err
	}
	return r.Sample, r.Err
}

// Status summarises uplink, buffer and the box's own telemetry.
func (b *WebBackend) Status() web.Status {
	bs, us := b.g.BufferStats(), b.g.UplinkStats()
	st := web.Status{Version: b.g.version, Started: b.g.started, Boot: b.g.Boot(),
		Connected: us.Connected, ConnectedSince: us.ConnectedSince, LastPublish: us.LastPublish, LastError: us.LastError,
		Published: us.Published, BufferRecords: bs.Records, BufferBytes: bs.Bytes, BufferOldest: bs.Oldest,
		Evicted: bs.EvictedTelemetry + bs.EvictedEvents}
	for _, l := range b.g.Latest() {
		if l.Sample.Device == SelfDevice {
			st.Health = l.Sample.Metrics
		}
	}
	return st
}

// FridgeHistory is a fridge's last 24 h for the overview's sparkline,
// with the cold-chain band of the config.
func (b *WebBackend) FridgeHistory(device string) web.TempHistory {
	fp := b.Config().Fridge.Effective()
	pts := b.g.temps.Points(device, time.Now())
	h := web.TempHistory{Low: *fp.Low, High: *fp.High, Points: make([]web.TempPoint, len(pts))}
	for i, p := range pts {
		h.Points[i] = web.TempPoint{At: p.At, V: p.V}
	}
	return h
}

// Inventory lists what every discovery device found on the network. A
// host adopted or ignored on the page shows so at once, even when its
// discovery driver could not take the new lists (applyDevices holds them
// for the restart): the page takes them from the config in effect.
func (b *WebBackend) Inventory() []web.Host {
	lists := map[string]drivers.HostListConfig{}
	for _, dc := range b.Config().Devices {
		if c, ok := dc.DriverConfig.(drivers.HostListConfig); ok {
			lists[dc.ID] = c
		}
	}
	var out []web.Host
	for _, d := range b.g.deviceList() {
		hl, ok := d.Driver.(drivers.HostLister)
		if !ok {
			continue
		}
		for _, h := range hl.Hosts() {
			wh := web.Host{Source: d.Config.ID, MAC: h.MAC, IPs: h.IPs, Vendor: h.Vendor, Name: h.Name, Kind: h.Kind,
				SNMP: h.SNMP, Known: h.Known, Adopted: h.Adopted, Present: h.Present, LastSeen: h.LastSeen}
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
func (b *WebBackend) Config() *config.Config { return b.g.Config() }

// Event buffers an audit record from the web page as an event of the box
// itself, so the provider sees every change made on site.
func (b *WebBackend) Event(e drivers.Event) {
	if e.Device == "" {
		e.Device = SelfDevice
	}
	b.g.appendEvents(context.Background(), []drivers.Event{e})
}

// WebColdChain lets the web page download the fridges' daily records that
// gateway/coldchain writes below <state_dir>/coldchain. It reads the files
// only, so it works whether or not a recorder runs in this process.
func (g *Gateway) WebColdChain() web.ColdChain {
	cc := webColdChain{dir: filepath.Join(g.Config().StateDir, coldchain.DirName)}
	for _, d := range g.Config().Devices {
		if !d.Disabled && d.Kind == config.FridgeKind {
			cc.fridges = append(cc.fridges, d.ID)
		}
	}
	sort.Strings(cc.fridges)
	return cc
}

type webColdChain struct {
	dir     string
	fridges []string
}

func (c webColdChain) Fridges() []string { return c.fridges }

func (c webColdChain) WriteCSV(w io.Writer, device, from, to string) error {
	return coldchain.WriteCSV(w, c.dir, device, from, to)
}
