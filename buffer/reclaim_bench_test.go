package buffer

import (
	"os"
	"path/filepath"
	"testing"
)

// apparentSize is the sum of file lengths in dir, for comparison with
// dirSize (allocated blocks).
func apparentSize(dir string) int64 {
	entries, _ := os.ReadDir(dir)
	var n int64
	for _, e := range entries {
		if info, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

// diskPhases fills n records, drains them, runs one GC tick and closes,
// returning the disk usage (allocated) before, at the peak, after the
// drain, after the GC tick and after Close.
func diskPhases(tb testing.TB, n int, reclaim bool) (base, peak, drained, ticked, closed int64) {
	dir := tb.TempDir()
	d, err := Open(dir, Options{Logger: testLogger(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	d.noReclaim = !reclaim
	base = d.Stats().DiskBytes
	fill(tb, d, n, Telemetry)
	peak = d.Stats().DiskBytes
	apparentPeak := apparentSize(dir)
	drain(tb, d)
	drained = d.Stats().DiskBytes
	reply := make(chan error, 1)
	d.maint <- reply
	if err := <-reply; err != nil {
		tb.Fatal(err)
	}
	if err := d.vlogGC(); err != nil {
		tb.Fatal(err)
	}
	ticked = d.Stats().DiskBytes
	if err := d.Close(); err != nil {
		tb.Fatal(err)
	}
	closed = dirSize(dir)
	tb.Logf("%d records, reclaim %v: disk before %s, peak %s (apparent %s), drained %s, after GC tick %s, after Close %s",
		n, reclaim, mib(base), mib(peak), mib(apparentPeak), mib(drained), mib(ticked), mib(closed))
	return base, peak, drained, ticked, closed
}

// TestReclaimReturnsDisk drains a backlog past the reclaim threshold and
// checks the disk usage comes back near the empty buffer's.
func TestReclaimReturnsDisk(t *testing.T) {
	base, peak, drained, _, _ := diskPhases(t, 3*reclaimAfter, true)
	if peak < base+4<<20 {
		t.Fatalf("peak %s barely above base %s: the test filled too little to show anything", mib(peak), mib(base))
	}
	if drained > base+1<<20 {
		t.Fatalf("after drain the buffer still uses %s (base %s, peak %s)", mib(drained), mib(base), mib(peak))
	}
}

// BenchmarkDiskReclaim fills 200,000 records of ~250 bytes, drains them and
// prints the disk usage before, at the peak, after the drain, after a GC
// tick and after Close, with and without the reclaim (badger issue #1995).
func BenchmarkDiskReclaim(b *testing.B) {
	const records = 200_000
	for _, reclaim := range []bool{true, false} {
		name := "reclaim=on"
		if !reclaim {
			name = "reclaim=off"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				_, peak, drained, _, _ := diskPhases(b, records, reclaim)
				b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
				b.ReportMetric(float64(drained)/(1<<20), "drained-MiB")
			}
		})
	}
}

// BenchmarkDiskBounded keeps appending to a buffer capped at 8 MiB (a link
// that stays down): eviction leaves tombstones at the head and the queue
// never drains, so no reclaim runs. It prints how far disk usage climbs
// above the logical bound with badger's own compaction alone.
func BenchmarkDiskBounded(b *testing.B) {
	const records, limit = 200_000, 8 << 20
	for range b.N {
		dir := b.TempDir()
		d, err := Open(dir, Options{Logger: testLogger(b), MaxBytes: limit})
		if err != nil {
			b.Fatal(err)
		}
		var peak int64
		for done := 0; done < records; done += 10_000 {
			fill(b, d, 10_000, Telemetry)
			peak = max(peak, d.Stats().DiskBytes)
		}
		st := d.Stats()
		b.Logf("MaxBytes %s: %d records kept (%s logical), %d evicted; disk at end %s, highest seen %s",
			mib(limit), st.Records, mib(st.Bytes), st.EvictedTelemetry, mib(st.DiskBytes), mib(peak))
		b.ReportMetric(float64(peak)/float64(limit), "peak-disk/MaxBytes")
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
