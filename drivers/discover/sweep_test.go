package discover

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

var testLink = link{
	Name: "eth0", Index: 2, MAC: mustMAC("00:16:3e:00:00:01"),
	Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/28")},
}

func TestSweepLink(t *testing.T) {
	seg := newFakeSegment(
		fakeHost{ip: netip.MustParseAddr("10.0.0.2"), mac: mustMAC("00:16:3e:00:00:02"), answerFrom: 1},
		fakeHost{ip: netip.MustParseAddr("10.0.0.3"), mac: mustMAC("00:16:3e:00:00:03"), answerFrom: 2}, // drops the first
		fakeHost{ip: netip.MustParseAddr("10.0.0.4"), mac: mustMAC("00:16:3e:00:00:04"), answerFrom: 3}, // needs two retries
		fakeHost{ip: netip.MustParseAddr("10.0.0.5"), mac: mustMAC("00:16:3e:00:00:05"), answerFrom: 1, unicastOnly: true},
		// Two hosts claim .6: a conflict must show both MACs.
		fakeHost{ip: netip.MustParseAddr("10.0.0.6"), mac: mustMAC("00:16:3e:00:00:06"), answerFrom: 1},
		fakeHost{ip: netip.MustParseAddr("10.0.0.6"), mac: mustMAC("00:16:3e:00:00:66"), answerFrom: 1},
	)
	tgs, err := targets(testLink, false)
	if err != nil {
		t.Fatal(err)
	}
	known := map[netip.Addr]net.HardwareAddr{netip.MustParseAddr("10.0.0.5"): mustMAC("00:16:3e:00:00:05")}
	got, err := sweepLink(context.Background(), seg, testLink, tgs, known, sweepParams{rate: 5000, retries: 1, wait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"10.0.0.2": {"00:16:3e:00:00:02"},
		"10.0.0.3": {"00:16:3e:00:00:03"},
		"10.0.0.5": {"00:16:3e:00:00:05"},
		"10.0.0.6": {"00:16:3e:00:00:06", "00:16:3e:00:00:66"},
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for ip, macs := range want {
		g := got[netip.MustParseAddr(ip)]
		slices.Sort(g)
		if !slices.Equal(g, macs) {
			t.Errorf("%s: got %v, want %v", ip, g, macs)
		}
	}
	// .4 needs a third request, retries: 1 allows two: it stays silent.
	seg.mu.Lock()
	defer seg.mu.Unlock()
	if seg.asked[netip.MustParseAddr("10.0.0.4")] != 2 || seg.asked[netip.MustParseAddr("10.0.0.2")] != 1 {
		t.Errorf("requests per address: %v (answered ones must not be asked again)", seg.asked)
	}
	var unicast int
	for _, f := range seg.sent {
		if f.src != netip.MustParseAddr("10.0.0.1") {
			t.Errorf("request from %s, want the link's own address", f.src)
		}
		if f.target == netip.MustParseAddr("10.0.0.5") && slices.Equal(f.dst, mustMAC("00:16:3e:00:00:05")) {
			unicast++
		}
	}
	if unicast != 1 {
		t.Errorf("%d unicast retries to the neighbour-table MAC, want 1", unicast)
	}
}

func TestSweepLinkCancelled(t *testing.T) {
	tgs, _ := targets(link{Name: "eth0", MAC: testLink.MAC, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24")}}, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sweepLink(ctx, newFakeSegment(), testLink, tgs, nil, sweepParams{rate: 10, retries: 3, wait: time.Second})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestTargets(t *testing.T) {
	tests := []struct {
		name       string
		prefixes   []string
		allowLarge bool
		wantN      int
		first      string
		wantErr    string
	}{
		{name: "/24 without own address", prefixes: []string{"192.168.1.50/24"}, wantN: 253, first: "192.168.1.1"},
		{name: "/22", prefixes: []string{"10.1.4.1/22"}, wantN: 1021, first: "10.1.4.2"},
		{name: "/31 has two hosts", prefixes: []string{"10.0.0.0/31"}, wantN: 1, first: "10.0.0.1"},
		{name: "/32 has none", prefixes: []string{"10.0.0.9/32"}, wantN: 0},
		{name: "two subnets", prefixes: []string{"10.0.0.1/30", "10.0.1.1/30"}, wantN: 2, first: "10.0.0.2"},
		{name: "/21 refused", prefixes: []string{"10.0.0.1/21"}, wantErr: "limited to /22 (1022 addresses) unless the config sets allow_large: true"},
		{name: "/21 allowed", prefixes: []string{"10.0.0.1/21"}, allowLarge: true, wantN: 2045},
		{name: "/15 refused even when allowed", prefixes: []string{"10.0.0.1/15"}, allowLarge: true, wantErr: "even with allow_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := link{Name: "eth0"}
			for _, p := range tt.prefixes {
				l.Prefixes = append(l.Prefixes, netip.MustParsePrefix(p))
			}
			got, err := targets(l, tt.allowLarge)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantN {
				t.Fatalf("%d targets, want %d", len(got), tt.wantN)
			}
			if tt.first != "" && got[0].IP.String() != tt.first {
				t.Errorf("first target %s, want %s", got[0].IP, tt.first)
			}
			for _, tg := range got {
				for _, p := range l.Prefixes {
					if tg.IP == p.Addr() {
						t.Errorf("own address %s swept", tg.IP)
					}
				}
			}
		})
	}
}

func TestDialPermissionError(t *testing.T) {
	d, err := New(testDevice(t), Defaults(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d.links = func([]string) ([]link, error) { return []link{testLink}, nil }
	d.neighbours = func() ([]neighbour, error) { return nil, nil }
	d.dial = func(ifi *net.Interface) (arpConn, error) {
		// What arp.Dial returns without the capability, wrapped as
		// dialARP wraps it.
		return nil, wrapDialError(ifi, os.NewSyscallError("socket", syscall.EPERM))
	}
	_, err = d.Poll(context.Background())
	if !errors.Is(err, ErrNeedCapNetRaw) {
		t.Fatalf("err = %v, want ErrNeedCapNetRaw", err)
	}
	for _, want := range []string{"CAP_NET_RAW", "setcap cap_net_raw+ep", "AmbientCapabilities=CAP_NET_RAW", "eth0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
