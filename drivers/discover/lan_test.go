package discover

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/discover/netlab"
)

// requirePeer fails (never skips) when a Debian peer is missing.
func requirePeer(t testing.TB, bin, pkg string) string {
	t.Helper()
	testpeer.SkipShort(t, pkg)
	p, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s not found (Debian package %s); `make test` installs it", bin, pkg)
	}
	return p
}

// sweepIn runs one sweep in the LAN's sweeper namespace in a fresh child
// process: a new process per sweep also proves the inventory survives a
// restart of the gateway.
func sweepIn(t testing.TB, ctx context.Context, lan *netlab.LAN, a helperArgs, wrap ...string) (helperResult, time.Duration) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	a.Iface = lan.SweeperIface
	b, _ := json.Marshal(a)
	name, args := exe, []string{"-test.run=^$"}
	if len(wrap) > 0 {
		// e.g. setpriv, to run the child without a capability
		name, args = wrap[0], append(slices.Clone(wrap[1:]), exe, "-test.run=^$")
	}
	cmd := lan.Command(ctx, lan.Sweeper, name, args...)
	cmd.Env = append(os.Environ(), helperEnv+"=sweep", "PGD_DISCOVER_ARGS="+string(b))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("sweep child: %v\nstderr:\n%s", err, stderr.String())
	}
	var res helperResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("sweep child output %q: %v\nstderr:\n%s", out, err, stderr.String())
	}
	return res, wall
}

// randomMAC gives hosts 50 and 51 locally administered addresses, like a
// phone with "private Wi-Fi address" on.
func lanMAC(i int) net.HardwareAddr {
	if i >= 50 {
		return net.HardwareAddr{0xda, 0xa1, 0x19, 0x00, 0x00, byte(i)}
	}
	return net.HardwareAddr{0x00, 0x16, 0x3e, 0x50, 0x00, byte(i)}
}

func buildLAN(t testing.TB, ctx context.Context, name, subnet string, hosts int, ip func(int) netip.Addr) *netlab.LAN {
	t.Helper()
	testpeer.SkipShort(t, "root (network namespaces)")
	if err := netlab.CheckRoot(); err != nil {
		t.Fatal(err)
	}
	lan, err := netlab.Build(ctx, netlab.Options{Name: name, Subnet: netip.MustParsePrefix(subnet), Hosts: hosts, HostMAC: lanMAC, HostIP: ip})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lan.Close(); err != nil {
			t.Errorf("clean up namespaces: %v", err)
		}
	})
	return lan
}

