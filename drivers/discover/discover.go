// Package discover finds what is on a practice network and notices when
// that changes. Each poll is one sweep: an ARP request to every address of
// the configured IPv4 subnets (rate-limited, with retries), merged with the
// kernel's neighbour table, then reverse DNS, SNMP identity and a small TCP
// port probe for new hosts, a classification into kinds, and an inventory
// that survives restarts. Changes come out as events: device.appeared,
// device.disappeared, device.changed, device.unknown (a MAC nobody
// expected: an open socket in the waiting room) and network.ip_conflict (an
// address answered by a new MAC: a duplicate or ARP spoofing).
//
// Issue 4 asked for this; docs/drivers/discover.md is the user's view.
package discover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name: "discover",
		Kind: "network",
		Doc:  "ARP sweep of the practice network: inventory, new-device and ARP-spoofing alarms",
		// A sweep every 15 minutes; enrichment of a busy /22 takes minutes.
		Interval: 15 * time.Minute,
		Timeout:  2 * time.Minute,
		Defaults: Defaults,
		New: func(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
			return New(dev, cfg, log)
		},
	})
}

// Driver sweeps the network on every Poll. Poll and Inventory may be called
// concurrently; the scheduler never runs two Polls at once, and an
// on-demand sweep (the provider's "rediscover" command) is just a Poll.
type Driver struct {
	dev    drivers.Device
	cfg    Config
	policy policy
	log    *slog.Logger

	// Injectable for tests: the clock, the ARP socket, the interface list
	// and the kernel's neighbour table.
	now        func() time.Time
	dial       func(ifi *net.Interface) (arpConn, error)
	links      func(names []string) ([]link, error)
	neighbours func() ([]neighbour, error)
	enrich     *enricher

	mu  sync.Mutex // guards inv
	inv *inventory
}

// New checks cfg and builds the driver without touching the network or the
// disk; the inventory is loaded on the first Poll.
func New(dev drivers.Device, cfg Config, log *slog.Logger) (*Driver, error) {
	p, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{
		dev:    dev,
		cfg:    cfg,
		policy: p,
		log:    log,
		now:    time.Now,
		dial:   dialARP,
		links:  links,
		neighbours: func() ([]neighbour, error) {
			f, err := os.Open("/proc/net/arp")
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return parseNeighbours(f)
		},
		enrich: &enricher{
			ports:        slices.Clone(cfg.Ports),
			probeTimeout: cfg.ProbeTimeout,
			dial:         (&net.Dialer{}).DialContext,
			parallel:     32,
			// A TI Konnektor is recognised by its service directory on 443.
			konnektor:     probeKonnektor,
			konnektorPort: konnektorPort,
		},
	}
	if cfg.ReverseDNS {
		d.enrich.lookupAddr = net.DefaultResolver.LookupAddr
	}
	if len(cfg.SNMP.Communities)+len(cfg.SNMP.Users) > 0 {
		d.enrich.snmp = &snmpProber{cfg: cfg.SNMP}
	}
	return d, nil
}

// Poll runs one sweep and returns its summary metrics and events.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	start := time.Now()
	d.mu.Lock()
	inv := d.inv
	d.mu.Unlock()
	if inv == nil {
		loaded, warn, err := store{dir: d.dev.StateDir}.load()
		if err != nil {
			return drivers.Sample{}, fmt.Errorf("discover: %w", err)
		}
		if warn != nil {
			d.log.Warn("discover: inventory lost", "err", warn)
		}
		inv = loaded
	}

	obs, nsubnets, err := d.sweep(ctx)
	if err != nil {
		return drivers.Sample{}, err
	}
	now := d.now()
	// Enrichment gets three quarters of what is left of the poll's time:
	// the sweep result must be merged and saved even when many new hosts
	// sit behind firewalls that swallow SNMP. Hosts not finished in time
	// stay due and are asked again next sweep.
	ectx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ectx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)*3/4))
		defer cancel()
	}
	due := inv.due(obs, now, d.policy.enrichEvery)
	enr := d.enrich.run(ectx, due)
	if err := ctx.Err(); err != nil {
		return drivers.Sample{}, fmt.Errorf("discover: sweep cancelled: %w", err)
	}
	if len(enr) < len(due) {
		d.log.Warn("discover: enrichment ran out of time; the rest is asked next sweep", "done", len(enr), "due", len(due))
	}

	d.mu.Lock()
	events, st := inv.merge(now, obs, enr, d.policy)
	d.inv = inv
	hosts := d.snapshot()
	d.mu.Unlock()
	if err := (store{dir: d.dev.StateDir}).save(hosts, now); err != nil {
		// The sweep itself worked; losing the file costs only the memory
		// of this sweep, so report it without failing the poll.
		d.log.Error("discover: save inventory", "err", err)
	}
	d.log.Info("discover: sweep done", "hosts", st.present, "new", st.fresh, "unknown", st.unknown,
		"gone", st.gone, "conflicts", st.conflicts, "enriched", len(enr), "took", time.Since(start).Round(time.Millisecond))
	return drivers.Sample{
		Time: now,
		Metrics: []drivers.Metric{
			drivers.Num("discover.hosts", float64(st.present), ""),
			drivers.Num("discover.hosts.new", float64(st.fresh), ""),
			drivers.Num("discover.hosts.unknown", float64(st.unknown), ""),
			drivers.Num("discover.hosts.randomized", float64(st.randomized), ""),
			drivers.Num("discover.hosts.gone", float64(st.gone), ""),
			drivers.Num("discover.conflicts", float64(st.conflicts), ""),
			drivers.Num("discover.subnets", float64(nsubnets), ""),
			drivers.Num("discover.sweep.duration", time.Since(start).Seconds(), "s"),
		},
		Events: events,
	}, nil
}

