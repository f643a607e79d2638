package buffer

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGCLoopEvictsByAge checks that the GC loop alone (no Append) evicts
// expired records.
func TestGCLoopEvictsByAge(t *testing.T) {
	clk := newFakeClock()
	d := openT(t, t.TempDir(), Options{MaxAge: time.Hour, GCInterval: 5 * time.Millisecond, Now: clk.Now})
	defer closeT(t, d)
	mustAppend(t, d, rec(Telemetry, "t", "a"), rec(Event, "e", "b"))
	clk.Advance(2 * time.Hour)
	deadline := time.Now().Add(20 * time.Second)
	for d.Stats().Records != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("GC loop did not evict expired records: %+v", d.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := d.Stats(); st.EvictedTelemetry != 1 || st.EvictedEvents != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAppendWithDoneContextStoresNothing(t *testing.T) {
	d := openT(t, t.TempDir(), Options{})
	defer closeT(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Append(ctx, []Record{rec(Telemetry, "t", "x")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append = %v, want context.Canceled", err)
	}
	if st := d.Stats(); st.Records != 0 || st.LastSeq != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBadgerLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	l := badgerLogger{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	cases := []struct {
		log  func(string, ...any)
		want string
	}{
		{l.Errorf, "level=ERROR"},
		{l.Warningf, "level=WARN"},
		{l.Infof, "level=DEBUG"},
	}
	for _, tc := range cases {
		buf.Reset()
		tc.log("table %d flushed\n", 7)
		out := buf.String()
		if !strings.Contains(out, tc.want) || !strings.Contains(out, `msg="table 7 flushed"`) || !strings.Contains(out, "component=badger") {
			t.Errorf("got %q, want %s with trimmed message", out, tc.want)
		}
	}
	buf.Reset()
	l.Debugf("noise")
	if buf.Len() != 0 {
		t.Errorf("badger debug output reached a debug-level logger: %q", buf.String())
	}
}

func TestWALSyncerSyncsRotatedOnce(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"00001.mem", "00002.mem", "00003.mem", "000001.vlog", "MANIFEST"} {
		writeFile(t, filepath.Join(dir, name), []byte("x"))
	}
	s := newWALSyncer(dir, testLogger(t))
	if err := s.syncRotated(); err != nil {
		t.Fatal(err)
	}
	if len(s.synced) != 2 || !s.synced[1] || !s.synced[2] || s.newest != 3 {
		t.Fatalf("synced %v, newest %d; want the two rotated logs 1 and 2, newest 3", s.synced, s.newest)
	}
	// Badger flushed 1 and 2 and rotated to 4: 3 is now immutable.
	for _, name := range []string{"00001.mem", "00002.mem"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "00004.mem"), []byte("x"))
	if err := s.syncRotated(); err != nil {
		t.Fatal(err)
	}
	if len(s.synced) != 1 || !s.synced[3] || s.newest != 4 {
		t.Fatalf("synced %v, newest %d; want only 3, newest 4", s.synced, s.newest)
	}
}

// TestBadgerStillUsesMemFiles guards the walSyncer's assumption about
// badger's file layout: if a badger upgrade renames the memtable logs,
// this fails instead of the syncer silently doing nothing.
func TestBadgerStillUsesMemFiles(t *testing.T) {
	dir := t.TempDir()
	d := openT(t, dir, Options{})
	defer closeT(t, d)
	mustAppend(t, d, rec(Telemetry, "t", "x"))
	mems, err := filepath.Glob(filepath.Join(dir, "*.mem"))
	if err != nil || len(mems) == 0 {
		t.Fatalf("no *.mem memtable logs in %s (%v)", dir, err)
	}
}
