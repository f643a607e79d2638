package discover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// watchBurst and watchRefill bound the events one Watch may emit: an
// attacker flooding forged ARP with random MACs must not flood the
// provider with device.unknown. Beyond the budget one network.arp_flood
// event per minute is emitted instead.
const (
	watchBurst  = 30
	watchRefill = 2 * time.Second
)

// Watch listens passively to ARP on the swept interfaces between sweeps.
// A MAC the inventory does not know (or that had disappeared) is reported
// at once, and a host claiming an address that a different, present host
// answered for in the last sweep raises network.ip_conflict: a laptop on
// the waiting-room socket, or a forged gratuitous ARP for the router,
// alarms within seconds instead of at the next 15-minute sweep.
//
// Watch stays quiet until the first Poll has built or loaded the
// inventory, so a restart does not announce every host again.
func (d *Driver) Watch(ctx context.Context, emit func(drivers.Event)) error {
	ls, err := d.links(d.cfg.Interfaces)
	if err != nil {
		return fmt.Errorf("discover: watch: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lim := &limiter{tokens: watchBurst, last: d.now()}
	var wg sync.WaitGroup
	errs := make([]error, len(ls))
	for i, l := range ls {
		conn, err := d.dial(&net.Interface{Name: l.Name, Index: l.Index, HardwareAddr: l.MAC})
		if err != nil {
			cancel()
			wg.Wait()
			return fmt.Errorf("discover: watch: %w", err)
		}
		wg.Go(func() {
			<-ctx.Done()
			_ = conn.SetReadDeadline(time.Now())
		})
		wg.Go(func() {
			defer conn.Close()
			errs[i] = d.watchLink(ctx, conn, l, lim, emit)
			cancel()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("discover: watch: %w", err)
	}
	return ctx.Err()
}

func (d *Driver) watchLink(ctx context.Context, conn arpConn, l link, lim *limiter, emit func(drivers.Event)) error {
	for fails := 0; ; {
		pkt, _, err := conn.Read()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if fails++; errors.Is(err, net.ErrClosed) || fails > 100 {
				return fmt.Errorf("read ARP on %s: %w", l.Name, err)
			}
			continue
		}
		fails = 0
		mac := pkt.SenderHardwareAddr
		if len(mac) != 6 || isZero(mac) || mac[0]&1 != 0 || slices.Equal(mac, l.MAC) || !inLink(l, pkt.SenderIP) {
			continue // ARP probes (0.0.0.0), foreign subnets, ourselves
		}
		now := d.now()
		d.mu.Lock()
		var evs []drivers.Event
		var hosts []Host
		if d.inv != nil {
			evs = d.inv.observe(now, observation{MAC: mac.String(), IPs: []string{pkt.SenderIP.String()}, Iface: l.Name}, d.policy)
			if len(evs) > 0 {
				hosts = d.snapshot()
			}
		}
		d.mu.Unlock()
		if len(evs) == 0 {
			continue
		}
		if err := (store{dir: d.dev.StateDir}).save(hosts, now); err != nil {
			d.log.Error("discover: save inventory", "err", err)
		}
		for _, e := range evs {
			if ok, flood := lim.take(now); ok {
				emit(e)
			} else if flood {
				emit(drivers.Event{Time: now, Type: "network.arp_flood", Severity: drivers.Major,
					Message: fmt.Sprintf("more than %d new-device or conflict events on %s in a minute; suppressing (ARP flood or spoofing tool?)", watchBurst, l.Name),
					Attrs:   map[string]any{"interface": l.Name}})
			}
		}
	}
}

func inLink(l link, ip netip.Addr) bool {
	if !ip.Is4() || ip.IsUnspecified() {
		return false
	}
	for _, p := range l.Prefixes {
		if p.Masked().Contains(ip) && ip != p.Addr() {
			return true
		}
	}
	return false
}

// limiter is a token bucket shared by the links of one Watch.
type limiter struct {
	mu         sync.Mutex
	tokens     float64
	last       time.Time
	lastFlood  time.Time
	suppressed int
}

// take reports whether an event may go out, and when not, whether this
// is the moment to say that events are being suppressed.
func (l *limiter) take(now time.Time) (ok, flood bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = min(watchBurst, l.tokens+float64(now.Sub(l.last))/float64(watchRefill))
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		return true, false
	}
	l.suppressed++
	if now.Sub(l.lastFlood) >= time.Minute {
		l.lastFlood = now
		return false, true
	}
	return false, false
}
