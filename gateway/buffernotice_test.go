package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// TestBufferResetContinuesSeqs: a buffer that issued seqs before it became
// unreadable is moved aside; the buffer.reset event and the buffer's own
// report of what it held get seqs above every old one, so a consumer
// de-duplicating on seq drops neither.
func TestBufferResetContinuesSeqs(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	bufDir := filepath.Join(dir, "buffer")
	old, err := buffer.Open(bufDir, buffer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]buffer.Record, 2000)
	for i := range recs {
		recs[i] = buffer.Record{Class: buffer.Telemetry, Topic: "telemetry/old", Payload: fmt.Appendf(nil, `{"i":%d}`, i)}
	}
	if err := old.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	lastOld := recs[len(recs)-1].Seq
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	// Damage no repair can undo: every file but the lock is garbage.
	entries, err := os.ReadDir(bufDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "LOCK" {
			if err := os.WriteFile(filepath.Join(bufDir, e.Name()), []byte(strings.Repeat("garbage\x00\xff", 100)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}

	s := subscribeAll(t, mq.URL())
	cfg := load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
devices: [{id: f, driver: sim, interval: 1s, sim: {scenario: fridge}}]
`, dir, mq.URL()))
	_, stop := start(t, cfg)
	defer stop()
	waitFor(t, "buffer.reset and buffer.damaged events", func() bool {
		return s.count("/event/gateway", `"type":"buffer.reset"`) == 1 && s.count("/event/gateway", `"type":"buffer.damaged"`) == 1
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if !strings.Contains(m, "/event/gateway") || !strings.Contains(m, `"type":"buffer.`) {
			continue
		}
		var ev struct {
			Seq   uint64         `json:"seq"`
			Type  string         `json:"type"`
			Attrs map[string]any `json:"attrs"`
		}
		if err := json.Unmarshal([]byte(m[strings.IndexByte(m, ' ')+1:]), &ev); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if ev.Seq <= lastOld {
			t.Fatalf("%s has seq %d, reused (the old buffer issued up to %d)", ev.Type, ev.Seq, lastOld)
		}
		if ev.Type == "buffer.damaged" && ev.Attrs["telemetry_held"] != 2000.0 {
			t.Fatalf("buffer.damaged reports %v telemetry records held, want 2000: %s", ev.Attrs["telemetry_held"], m)
		}
	}
}