// startSNMPD runs Debian's snmpd inside host h with a community and a
// Synology sysObjectID, and waits until it answers.
func startSNMPD(t *testing.T, ctx context.Context, lan *netlab.LAN, h *netlab.Host) {
	t.Helper()
	snmpd := requirePeer(t, "snmpd", "snmpd")
	snmpget := requirePeer(t, "snmpget", "snmp")
	dir := t.TempDir()
	conf := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(
		"agentAddress udp:%s:161\n"+
			"rocommunity praxis-test\n"+
			"sysName nas-praxis\n"+
			"sysDescr DiskStation test agent\n"+
			"sysObjectID .1.3.6.1.4.1.6574.1\n"+
			"sysLocation Serverraum\n"+
			"sysContact it@praxis.example\n"+
			"sysServices 72\n", h.IP)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := lan.Command(ctx, h.NS, snmpd, "-f", "-C", "-c", conf, "-Lf", filepath.Join(dir, "snmpd.log"), "-p", filepath.Join(dir, "snmpd.pid"))
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+dir, "MIBS=", "MIBDIRS="+dir)
	if err := lan.Start(cmd); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		out, err := lan.Command(ctx, lan.Sweeper, snmpget, "-v2c", "-c", "praxis-test", "-t", "0.3", "-r", "0", "-On", h.IP.String(), "1.3.6.1.2.1.1.5.0").CombinedOutput()
		if err == nil && strings.Contains(string(out), "nas-praxis") {
			return
		}
		if i == 50 {
			log, _ := os.ReadFile(filepath.Join(dir, "snmpd.log"))
			t.Fatalf("snmpd in %s did not answer: %v %s\nlog:\n%s", h.NS, err, out, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func eventsOf(s drivers.Sample, typ string) []drivers.Event {
	var out []drivers.Event
	for _, e := range s.Events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func metric(s drivers.Sample, name string) float64 {
	for _, m := range s.Metrics {
		if m.Name == name {
			if v, ok := m.Float(); ok {
				return v
			}
		}
	}
	return -1
}

func attrMAC(e drivers.Event) string {
	s, _ := e.Attrs["mac"].(string)
	return s
}

// TestLAN sweeps a namespace LAN of 52 hosts twice, changing it in
// between, and checks every promise of issue 4 that needs a real segment.
func TestLAN(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lan := buildLAN(t, ctx, "lan", "10.77.0.0/24", 52, nil)
	hosts := lan.Hosts()
	nas, printer := hosts[3], hosts[7]
	startSNMPD(t, ctx, lan, nas)

	exe, _ := os.Executable()
	lst := lan.Command(ctx, printer.NS, exe, "-test.run=^$")
	lst.Env = append(os.Environ(), helperEnv+"=listen", "PGD_DISCOVER_PORTS=9100")
	if err := startAndWait(lst, lan.Start, "ready", 10*time.Second); err != nil {
		t.Fatal(err)
	}

	state := t.TempDir()
	args := helperArgs{
		StateDir:     state,
		Communities:  []string{"wrong-first", "praxis-test"},
		Ports:        []int{22, 80, 443, 445, 631, 3389, 9100},
		MissedSweeps: 1,
	}
	res, _ := sweepIn(t, ctx, lan, args)
	if res.Err != "" {
		t.Fatalf("first sweep: %s", res.Err)
	}
	byMAC := map[string]Host{}
	for _, h := range res.Hosts {
		byMAC[h.MAC] = h
	}
	for _, h := range hosts {
		got, ok := byMAC[h.MAC.String()]
		if !ok || !got.Present || !slices.Equal(got.IPs, []string{h.IP.String()}) {
			t.Errorf("host %s (%s): got %+v", h.IP, h.MAC, got)
		}
	}
	if len(res.Hosts) != len(hosts) {
		t.Errorf("inventory has %d hosts, LAN has %d", len(res.Hosts), len(hosts))
	}
	if got := metric(res.Sample, "discover.hosts"); got != float64(len(hosts)) {
		t.Errorf("discover.hosts = %v, want %d", got, len(hosts))
	}

	t.Run("snmp identity", func(t *testing.T) {
		h := byMAC[nas.MAC.String()]
		if h.SNMP == nil || h.SNMP.SysName != "nas-praxis" || h.SNMP.SysObjectID != ".1.3.6.1.4.1.6574.1" ||
			h.SNMP.SysDescr != "DiskStation test agent" || h.SNMP.Via != "v2c community #2" {
			t.Fatalf("SNMP identity = %+v", h.SNMP)
		}
		if h.Name != "nas-praxis" || h.Kind != KindNAS || !strings.Contains(h.KindReason, "Synology") {
			t.Errorf("name %q kind %q (%s), want nas-praxis, nas by sysObjectID", h.Name, h.Kind, h.KindReason)
		}
		if d, p, id := Suggest(h); d != "snmp" || p != "synology" || id != "nas-praxis" {
			t.Errorf("Suggest = %s %s %s", d, p, id)
		}
	})
	t.Run("printer on 9100", func(t *testing.T) {
		h := byMAC[printer.MAC.String()]
		if h.Kind != KindPrinter || !slices.Contains(h.OpenPorts, 9100) || !strings.Contains(h.KindReason, "9100") {
			t.Errorf("printer host: kind %q reason %q ports %v", h.Kind, h.KindReason, h.OpenPorts)
		}
		if h.SNMP != nil {
			t.Errorf("printer host has no agent but got %+v", h.SNMP)
		}
	})
	t.Run("first sweep learns, randomised MACs grouped", func(t *testing.T) {
		if n := len(eventsOf(res.Sample, "device.appeared")); n != 50 {
			t.Errorf("%d device.appeared, want 50 (randomised MACs are grouped)", n)
		}
		unk := eventsOf(res.Sample, "device.unknown")
		if len(unk) != 1 || unk[0].Attrs["randomized"] != true || unk[0].Attrs["count"] != float64(2) || unk[0].Severity != drivers.Info {
			t.Errorf("device.unknown events = %+v, want one grouped event for 2 randomised MACs", unk)
		}
	})

	// Between the sweeps: host 10 leaves, host 11 is unplugged and a new
	// MAC takes its address, and a stranger plugs in.
	gone, victim := hosts[10], hosts[11]
	for _, h := range []*netlab.Host{gone, victim} {
		if err := lan.RemoveHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	thief := net.HardwareAddr{0x00, 0x16, 0x3e, 0x99, 0x00, 0x01}
	stranger := net.HardwareAddr{0x00, 0x16, 0x3e, 0x99, 0x00, 0x02}
	if _, err := lan.AddHost(ctx, victim.IP, thief); err != nil {
		t.Fatal(err)
	}
	if _, err := lan.AddHost(ctx, netip.MustParseAddr("10.77.0.200"), stranger); err != nil {
		t.Fatal(err)
	}

	res2, _ := sweepIn(t, ctx, lan, args)
	if res2.Err != "" {
		t.Fatalf("second sweep: %s", res2.Err)
	}
	t.Run("disappeared", func(t *testing.T) {
		var macs []string
		for _, e := range eventsOf(res2.Sample, "device.disappeared") {
			macs = append(macs, attrMAC(e))
		}
		slices.Sort(macs)
		want := []string{gone.MAC.String(), victim.MAC.String()}
		slices.Sort(want)
		if !slices.Equal(macs, want) {
			t.Errorf("device.disappeared for %v, want %v", macs, want)
		}
	})
	t.Run("ip conflict", func(t *testing.T) {
		c := eventsOf(res2.Sample, "network.ip_conflict")
		if len(c) != 1 || c[0].Attrs["ip"] != victim.IP.String() || c[0].Severity != drivers.Critical {
			t.Fatalf("network.ip_conflict = %+v", c)
		}
		macs, _ := c[0].Attrs["macs"].([]any)
		if len(macs) != 2 || macs[0] != victim.MAC.String() || macs[1] != thief.String() {
			t.Errorf("conflict MACs %v, want [%s %s]", macs, victim.MAC, thief)
		}
	})
	t.Run("unknown after learning", func(t *testing.T) {
		var app, unk []string
		for _, e := range eventsOf(res2.Sample, "device.appeared") {
			app = append(app, attrMAC(e))
		}
		for _, e := range eventsOf(res2.Sample, "device.unknown") {
			if e.Severity != drivers.Major {
				t.Errorf("device.unknown severity %s, want major", e.Severity)
			}
			unk = append(unk, attrMAC(e))
		}
		want := []string{thief.String(), stranger.String()}
		if !slices.Equal(app, want) || !slices.Equal(unk, want) {
			t.Errorf("appeared %v unknown %v, want both %v", app, unk, want)
		}
		if got := metric(res2.Sample, "discover.hosts.unknown"); got != 2 {
			t.Errorf("discover.hosts.unknown = %v, want 2", got)
		}
	})
	t.Run("inventory survived the restart", func(t *testing.T) {
		for _, h := range res2.Hosts {
			if h.MAC == nas.MAC.String() && (h.FirstSeen.IsZero() || !h.FirstSeen.Before(h.LastSeen) || h.Name != "nas-praxis") {
				t.Errorf("NAS after restart: %+v", h)
			}
		}
		if len(res2.Hosts) != 54 {
			t.Errorf("inventory holds %d hosts, want 54 (52 + 2 new, gone ones kept)", len(res2.Hosts))
		}
	})

	t.Run("watch reports between sweeps", func(t *testing.T) {
		exe, _ := os.Executable()
		a := args
		a.Iface = lan.SweeperIface
		a.Ports, a.Communities = nil, nil
		b, _ := json.Marshal(a)
		w := lan.Command(ctx, lan.Sweeper, exe, "-test.run=^$")
		w.Env = append(os.Environ(), helperEnv+"=watch", "PGD_DISCOVER_ARGS="+string(b))
		out, err := w.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := lan.Start(w); err != nil {
			t.Fatal(err)
		}
		lines := make(chan drivers.Event, 64)
		ready := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if sc.Text() == "ready" {
					close(ready)
					continue
				}
				var e drivers.Event
				if json.Unmarshal(sc.Bytes(), &e) == nil {
					lines <- e
				}
			}
			close(lines)
		}()
		select {
		case <-ready:
		case <-time.After(30 * time.Second):
			t.Fatal("watch child not ready")
		}
		// A laptop plugs in and talks to the gateway: its ARP request
		// for the sweeper's address is what the watch hears.
		laptop := net.HardwareAddr{0x00, 0x16, 0x3e, 0x99, 0x00, 0x03}
		lh, err := lan.AddHost(ctx, netip.MustParseAddr("10.77.0.201"), laptop)
		if err != nil {
			t.Fatal(err)
		}
		lan.Command(ctx, lh.NS, "bash", "-c", "exec 3<>/dev/tcp/"+lan.SweeperIP.String()+"/9").Run()
		// A host forges a gratuitous ARP for the NAS's address.
		g := lan.Command(ctx, hosts[20].NS, exe, "-test.run=^$")
		g.Env = append(os.Environ(), helperEnv+"=garp", "PGD_GARP_IP="+nas.IP.String())
		if out, err := g.CombinedOutput(); err != nil {
			t.Fatalf("garp: %v %s", err, out)
		}
		want := map[string]bool{
			"device.appeared:" + laptop.String(): true, "device.unknown:" + laptop.String(): true,
			"network.ip_conflict:" + nas.IP.String(): true,
		}
		deadline := time.After(15 * time.Second)
		for len(want) > 0 {
			select {
			case e, ok := <-lines:
				if !ok {
					t.Fatalf("watch child ended; still waiting for %v", want)
				}
				delete(want, types([]drivers.Event{e})[0])
			case <-deadline:
				t.Fatalf("watch did not report %v within 15 s", want)
			}
		}
	})

	t.Run("without CAP_NET_RAW", func(t *testing.T) {
		setpriv := requirePeer(t, "setpriv", "util-linux")
		res, _ := sweepIn(t, ctx, lan, helperArgs{}, setpriv, "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--")
		for _, want := range []string{"CAP_NET_RAW", "setcap cap_net_raw+ep", "AmbientCapabilities=CAP_NET_RAW"} {
			if !strings.Contains(res.Err, want) {
				t.Errorf("error %q does not mention %q", res.Err, want)
			}
		}
	})
}
