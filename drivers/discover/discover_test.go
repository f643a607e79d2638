package discover

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

func testDevice(t *testing.T) drivers.Device {
	return drivers.Device{ID: "netz", Kind: "network", StateDir: t.TempDir()}
}

// fakeDriver wires a Driver to an in-memory segment: no root, no network.
func fakeDriver(t *testing.T, dev drivers.Device, seg *fakeSegment, now *time.Time) *Driver {
	t.Helper()
	cfg := Defaults()
	cfg.Ports = nil
	cfg.ReverseDNS = false
	cfg.SNMP.Communities = nil
	cfg.Rate = 5000
	cfg.ReplyWait = 20 * time.Millisecond
	cfg.MissedSweeps = 1
	d, err := New(dev, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.links = func([]string) ([]link, error) { return []link{testLink}, nil }
	d.neighbours = func() ([]neighbour, error) { return nil, errors.New("no /proc here") }
	d.dial = func(*net.Interface) (arpConn, error) {
		seg.mu.Lock()
		seg.closed = false
		seg.dl = time.Time{}
		seg.mu.Unlock()
		return seg, nil
	}
	d.now = func() time.Time { return *now }
	return d
}

func TestPollPersistsAcrossRestarts(t *testing.T) {
	dev := testDevice(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	seg := newFakeSegment(
		fakeHost{ip: netip.MustParseAddr("10.0.0.2"), mac: mustMAC("00:11:32:00:00:02"), answerFrom: 1},
		fakeHost{ip: netip.MustParseAddr("10.0.0.3"), mac: mustMAC("00:c0:b7:00:00:03"), answerFrom: 1},
	)
	d := fakeDriver(t, dev, seg, &now)
	if inv := d.Inventory(); inv != nil {
		t.Fatalf("inventory before the first sweep: %v", inv)
	}
	s, err := d.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if metric(s, "discover.hosts") != 2 || metric(s, "discover.hosts.new") != 2 || metric(s, "discover.subnets") != 1 {
		t.Errorf("metrics %+v", s.Metrics)
	}
	inv := d.Inventory()
	if len(inv) != 2 || inv[0].Vendor != "Synology Incorporated" || inv[0].Kind != KindNAS || inv[1].Kind != KindUPSCard {
		t.Fatalf("inventory %+v", inv)
	}
	inv[0].IPs[0] = "mutated"
	if d.Inventory()[0].IPs[0] == "mutated" {
		t.Error("Inventory returned shared slices")
	}

	// A restart: a new Driver on the same StateDir, one host gone.
	seg.hosts = seg.hosts[:1]
	now = now.Add(15 * time.Minute)
	d2 := fakeDriver(t, dev, seg, &now)
	s, err = d2.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := types(s.Events); len(got) != 1 || got[0] != "device.disappeared:00:c0:b7:00:00:03" {
		t.Errorf("events after restart %v", got)
	}
	h := d2.Inventory()[0]
	if !h.FirstSeen.Equal(now.Add(-15*time.Minute)) || !h.Learned {
		t.Errorf("first_seen/learned lost across restart: %+v", h)
	}
	b, err := os.ReadFile(filepath.Join(dev.StateDir, stateFile))
	if err != nil || !strings.Contains(string(b), `"version": 1`) {
		t.Fatalf("state file: %v %s", err, b)
	}
}

func TestInventoryConcurrentWithPoll(t *testing.T) {
	now := time.Now()
	seg := newFakeSegment(fakeHost{ip: netip.MustParseAddr("10.0.0.2"), mac: mustMAC("00:11:32:00:00:02"), answerFrom: 1})
	d := fakeDriver(t, testDevice(t), seg, &now)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = d.Inventory()
			}
		}
	})
	for range 3 {
		if _, err := d.Poll(context.Background()); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestPollLinkErrors(t *testing.T) {
	now := time.Now()
	d := fakeDriver(t, testDevice(t), newFakeSegment(), &now)
	d.links = func([]string) ([]link, error) {
		return []link{{Name: "eth0", MAC: testLink.MAC, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/16")}}}, nil
	}
	if _, err := d.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "allow_large") {
		t.Errorf("err = %v, want the /22 limit", err)
	}
	d.links = func([]string) ([]link, error) { return []link{testLink}, nil }
	d.dial = func(*net.Interface) (arpConn, error) { return nil, errors.New("no such device") }
	if _, err := d.Poll(context.Background()); !errors.Is(err, drivers.ErrUnreachable) {
		t.Errorf("err = %v, want ErrUnreachable", err)
	}
}

func TestRegistered(t *testing.T) {
	f, ok := drivers.Lookup("discover")
	if !ok {
		t.Fatal("discover not registered")
	}
	cfg := f.NewConfig().(*Config)
	if cfg.Rate != 500 || cfg.MissedSweeps != 3 || !cfg.LearnFirstSweep {
		t.Errorf("defaults %+v", cfg)
	}
	if _, err := f.New(drivers.Device{ID: "netz"}, cfg, nil); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		field string
		mod   func(*Config)
	}{
		{"rate", func(c *Config) { c.Rate = 0 }},
		{"retries", func(c *Config) { c.Retries = -1 }},
		{"reply_wait", func(c *Config) { c.ReplyWait = time.Millisecond }},
		{"interfaces[1]", func(c *Config) { c.Interfaces = []string{"eth0", "a b"} }},
		{"ports[0]", func(c *Config) { c.Ports = []int{70000} }},
		{"missed_sweeps", func(c *Config) { c.MissedSweeps = 0 }},
		{"known_macs[0]", func(c *Config) { c.KnownMACs = []string{"zz:zz"} }},
		{"adopted", func(c *Config) { c.Adopted = map[string]string{"00:11:32:00:00:01": "Not A Slug"} }},
		{"unknown_severity", func(c *Config) { c.UnknownSeverity = "panic" }},
		{"snmp.communities[0]", func(c *Config) { c.SNMP.Communities = []drivers.Secret{""} }},
		{"snmp.v3_users[0].auth_password", func(c *Config) {
			c.SNMP.Users = []SNMPUser{{User: "mon", AuthProtocol: "SHA", AuthPassword: "short"}}
		}},
		{"snmp.v3_users[0].priv_protocol", func(c *Config) {
			c.SNMP.Users = []SNMPUser{{User: "mon", PrivProtocol: "ROT13"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			cfg := Defaults()
			tt.mod(&cfg)
			_, err := New(drivers.Device{}, cfg, nil)
			var fe *drivers.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
	cfg := Defaults()
	cfg.KnownMACs = []string{"00:11:32", "00-11-32-aa-bb-cc"}
	cfg.SNMP.Users = []SNMPUser{{User: "mon", AuthProtocol: "sha", AuthPassword: "geheim123", PrivProtocol: "aes", PrivPassword: "geheim456"}}
	if _, err := New(drivers.Device{}, cfg, nil); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

func TestSecretsStayOutOfJSON(t *testing.T) {
	cfg := Defaults()
	cfg.SNMP.Communities = []drivers.Secret{"sehr-geheim"}
	b, _ := json.Marshal(cfg)
	if strings.Contains(string(b), "sehr-geheim") {
		t.Error("community leaked into JSON")
	}
}
