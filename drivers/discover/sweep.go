package discover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// ErrNeedCapNetRaw is returned (wrapped) when the raw ARP socket cannot be
// opened. The message tells the technician how to fix it, because
// "operation not permitted" alone sends them hunting through the code.
var ErrNeedCapNetRaw = errors.New("ARP sweeps need the CAP_NET_RAW capability: " +
	"grant it with `setcap cap_net_raw+ep /usr/bin/praxisgate`, " +
	"or set `AmbientCapabilities=CAP_NET_RAW` in the systemd unit, or run as root")

// arpConn is the part of *arp.Client the sweep uses; tests substitute a
// fake segment.
type arpConn interface {
	WriteTo(p *arp.Packet, addr net.HardwareAddr) error
	Read() (*arp.Packet, *ethernet.Frame, error)
	SetReadDeadline(t time.Time) error
	Close() error
}

// dialARP opens the raw ARP socket of one interface.
func dialARP(ifi *net.Interface) (arpConn, error) {
	c, err := arp.Dial(ifi)
	if err != nil {
		return nil, wrapDialError(ifi, err)
	}
	return c, nil
}

// wrapDialError names the interface and, for EPERM/EACCES, the missing
// capability.
func wrapDialError(ifi *net.Interface, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("open ARP socket on %s: %v: %w", ifi.Name, err, ErrNeedCapNetRaw)
	}
	return fmt.Errorf("open ARP socket on %s: %w", ifi.Name, err)
}

// sweepParams are the timing knobs of one sweep.
type sweepParams struct {
	rate    int
	retries int
	wait    time.Duration
}

var zeroMAC = net.HardwareAddr{0, 0, 0, 0, 0, 0}

// sweepLink asks every target on one link for its MAC, at most p.rate
// requests per second, and asks silent targets again up to p.retries
// times, never sooner than p.wait after the previous request to the same
// address. Retries to addresses the kernel's neighbour table already
// knows go unicast to the known MAC, which reaches hosts that ignore
// broadcast bursts. It returns every MAC that answered per IP (more than
// one is an address conflict).
func sweepLink(ctx context.Context, conn arpConn, l link, tgs []target, known map[netip.Addr]net.HardwareAddr, p sweepParams) (map[netip.Addr][]string, error) {
	want := make(map[netip.Addr]bool, len(tgs))
	for _, t := range tgs {
		want[t.IP] = true
	}
	var (
		mu       sync.Mutex
		got      = map[netip.Addr][]string{}
		answered atomic.Int64
		stop     atomic.Bool
		readErr  error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		errs := 0
		for {
			pkt, _, err := conn.Read()
			if stop.Load() {
				return
			}
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				if errors.Is(err, net.ErrClosed) || errs > 100 {
					mu.Lock()
					readErr = err
					mu.Unlock()
					return
				}
				errs++
				continue
			}
			errs = 0
			if !want[pkt.SenderIP] || slices.Equal(pkt.SenderHardwareAddr, l.MAC) ||
				len(pkt.SenderHardwareAddr) != 6 || isZero(pkt.SenderHardwareAddr) || pkt.SenderHardwareAddr[0]&1 != 0 {
				continue
			}
			mac := pkt.SenderHardwareAddr.String()
			mu.Lock()
			if !slices.Contains(got[pkt.SenderIP], mac) {
				if len(got[pkt.SenderIP]) == 0 {
					answered.Add(1)
				}
				got[pkt.SenderIP] = append(got[pkt.SenderIP], mac)
			}
			mu.Unlock()
		}
	}()
	finish := func() {
		stop.Store(true)
		_ = conn.SetReadDeadline(time.Now())
		<-done
	}
	isAnswered := func(ip netip.Addr) bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got[ip]) > 0
	}

	interval := time.Second / time.Duration(p.rate)
	lastSent := make(map[netip.Addr]time.Time, len(tgs))
	start := time.Now()
	sent := 0
	var lastSend time.Time
	for pass := 0; pass <= p.retries; pass++ {
		for _, t := range tgs {
			if pass > 0 && isAnswered(t.IP) {
				continue
			}
			next := start.Add(time.Duration(sent) * interval)
			if pass > 0 {
				if again := lastSent[t.IP].Add(p.wait); again.After(next) {
					next = again
				}
			}
			if err := sleepUntil(ctx, next); err != nil {
				finish()
				return nil, err
			}
			if next.Sub(start) > time.Duration(sent)*interval {
				// A retry had to wait: restart the rate clock so the
				// next packets are not sent in a burst to catch up.
				start, sent = time.Now(), 0
			}
			dst := ethernet.Broadcast
			if mac, ok := known[t.IP]; ok && pass > 0 {
				dst = mac
			}
			pkt, err := arp.NewPacket(arp.OperationRequest, l.MAC, t.Src, zeroMAC, t.IP)
			if err != nil {
				finish()
				return nil, fmt.Errorf("build ARP request for %s: %w", t.IP, err)
			}
			if err := conn.WriteTo(pkt, dst); err != nil {
				finish()
				return nil, fmt.Errorf("send ARP request for %s on %s: %w", t.IP, l.Name, err)
			}
			lastSend = time.Now()
			lastSent[t.IP] = lastSend
			sent++
		}
		if int(answered.Load()) == len(tgs) {
			break
		}
	}
	// Late replies: wait p.wait after the last request, or less when
	// every target has answered.
	deadline := lastSend.Add(p.wait)
	for time.Now().Before(deadline) && int(answered.Load()) < len(tgs) {
		if err := sleepUntil(ctx, minTime(deadline, time.Now().Add(5*time.Millisecond))); err != nil {
			finish()
			return nil, err
		}
	}
	finish()
	mu.Lock()
	defer mu.Unlock()
	if readErr != nil {
		return nil, fmt.Errorf("read ARP replies on %s: %w", l.Name, readErr)
	}
	return got, nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
