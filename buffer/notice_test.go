package buffer

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
)

// noticeOptions stores notices as JSON events on topic "event/box", as
// the gateway does with its own encoding.
func noticeOptions() Options {
	return Options{NoticeRecord: func(n Notice) (Record, error) {
		b, err := json.Marshal(map[string]any{"type": n.Type, "severity": n.Severity, "message": n.Message, "attrs": n.Attrs})
		return Record{Topic: "event/box", Payload: b}, err
	}}
}

// storedNotice is a notice read back from the queue.
type storedNotice struct {
	seq      uint64
	Type     string         `json:"type"`
	Severity string         `json:"severity"`
	Message  string         `json:"message"`
	Attrs    map[string]any `json:"attrs"`
}

// noticesIn picks the notices out of records read from the queue.
func noticesIn(recs []Record) []storedNotice {
	var out []storedNotice
	for _, r := range recs {
		if r.Topic != "event/box" {
			continue
		}
		var n storedNotice
		if json.Unmarshal(r.Payload, &n) != nil {
			continue
		}
		n.seq = r.Seq
		out = append(out, n)
	}
	return out
}

// TestEvictionNotices: evictions by max_bytes are reported as notices with
// counts and seq ranges: the first at once, later ones summed up (at most
// one a minute), and what is still pending at Close is reported by the
// next Open. Together the notices account for every evicted record.
func TestEvictionNotices(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "buffer")
	opts := noticeOptions()
	opts.Logger = testLogger(t)
	opts.MaxBytes = 64 << 10
	d := openT(t, dir, opts)
	appended := map[uint64]bool{}
	for i := range 40 {
		batch := make([]Record, 50)
		for j := range batch {
			batch[j] = Record{Class: Telemetry, Topic: "telemetry/x", Payload: damagePayload(i*50 + j)}
		}
		if err := d.Append(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		for _, r := range batch {
			appended[r.Seq] = true
		}
	}
	evicted := d.Stats().EvictedTelemetry
	closeT(t, d)
	d = openT(t, dir, opts)
	defer closeT(t, d)
	ns := noticesIn(drainAll(t, d))
	if len(ns) != 2 {
		t.Fatalf("%d notices, want the first eviction at once and the rest at the next Open: %+v", len(ns), ns)
	}
	var sum float64
	var prevLast float64
	for _, n := range ns {
		if n.Type != "buffer.evicted" || n.Severity != "minor" || n.Attrs["reason"] != "max_bytes" {
			t.Fatalf("notice %+v", n)
		}
		first, last := num(n.Attrs["telemetry_first_seq"]), num(n.Attrs["telemetry_last_seq"])
		if !appended[uint64(first)] || !appended[uint64(last)] || first <= prevLast || last < first {
			t.Fatalf("seq range %v-%v (after %v) does not fit the appended records", first, last, prevLast)
		}
		prevLast = last
		sum += num(n.Attrs["telemetry_records"])
	}
	if int64(sum) != evicted || evicted == 0 {
		t.Fatalf("notices count %v evicted records, the counters %d", sum, evicted)
	}
}