// sweep runs the ARP part on every link in parallel (each link has its
// own rate budget, as each is its own segment) and groups replies by MAC.
func (d *Driver) sweep(ctx context.Context) ([]observation, int, error) {
	ls, err := d.links(d.cfg.Interfaces)
	if err != nil {
		return nil, 0, fmt.Errorf("discover: %w", err)
	}
	type job struct {
		l   link
		tgs []target
	}
	var jobs []job
	nsubnets := 0
	for _, l := range ls {
		tgs, err := targets(l, d.cfg.AllowLarge)
		if err != nil {
			return nil, 0, fmt.Errorf("discover: %w", err)
		}
		nsubnets += len(l.Prefixes)
		jobs = append(jobs, job{l, tgs})
	}
	known := map[string]map[netip.Addr]net.HardwareAddr{}
	if nb, err := d.neighbours(); err != nil {
		d.log.Warn("discover: kernel neighbour table unreadable; sweeping without it", "err", err)
	} else {
		for _, n := range nb {
			if known[n.Iface] == nil {
				known[n.Iface] = map[netip.Addr]net.HardwareAddr{}
			}
			known[n.Iface][n.IP] = n.MAC
		}
	}

	type result struct {
		iface string
		got   map[netip.Addr][]string
		err   error
	}
	results := make([]result, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			ifi := &net.Interface{Name: j.l.Name, Index: j.l.Index, HardwareAddr: j.l.MAC}
			conn, err := d.dial(ifi)
			if err != nil {
				results[i] = result{err: err}
				return
			}
			defer conn.Close()
			got, err := sweepLink(ctx, conn, j.l, j.tgs, known[j.l.Name],
				sweepParams{rate: d.cfg.Rate, retries: d.cfg.Retries, wait: d.cfg.ReplyWait})
			results[i] = result{iface: j.l.Name, got: got, err: err}
		})
	}
	wg.Wait()

	byMAC := map[string]*observation{}
	for _, r := range results {
		if errors.Is(r.err, ErrNeedCapNetRaw) {
			return nil, 0, fmt.Errorf("discover: %w", r.err)
		}
		if r.err != nil {
			return nil, 0, fmt.Errorf("discover: %w: %w", drivers.ErrUnreachable, r.err)
		}
		for _, ip := range slices.SortedFunc(maps.Keys(r.got), netip.Addr.Compare) {
			for _, mac := range r.got[ip] {
				o := byMAC[mac]
				if o == nil {
					o = &observation{MAC: mac, Iface: r.iface}
					byMAC[mac] = o
				}
				o.IPs = append(o.IPs, ip.String())
			}
		}
	}
	obs := make([]observation, 0, len(byMAC))
	for _, mac := range slices.Sorted(maps.Keys(byMAC)) {
		obs = append(obs, *byMAC[mac])
	}
	return obs, nsubnets, nil
}

// Inventory returns a copy of every host known, present or gone, sorted by
// MAC: the payload of the retained `inventory` topic (see InventoryDoc).
// It is empty until the first sweep.
func (d *Driver) Inventory() []Host {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.snapshot()
}

func (d *Driver) snapshot() []Host {
	if d.inv == nil {
		return nil
	}
	out := make([]Host, 0, len(d.inv.hosts))
	for _, mac := range slices.Sorted(maps.Keys(d.inv.hosts)) {
		out = append(out, d.inv.hosts[mac].clone())
	}
	return out
}

// Close is a no-op: sockets live only for the duration of a sweep, so an
// idle gateway holds no raw socket open.
func (d *Driver) Close() error { return nil }

// InventoryDoc is the body of the retained `inventory` topic; the gateway
// adds the envelope fields (schema, gateway, ts, seq, boot).
type InventoryDoc struct {
	// Device is the id of the discover device that produced it.
	Device string `json:"device"`
	Hosts  []Host `json:"hosts"`
}

// SweepOnce runs one sweep with cfg and returns the inventory, without
// persisting anything: `praxisgate discover -i IFACE` is the technician's
// first command on site. Without CAP_NET_RAW the error wraps
// ErrNeedCapNetRaw, whose text says how to grant it.
func SweepOnce(ctx context.Context, cfg Config, log *slog.Logger) ([]Host, error) {
	// Nothing was ever learned on a one-shot sweep: "known" then means
	// listed in known_macs or adopted, which is what a technician checks.
	cfg.LearnFirstSweep = false
	d, err := New(drivers.Device{ID: "discover"}, cfg, log)
	if err != nil {
		return nil, err
	}
	if _, err := d.Poll(ctx); err != nil {
		return nil, err
	}
	return d.Inventory(), nil
}

// String is for logs: the configured interfaces.
func (d *Driver) String() string {
	if len(d.cfg.Interfaces) == 0 {
		return "discover(all interfaces)"
	}
	return "discover(" + strings.Join(d.cfg.Interfaces, ",") + ")"
}

// InventoryPayload is what the gateway publishes retained on the
// `inventory` topic after each sweep (it adds the envelope).
func (d *Driver) InventoryPayload() any {
	return InventoryDoc{Device: d.dev.ID, Hosts: d.Inventory()}
}
