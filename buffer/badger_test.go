package buffer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

func openT(t *testing.T, dir string, opts Options) *DB {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	d, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return d
}

func closeT(t *testing.T, d *DB) {
	t.Helper()
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestSeqSurvivesRestartAndDrain(t *testing.T) {
	cases := []struct {
		name  string
		count int // records appended and fully drained before the restart
	}{
		{"few", 5},
		// Enough deletions to trigger the reclaim (DropPrefix) path.
		{"past reclaim threshold", reclaimAfter + 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := openT(t, dir, Options{})
			recs := make([]Record, tc.count)
			for i := range recs {
				recs[i] = rec(Telemetry, "t", fmt.Sprint(i))
			}
			if err := d.Append(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			last := recs[len(recs)-1].Seq
			var acks []uint64
			for len(acks) < tc.count {
				for _, r := range nextN(t, d, 1000) {
					acks = append(acks, r.Seq)
				}
			}
			if err := d.Ack(acks...); err != nil {
				t.Fatal(err)
			}
			if st := d.Stats(); st.Records != 0 || st.Bytes != 0 || st.LastSeq != last {
				t.Fatalf("after drain: %+v", st)
			}
			closeT(t, d)

			d = openT(t, dir, Options{})
			defer closeT(t, d)
			if st := d.Stats(); st.Records != 0 || st.LastSeq != last {
				t.Fatalf("after reopen: %+v, want empty with LastSeq %d", st, last)
			}
			seqs := mustAppend(t, d, rec(Event, "e", "after"))
			if seqs[0] != last+1 {
				t.Fatalf("first seq after reopen = %d, want %d", seqs[0], last+1)
			}
		})
	}
}

func TestReopenDoesNotRedeliverAcked(t *testing.T) {
	dir := t.TempDir()
	d := openT(t, dir, Options{})
	var recs []Record
	for i := range 10 {
		c := Telemetry
		if i%4 == 0 {
			c = Event
		}
		recs = append(recs, rec(c, "t", fmt.Sprint(i)))
	}
	seqs := mustAppend(t, d, recs...)
	nextN(t, d, 100)
	// Ack the oldest half, out of order, plus one from the middle.
	if err := d.Ack(seqs[2], seqs[0], seqs[1], seqs[4], seqs[3], seqs[7]); err != nil {
		t.Fatal(err)
	}
	closeT(t, d) // Close must flush the pending acks.

	d = openT(t, dir, Options{})
	defer closeT(t, d)
	want := []string{"8", "5", "6", "9"} // events (8) first, then telemetry
	if got := payloads(nextN(t, d, 100)); !equalStrings(got, want) {
		t.Fatalf("after reopen got %v, want %v", got, want)
	}
	st := d.Stats()
	if st.Records != 4 || st.EventRecords != 1 {
		t.Fatalf("stats after reopen: %+v", st)
	}
	// The persisted head hints point at the first remaining records.
	if h := d.st.class(Telemetry).head; h != seqs[5] {
		t.Errorf("telemetry head = %d, want %d", h, seqs[5])
	}
	if h := d.st.class(Event).head; h != seqs[8] {
		t.Errorf("event head = %d, want %d", h, seqs[8])
	}
}

func TestMetaCountersSurviveRestart(t *testing.T) {
	clk := newFakeClock()
	dir := t.TempDir()
	size := recordSize("t", []byte("x0"))
	d := openT(t, dir, Options{MaxBytes: 4 * size, Now: clk.Now})
	for i := range 6 {
		mustAppend(t, d, rec(Telemetry, "t", fmt.Sprintf("x%d", i)))
	}
	before := d.Stats()
	closeT(t, d)
	d = openT(t, dir, Options{MaxBytes: 4 * size, Now: clk.Now})
	defer closeT(t, d)
	after := d.Stats()
	if after.Records != 4 || after.EvictedTelemetry != 2 || after.Bytes != before.Bytes ||
		!after.Oldest.Equal(before.Oldest) || after.LastSeq != 6 {
		t.Fatalf("before %+v\nafter %+v", before, after)
	}
}

// TestMetaRepairedOnOpen damages the meta counters directly and checks that
// Open notices the disagreement with the records and recounts.
func TestMetaRepairedOnOpen(t *testing.T) {
	dir := t.TempDir()
	d := openT(t, dir, Options{})
	mustAppend(t, d, rec(Telemetry, "t", "a"), rec(Telemetry, "t", "b"), rec(Event, "e", "c"))
	want := d.Stats()
	closeT(t, d)

	bdb, err := badger.Open(badgerOptions(dir, Options{Logger: testLogger(t)}))
	if err != nil {
		t.Fatal(err)
	}
	bad := meta{lastSeq: 1} // claims one seq, no records, heads wrong
	if err := bdb.Update(func(txn *badger.Txn) error { return txn.Set(metaKey, bad.encode()) }); err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}

	d = openT(t, dir, Options{})
	defer closeT(t, d)
	got := d.Stats()
	if got.Records != want.Records || got.Bytes != want.Bytes || got.EventRecords != want.EventRecords || got.LastSeq != want.LastSeq {
		t.Fatalf("after repair %+v, want %+v", got, want)
	}
	if s := mustAppend(t, d, rec(Event, "e", "d")); s[0] != want.LastSeq+1 {
		t.Fatalf("seq after repair = %d, want %d", s[0], want.LastSeq+1)
	}
}

