package discover

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/praxisgate/praxisgate/drivers"
)

// gratuitous builds the ARP announcement a host sends when it takes an
// address (or a spoofing tool sends to poison caches).
func gratuitous(mac, ip string) *arp.Packet {
	p, err := arp.NewPacket(arp.OperationRequest, mustMAC(mac), netip.MustParseAddr(ip), zeroMAC, netip.MustParseAddr(ip))
	if err != nil {
		panic(err)
	}
	return p
}

type eventLog struct {
	mu  sync.Mutex
	evs []drivers.Event
}

func (l *eventLog) emit(e drivers.Event) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
}

func (l *eventLog) types() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return types(l.evs)
}

// waitFor polls until the log holds n events, at most 5 s.
func (l *eventLog) waitFor(t *testing.T, n int) []string {
	t.Helper()
	for i := 0; i < 500; i++ {
		if got := l.types(); len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("waited for %d events, have %v", n, l.types())
	return nil
}

func TestWatch(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	sweepSeg := newFakeSegment(fakeHost{ip: netip.MustParseAddr("10.0.0.2"), mac: mustMAC(macA), answerFrom: 1})
	d := fakeDriver(t, testDevice(t), sweepSeg, &now)
	watchSeg := newFakeSegment()
	sweepDial := d.dial
	var mu sync.Mutex
	dialed := make(chan struct{})
	d.dial = func(ifi *net.Interface) (arpConn, error) {
		// The first dial is Watch's; Poll's come after it.
		mu.Lock()
		defer mu.Unlock()
		select {
		case <-dialed:
			return sweepDial(ifi)
		default:
			close(dialed)
			return watchSeg, nil
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var log eventLog
	done := make(chan error, 1)
	go func() { done <- d.Watch(ctx, log.emit) }()
	<-dialed

	// Before the first sweep Watch must stay quiet.
	watchSeg.replies <- gratuitous(macB, "10.0.0.3")
	time.Sleep(50 * time.Millisecond)
	if got := log.types(); len(got) != 0 {
		t.Fatalf("events before the first sweep: %v", got)
	}

	if _, err := d.Poll(ctx); err != nil {
		t.Fatal(err)
	}

	watchSeg.replies <- gratuitous(macC, "10.0.0.4") // a stranger plugs in
	watchSeg.replies <- gratuitous(macC, "10.0.0.4") // and repeats itself
	watchSeg.replies <- gratuitous(macA, "10.0.0.2") // a known host talks
	watchSeg.replies <- gratuitous(macB, "10.0.0.2") // B claims A's address
	watchSeg.replies <- gratuitous(macB, "10.0.0.2") // every second, like arpspoof
	watchSeg.replies <- gratuitous("00:16:3e:00:00:01", "10.0.0.9")
	got := log.waitFor(t, 5)
	time.Sleep(50 * time.Millisecond)
	want := []string{
		"device.appeared:" + macC, "device.unknown:" + macC,
		"network.ip_conflict:10.0.0.2",
		"device.appeared:" + macB, "device.unknown:" + macB,
	}
	if got = log.types(); !slices.Equal(got, want) {
		t.Errorf("events\n got %v\nwant %v", got, want)
	}
	var hosts []string
	for _, h := range d.Inventory() {
		hosts = append(hosts, h.MAC)
	}
	if !slices.Equal(hosts, []string{macA, macB, macC}) {
		t.Errorf("inventory after watch: %v (own MAC must be ignored)", hosts)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil && err != context.Canceled {
			t.Errorf("Watch returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not end with its context")
	}
}

func TestLimiter(t *testing.T) {
	t0 := time.Now()
	l := &limiter{tokens: watchBurst, last: t0}
	sent, floods := 0, 0
	for i := 0; i < 100; i++ {
		ok, flood := l.take(t0)
		if ok {
			sent++
		}
		if flood {
			floods++
		}
	}
	if sent != watchBurst || floods != 1 {
		t.Errorf("sent %d floods %d, want %d and 1", sent, floods, watchBurst)
	}
	if ok, _ := l.take(t0.Add(watchRefill)); !ok {
		t.Error("no token after a refill period")
	}
}
