package buffer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenInMemoryOnFullDisk: where Open gives ErrDiskFull (a data
// partition someone else filled), the in-memory fallback runs, reports
// DiskFull, issues seqs above everything the disk buffer issued, and
// records them in the seq file, so the disk buffer opened after space is
// freed continues above them: no seq is ever handed out twice. On a file
// system with not even room for the seq file it refuses appends with
// ErrDiskFull instead of issuing seqs it cannot record.
func TestOpenInMemoryOnFullDisk(t *testing.T) {
	for _, fs := range []struct {
		name  string
		mount func(t *testing.T) string
	}{
		{"tmpfs", func(t *testing.T) string { return mountTmpfs(t, "48m") }},
		{"ext4", func(t *testing.T) string { return mountExt4(t, 64) }},
	} {
		t.Run(fs.name, func(t *testing.T) {
			dir := fs.mount(t)
			bufDir := filepath.Join(dir, "buffer")
			d := openT(t, bufDir, Options{})
			old := mustAppend(t, d, rec(Event, "e", "on disk"), rec(Telemetry, "t", "on disk too"))
			closeT(t, d)

			filler := fillTo(t, dir, "filler", 1<<20)
			if _, err := Open(bufDir, Options{Logger: testLogger(t)}); !errors.Is(err, ErrDiskFull) {
				t.Fatalf("Open with 1 MiB free = %v, want ErrDiskFull", err)
			}
			m, err := OpenInMemory(bufDir, Options{Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			if !m.Stats().DiskFull {
				t.Error("the in-memory fallback does not report DiskFull (buffer.disk_full)")
			}
			mem := mustAppend(t, m, rec(Event, "e", "in memory"), rec(Telemetry, "t", "in memory too"))
			if mem[0] <= old[1] {
				t.Fatalf("in-memory seqs %v do not continue above the disk buffer's %v", mem, old)
			}
			sf, ok, err := readSeqFile(seqPath(bufDir))
			if err != nil || !ok || sf.Ceiling < mem[1] || sf.Clean {
				t.Fatalf("seq file after the in-memory appends: %+v ok=%v err=%v; want an unclean file with ceiling ≥ %d", sf, ok, err, mem[1])
			}
			if recs := drainAll(t, m); len(recs) != 2 {
				t.Fatalf("in-memory queue gave %d records, want 2", len(recs))
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}

			// Brim full: not even the seq file fits.
			brim := fillTo(t, dir, "brim", 0)
			m2, err := OpenInMemory(bufDir, Options{Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			err = m2.Append(context.Background(), []Record{rec(Event, "e", "nowhere")})
			if !errors.Is(err, ErrDiskFull) {
				// The write may have found a last block; the seq file
				// must then say so.
				if err != nil {
					t.Fatalf("Append on a brim-full disk = %v, want ErrDiskFull or success", err)
				}
				t.Log("the seq file still fit on the brim-full file system")
			}
			_ = m2.Close()

			for _, p := range []string{filler, brim} {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
			d = openT(t, bufDir, Options{})
			t.Cleanup(func() { _ = d.Close() })
			recs := drainAll(t, d)
			if len(recs) != 2 || recs[0].Seq != old[0] || recs[1].Seq != old[1] {
				t.Fatalf("the records on disk after the fallback: %+v", recs)
			}
			next := mustAppend(t, d, rec(Event, "e", "back on disk"))
			if next[0] <= mem[1] || next[0] <= m2.Stats().LastSeq {
				t.Fatalf("the disk buffer continues at seq %d, not above the in-memory seqs %v / %d: seqs reused", next[0], mem, m2.Stats().LastSeq)
			}
		})
	}
}