// TestCorruptDirectory damages a small buffer in ways Open either repairs
// (reporting what it did) or refuses with ErrCorrupt; after a refusal the
// directory is moved aside and the fresh buffer continues the seqs and
// reports what the old one held.
func TestCorruptDirectory(t *testing.T) {
	garbage := []byte(strings.Repeat("not a badger file \x00\xff", 64))
	cases := []struct {
		name     string
		repaired bool
		damage   func(t *testing.T, dir string)
	}{
		{"manifest overwritten", true, func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "MANIFEST"), garbage)
		}},
		{"key registry overwritten", true, func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "KEYREGISTRY"), garbage)
		}},
		{"every file overwritten", false, func(t *testing.T, dir string) {
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != "LOCK" {
					writeFile(t, filepath.Join(dir, e.Name()), garbage)
				}
			}
		}},
		{"meta record not ours", false, func(t *testing.T, dir string) {
			bdb, err := badger.Open(badgerOptions(dir, Options{Logger: testLogger(t)}))
			if err != nil {
				t.Fatal(err)
			}
			defer bdb.Close()
			if err := bdb.Update(func(txn *badger.Txn) error { return txn.Set(metaKey, []byte("v9 garbage")) }); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory is a file", false, func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			writeFile(t, dir, garbage)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "buffer")
			d := openT(t, dir, Options{})
			mustAppend(t, d, rec(Telemetry, "t", "a"), rec(Event, "e", "b"))
			closeT(t, d)
			tc.damage(t, dir)

			opts := noticeOptions()
			opts.Logger = testLogger(t)
			d, err := Open(dir, opts)
			if tc.repaired {
				if err != nil {
					t.Fatalf("Open after damage = %v, want a repair", err)
				}
				defer closeT(t, d)
				recs := drainAll(t, d)
				ns := noticesIn(recs)
				if len(recs) != 3 || len(ns) != 1 || ns[0].Type != "buffer.damaged" ||
					ns[0].Attrs["telemetry_lost"] != 0.0 || ns[0].Attrs["event_lost"] != 0.0 {
					t.Fatalf("after repair: %d records, notices %+v; want both records and one notice of nothing lost", len(recs), ns)
				}
				if ns[0].seq <= 2 {
					t.Fatalf("notice has seq %d, reusing an old one", ns[0].seq)
				}
				return
			}
			if tc.name == "directory is a file" {
				// Not a buffer directory at all: Open fails, but creating it
				// is what failed, so it is not reported as corruption.
				if err == nil {
					t.Fatal("Open of a plain file succeeded")
				}
			} else if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open after damage = %v, want ErrCorrupt", err)
			}

			now := time.Date(2026, 11, 22, 14, 5, 9, 0, time.UTC)
			moved, err := MoveAside(dir, now)
			if err != nil {
				t.Fatal(err)
			}
			if want := dir + ".corrupt-20261122-140509"; moved != want {
				t.Fatalf("moved to %s, want %s", moved, want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("dir still there after MoveAside: %v", err)
			}
			d, err = Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer closeT(t, d)
			recs := drainAll(t, d)
			ns := noticesIn(recs)
			if len(recs) != 1 || len(ns) != 1 || ns[0].seq != 3 || ns[0].Attrs["telemetry_held"] != 1.0 || ns[0].Attrs["events_held"] != 1.0 {
				t.Fatalf("fresh buffer after MoveAside holds %+v, want one notice at seq 3 of 1+1 records held", ns)
			}
			if s := mustAppend(t, d, rec(Event, "e", "c")); s[0] != 4 {
				t.Fatalf("first seq after the reset = %d, want 4", s[0])
			}
		})
	}
}

