package selfmon

import (
	"context"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
)

func TestPollReadsEverySource(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	oldest := now.Add(30 * time.Second) // 30 s before the poll below
	m := New(Sources{
		Buffer: func() buffer.Stats {
			return buffer.Stats{Records: 1200, EventRecords: 3, Bytes: 300000, Oldest: oldest, EvictedTelemetry: 5, EvictedEvents: 1}
		},
		Uplink:      func() UplinkState { return UplinkState{Connected: true, Reconnects: 2, PublishRate: 400, Inflight: 7} },
		ClockSynced: func() bool { return false },
		Version:     "1.2.3",
		StateDir:    t.TempDir(),
		ProcRoot:    "testdata/proc",
		SysRoot:     "testdata/sys",
		Now:         func() time.Time { return now },
	})
	now = now.Add(time.Minute)
	smp, err := m.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := smp.Validate(); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, x := range smp.Metrics {
		got[x.Name] = x.Value
	}
	want := map[string]any{
		"buffer.records":          1200.0,
		"buffer.oldest_age":       30.0,
		"buffer.evicted":          6.0,
		"buffer.drain_eta":        3.0,
		"uplink.connected":        true,
		"uplink.reconnects":       2.0,
		"process.rss":             30120.0 * 1024,
		"system.memory.available": 2113960.0 * 1024,
		"system.temperature":      51.0,
		"system.uptime":           12345.7,
		"clock.synced":            false,
		"version":                 "1.2.3",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for _, k := range []string{"disk.free", "disk.used", "process.cpu", "process.goroutines"} {
		if _, ok := got[k]; !ok {
			t.Errorf("metric %s missing", k)
		}
	}
}

func TestParseCPUTimes(t *testing.T) {
	for _, c := range []struct {
		in   string
		ok   bool
		busy uint64
	}{
		{"cpu  10 0 10 70 10 0 0 0 0 0\n", true, 20},
		{"cpu0 1 2 3 4\n", false, 0},
		{"cpu  1 x 3 4 5\n", false, 0},
		{"", false, 0},
	} {
		ct, err := parseCPUTimes([]byte(c.in))
		if (err == nil) != c.ok || (c.ok && ct.busy != c.busy) {
			t.Errorf("%q: got %+v, %v", c.in, ct, err)
		}
	}
}

// TestBufferDiskFullIsACondition: the buffer's disk-full state becomes the
// buffer.disk_full condition (so the alarm engine raises and clears it), and
// only while it lasts.
func TestBufferDiskFullIsACondition(t *testing.T) {
	for _, full := range []bool{false, true} {
		m := New(Sources{
			Buffer: func() buffer.Stats {
				return buffer.Stats{DiskFull: full, DiskAvail: 12 << 20, DiskReserve: 17 << 20}
			},
			StateDir: t.TempDir(),
			ProcRoot: "testdata/proc",
			SysRoot:  "testdata/sys",
		})
		smp, err := m.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := smp.Validate(); err != nil {
			t.Fatal(err)
		}
		raised := len(smp.Conditions) == 1 && smp.Conditions[0].Name == "buffer.disk_full"
		if raised != full || (full && len(smp.Conditions) != 1) {
			t.Fatalf("DiskFull %v: conditions %+v", full, smp.Conditions)
		}
	}
}
