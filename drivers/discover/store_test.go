package discover

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreRoundTrip(t *testing.T) {
	s := store{dir: t.TempDir()}
	inv, warn, err := s.load()
	if err != nil || warn != nil || !inv.fresh || len(inv.hosts) != 0 {
		t.Fatalf("empty dir: %v %v %+v", err, warn, inv)
	}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	hosts := []Host{{MAC: macA, IPs: []string{"10.0.0.1"}, Kind: KindPrinter, Present: true, FirstSeen: now, LastSeen: now,
		SNMP: &SNMPIdentity{SysName: "drucker", Via: "v2c community #1"}}}
	if err := s.save(hosts, now); err != nil {
		t.Fatal(err)
	}
	inv, warn, err = s.load()
	if err != nil || warn != nil || inv.fresh {
		t.Fatalf("load: %v %v fresh=%v", err, warn, inv.fresh)
	}
	h := inv.hosts[macA]
	if h == nil || h.SNMP.SysName != "drucker" || !h.FirstSeen.Equal(now) {
		t.Errorf("loaded %+v", h)
	}
	if err := (store{}).save(hosts, now); err != nil {
		t.Errorf("store without a dir must not fail: %v", err)
	}
}

func TestStoreCorruptMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, stateFile)
	if err := os.WriteFile(path, []byte(`{"version":1,"hosts":[{"mac":"nonsense"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, warn, err := store{dir: dir}.load()
	if err != nil {
		t.Fatal(err)
	}
	if warn == nil || !strings.Contains(warn.Error(), "moved to") {
		t.Errorf("warn = %v", warn)
	}
	if inv.fresh {
		t.Error("a lost inventory must not learn the next sweep as baseline")
	}
	if _, err := os.Stat(path + ".corrupt"); err != nil {
		t.Errorf("corrupt file not kept: %v", err)
	}
}

func TestDecodeState(t *testing.T) {
	for _, bad := range []string{
		``, `[]`, `{"version":2,"hosts":[]}`,
		`{"version":1,"hosts":[{"mac":"00:16:3E:00:00:0A"}]}`,
		`{"version":1,"hosts":[{"mac":"00:16:3e:00:00:0a"},{"mac":"00:16:3e:00:00:0a"}]}`,
		`{"version":1,"hosts":[{"mac":"00:16:3e:00:00:0a","missed_sweeps":-1}]}`,
	} {
		if _, err := decodeState([]byte(bad)); err == nil {
			t.Errorf("decodeState(%s) accepted", bad)
		}
	}
}

// FuzzDecodeState: the state file may be damaged by a power cut on a
// cheap SD card; loading it must fail cleanly or give a usable inventory.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"version":1,"saved":"2026-03-01T08:00:00Z","hosts":[{"mac":"00:16:3e:00:00:0a","ips":["10.0.0.1"],"kind":"printer","present":true}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		hosts, err := decodeState(b)
		if err != nil {
			return
		}
		inv := &inventory{hosts: map[string]*Host{}}
		for i := range hosts {
			inv.hosts[hosts[i].MAC] = &hosts[i]
		}
		p, _ := Defaults().check()
		inv.merge(time.Now(), obsOf(macA, "10.0.0.1"), nil, p)
	})
}
