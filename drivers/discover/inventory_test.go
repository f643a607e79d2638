package discover

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

func testPolicy(t *testing.T, mod func(*Config)) policy {
	t.Helper()
	cfg := Defaults()
	cfg.MissedSweeps = 2
	if mod != nil {
		mod(&cfg)
	}
	p, err := cfg.check()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func obsOf(pairs ...string) []observation {
	var out []observation
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, observation{MAC: pairs[i], IPs: strings.Fields(pairs[i+1]), Iface: "eth0"})
	}
	return out
}

// types lists "type:mac" (or "type:ip" for conflicts) in event order.
func types(evs []drivers.Event) []string {
	var out []string
	for _, e := range evs {
		key := attrMAC(e)
		if ip, ok := e.Attrs["ip"].(string); ok {
			key = ip
		}
		if e.Attrs["randomized"] == true {
			key = "group"
		}
		out = append(out, e.Type+":"+key)
	}
	return out
}

const (
	macA = "00:16:3e:00:00:0a"
	macB = "00:16:3e:00:00:0b"
	macC = "00:16:3e:00:00:0c"
	macR = "da:a1:19:00:00:01" // locally administered
)

func TestMergeSequence(t *testing.T) {
	p := testPolicy(t, func(c *Config) { c.KnownMACs = []string{"00:16:3e:00:00:0c"} })
	inv := &inventory{hosts: map[string]*Host{}, fresh: true}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	steps := []struct {
		name    string
		obs     []observation
		enr     map[string]enrichment
		want    []string
		present int
		unknown int
	}{
		{
			name:    "first sweep learns, groups randomised",
			obs:     obsOf(macA, "10.0.0.10", macB, "10.0.0.11", macR, "10.0.0.50"),
			want:    []string{"device.appeared:" + macA, "device.appeared:" + macB, "device.unknown:group"},
			enr:     map[string]enrichment{macA: {DNSName: "drucker1.praxis.lan", OpenPorts: []int{9100}}},
			present: 3,
		},
		{
			name:    "steady state is quiet",
			obs:     obsOf(macA, "10.0.0.10", macB, "10.0.0.11", macR, "10.0.0.50"),
			want:    nil,
			present: 3,
		},
		{
			name: "unknown newcomer with two IPs, known one, name change",
			obs:  obsOf(macA, "10.0.0.10", macB, "10.0.0.11", macR, "10.0.0.50", "00:16:3e:00:00:0d", "10.0.0.20 10.0.0.21", macC, "10.0.0.30"),
			enr:  map[string]enrichment{macA: {DNSName: "drucker-empfang.praxis.lan", OpenPorts: []int{9100}}},
			want: []string{
				"device.changed:" + macA, "device.appeared:" + macC,
				"device.appeared:00:16:3e:00:00:0d", "device.unknown:00:16:3e:00:00:0d",
			},
			present: 5, unknown: 1,
		},
		{
			name: "B silent once is not gone; R silent once neither",
			obs:  obsOf(macA, "10.0.0.10", "00:16:3e:00:00:0d", "10.0.0.20 10.0.0.21", macC, "10.0.0.30"),
			want: nil, present: 5, unknown: 1,
		},
		{
			name:    "B gone after two sweeps, R dropped silently; C moving to B's old address is no conflict, B was silent last sweep",
			obs:     obsOf(macA, "10.0.0.10", "00:16:3e:00:00:0d", "10.0.0.20 10.0.0.21", macC, "10.0.0.11"),
			want:    []string{"device.disappeared:" + macB},
			present: 3, unknown: 1,
		},
		{
			name:    "takeover: D silent, A answers for D's address",
			obs:     obsOf(macA, "10.0.0.20", macC, "10.0.0.11"),
			want:    []string{"network.ip_conflict:10.0.0.20"},
			present: 3, unknown: 1,
		},
		{
			name:    "two MACs answer for one IP",
			obs:     obsOf(macA, "10.0.0.20", macC, "10.0.0.20", macB, "10.0.0.40"),
			want:    []string{"device.appeared:" + macB, "device.disappeared:00:16:3e:00:00:0d", "network.ip_conflict:10.0.0.20"},
			present: 3, unknown: 0,
		},
		{
			name:    "a host moving to a free address is no conflict",
			obs:     obsOf(macA, "10.0.0.21", macC, "10.0.0.22", macB, "10.0.0.40"),
			want:    nil,
			present: 3,
		},
	}
	for i, s := range steps {
		now := t0.Add(time.Duration(i) * 15 * time.Minute)
		evs, st := inv.merge(now, s.obs, s.enr, p)
		if got := types(evs); !slices.Equal(got, s.want) {
			t.Errorf("step %d (%s): events\n got %v\nwant %v", i, s.name, got, s.want)
		}
		if st.present != s.present || st.unknown != s.unknown {
			t.Errorf("step %d (%s): present %d unknown %d, want %d %d", i, s.name, st.present, st.unknown, s.present, s.unknown)
		}
		for _, e := range evs {
			if e.Message == "" || !e.Time.Equal(now) || e.Severity.Rank() < 0 {
				t.Errorf("step %d: incomplete event %+v", i, e)
			}
		}
	}
	a := inv.hosts[macA]
	if a.Name != "drucker-empfang.praxis.lan" || a.Kind != KindPrinter || !a.Known || !a.Learned || !a.FirstSeen.Equal(t0) {
		t.Errorf("host A = %+v", a)
	}
	if _, ok := inv.hosts[macR]; ok {
		t.Error("randomised host kept after it disappeared")
	}
	if b := inv.hosts[macB]; !b.Present || b.Missed != 0 {
		t.Errorf("host B back: %+v", b)
	}
}