func TestMoveAsideNameTaken(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var got []string
	for range 3 {
		dir := filepath.Join(root, "buf")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		moved, err := MoveAside(dir, now)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, filepath.Base(moved))
	}
	want := []string{"buf.corrupt-20260102-030405", "buf.corrupt-20260102-030405-1", "buf.corrupt-20260102-030405-2"}
	if !equalStrings(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
}

func TestOpenWhileLockedIsNotCorrupt(t *testing.T) {
	dir := t.TempDir()
	d := openT(t, dir, Options{})
	defer closeT(t, d)
	_, err := Open(dir, Options{Logger: testLogger(t)})
	if err == nil {
		t.Fatal("second Open of a locked directory succeeded")
	}
	if errors.Is(err, ErrCorrupt) {
		t.Fatalf("locked directory reported as corrupt (MoveAside would move a live buffer): %v", err)
	}
}

// TestLargeTransactionsSplit appends one batch far bigger than a badger
// transaction may be; the committer must split it and keep counters exact.
func TestLargeTransactionsSplit(t *testing.T) {
	d := openT(t, t.TempDir(), Options{})
	defer closeT(t, d)
	payload := strings.Repeat("x", 4000)
	recs := make([]Record, 1500) // ~6 MB, several times MaxBatchSize
	for i := range recs {
		recs[i] = rec(Telemetry, "t", payload)
	}
	if err := d.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	st := d.Stats()
	if st.Records != 1500 || st.Bytes != 1500*recordSize("t", []byte(payload)) || st.LastSeq != 1500 {
		t.Fatalf("stats %+v", st)
	}
	if got := len(drainAll(t, d)); got != 1500 {
		t.Fatalf("read %d records", got)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTxnWriterSplitsOnErrTxnTooBig turns the writer's own budget off so
// badger itself rejects the growing transaction; the writer must commit
// what it has, carry on in a new transaction and keep the meta exact.
func TestTxnWriterSplitsOnErrTxnTooBig(t *testing.T) {
	dir := t.TempDir()
	d := openT(t, dir, Options{})
	payload := []byte(strings.Repeat("y", 4000))
	// The committer is idle, so the test may write through its own writer.
	w := newTxnWriter(d.db, d.work)
	w.maxSize, w.maxCount = 1<<40, 1<<40
	const n = 1000 // ~4 MB, over three times MaxBatchSize
	for i := range n {
		r := Record{Class: Telemetry, Seq: uint64(i + 1), Created: time.Unix(int64(i), 0), Topic: "t", Payload: payload}
		if err := w.put(r, encodeValue(r.Created, r.Topic, r.Payload)); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if err := w.commit(); err != nil {
		t.Fatal(err)
	}
	if w.commits < 2 {
		t.Fatalf("%d commits: badger never refused the transaction, the test proves nothing", w.commits)
	}
	st, err := loadMeta(d.db, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	tel := st.class(Telemetry)
	if st.lastSeq != n || tel.count != n || tel.bytes != n*recordSize("t", payload) || tel.head != 1 {
		t.Fatalf("meta after split commits: %+v", st)
	}
	closeT(t, d)
}

// TestOpenSurvivesEmptyLogs recreates what TestCrashSafety hit: a crash
// between badger creating a memtable or value log and sizing it leaves a
// 0-byte file, on which badger.Open itself fails (badger issue #2207).
func TestOpenSurvivesEmptyLogs(t *testing.T) {
	for _, name := range []string{"00042.mem", "000042.vlog"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			d := openT(t, dir, Options{})
			seqs := mustAppend(t, d, rec(Event, "e", "kept"))
			closeT(t, d)
			writeFile(t, filepath.Join(dir, name), nil)
			if bdb, err := badger.Open(badgerOptions(dir, Options{Logger: testLogger(t)})); err == nil {
				t.Logf("badger itself now opens a directory with an empty %s; removeEmptyLogs may be obsolete", name)
				bdb.Close()
			} else {
				t.Logf("badger itself: %v", err)
			}
			// Badger sized the file before failing; make it empty again.
			writeFile(t, filepath.Join(dir, name), nil)

			d = openT(t, dir, Options{})
			defer closeT(t, d)
			got := nextN(t, d, 10)
			if len(got) != 1 || got[0].Seq != seqs[0] || string(got[0].Payload) != "kept" {
				t.Fatalf("after reopen got %+v", got)
			}
			if s := mustAppend(t, d, rec(Telemetry, "t", "next")); s[0] != seqs[0]+1 {
				t.Fatalf("next seq %d, want %d", s[0], seqs[0]+1)
			}
		})
	}
}
