package discover

import (
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// fakeSegment is an Ethernet segment in memory: hosts answer ARP requests
// for their address, some only from the n-th request on (a sleeping
// printer), some only to unicast (a host ignoring broadcast bursts).
type fakeSegment struct {
	mu      sync.Mutex
	hosts   []fakeHost
	asked   map[netip.Addr]int
	sent    []sentFrame
	replies chan *arp.Packet
	closed  bool
	dl      time.Time
}

type fakeHost struct {
	ip          netip.Addr
	mac         net.HardwareAddr
	answerFrom  int  // answer from the n-th request on (1 = at once)
	unicastOnly bool // ignore broadcast requests
}

type sentFrame struct {
	dst    net.HardwareAddr
	target netip.Addr
	src    netip.Addr
}

func newFakeSegment(hosts ...fakeHost) *fakeSegment {
	return &fakeSegment{hosts: hosts, asked: map[netip.Addr]int{}, replies: make(chan *arp.Packet, 4096)}
}

func (f *fakeSegment) WriteTo(p *arp.Packet, dst net.HardwareAddr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return net.ErrClosed
	}
	f.sent = append(f.sent, sentFrame{dst: slices.Clone(dst), target: p.TargetIP, src: p.SenderIP})
	// The sender's own frame comes back on a packet socket; the sweep
	// must ignore it.
	f.replies <- p
	f.asked[p.TargetIP]++
	for _, h := range f.hosts {
		if h.ip != p.TargetIP {
			continue
		}
		broadcast := slices.Equal(dst, ethernet.Broadcast)
		if broadcast && h.unicastOnly || !broadcast && !slices.Equal(dst, h.mac) {
			continue
		}
		if f.asked[p.TargetIP] < h.answerFrom {
			continue
		}
		r, _ := arp.NewPacket(arp.OperationReply, h.mac, h.ip, p.SenderHardwareAddr, p.SenderIP)
		f.replies <- r
	}
	return nil
}

func (f *fakeSegment) Read() (*arp.Packet, *ethernet.Frame, error) {
	for {
		f.mu.Lock()
		dl, closed := f.dl, f.closed
		f.mu.Unlock()
		if closed {
			return nil, nil, net.ErrClosed
		}
		if !dl.IsZero() && !time.Now().Before(dl) {
			return nil, nil, os.ErrDeadlineExceeded
		}
		select {
		case p := <-f.replies:
			return p, nil, nil
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (f *fakeSegment) SetReadDeadline(t time.Time) error {
	f.mu.Lock()
	f.dl = t
	f.mu.Unlock()
	return nil
}

func (f *fakeSegment) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}