func TestMergeSeverities(t *testing.T) {
	p := testPolicy(t, func(c *Config) {
		c.UnknownSeverity = "critical"
		c.RandomizedSeverity = "minor"
		c.ConflictSeverity = "major"
		c.LearnFirstSweep = false
		c.Adopted = map[string]string{macA: "drucker-empfang"}
	})
	inv := &inventory{hosts: map[string]*Host{}, fresh: true}
	evs, _ := inv.merge(time.Now(), obsOf(macA, "10.0.0.1", macB, "10.0.0.1", macR, "10.0.0.9"), nil, p)
	sev := map[string]drivers.Severity{}
	for _, e := range evs {
		sev[types([]drivers.Event{e})[0]] = e.Severity
	}
	want := map[string]drivers.Severity{
		"device.appeared:" + macA: drivers.Info, "device.appeared:" + macB: drivers.Info,
		"device.unknown:" + macB: drivers.Critical, "device.unknown:group": drivers.Minor,
		"network.ip_conflict:10.0.0.1": drivers.Major,
	}
	if len(sev) != len(want) {
		t.Errorf("events %v, want %v", sev, want)
	}
	for k, v := range want {
		if sev[k] != v {
			t.Errorf("%s severity %q, want %q", k, sev[k], v)
		}
	}
	if h := inv.hosts[macA]; h.Adopted != "drucker-empfang" || !h.Known {
		t.Errorf("adopted host %+v", h)
	}
	// An adopted device leaving matters more than an unknown one.
	inv.merge(time.Now(), nil, nil, p)
	evs, _ = inv.merge(time.Now(), nil, nil, p)
	for _, e := range evs {
		if e.Type == "device.disappeared" && attrMAC(e) == macA && e.Severity != drivers.Minor {
			t.Errorf("adopted device disappeared with %s", e.Severity)
		}
	}
}

func TestMergeForgets(t *testing.T) {
	p := testPolicy(t, func(c *Config) { c.MissedSweeps = 1; c.ForgetAfter = 24 * time.Hour })
	inv := &inventory{hosts: map[string]*Host{}}
	t0 := time.Now()
	inv.merge(t0, obsOf(macA, "10.0.0.1"), nil, p)
	inv.merge(t0.Add(time.Hour), nil, nil, p)
	if h := inv.hosts[macA]; h == nil || h.Present {
		t.Fatalf("gone host should be kept as not present: %+v", h)
	}
	inv.merge(t0.Add(25*time.Hour), nil, nil, p)
	if _, ok := inv.hosts[macA]; ok {
		t.Error("host gone for longer than forget_after still in the inventory")
	}
}

func TestDue(t *testing.T) {
	t0 := time.Now()
	inv := &inventory{hosts: map[string]*Host{
		macA: {MAC: macA, IPs: []string{"10.0.0.1"}, Present: true, EnrichedAt: t0},
		macB: {MAC: macB, IPs: []string{"10.0.0.2"}, Present: true, EnrichedAt: t0.Add(-48 * time.Hour)},
		macC: {MAC: macC, IPs: []string{"10.0.0.3"}, Present: true, EnrichedAt: t0},
	}}
	got := inv.due(obsOf(macA, "10.0.0.1", macB, "10.0.0.2", macC, "10.0.0.4", macR, "10.0.0.5"), t0, 24*time.Hour)
	var macs []string
	for _, o := range got {
		macs = append(macs, o.MAC)
	}
	if want := []string{macB, macC, macR}; !slices.Equal(macs, want) {
		t.Errorf("due = %v, want %v (stale, moved, new)", macs, want)
	}
}
