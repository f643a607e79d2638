package buffer

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestMetaV1StillReads(t *testing.T) {
	m := meta{lastSeq: 77}
	m.cls[0] = classMeta{count: 3, bytes: 900, evicted: 7, head: 12, headCreated: 99}
	m.cls[0].pend = evictRange{count: 2, bytes: 10, firstSeq: 5, lastSeq: 9}
	m.pendWhy = whyDisk
	v1 := m.encode()[:metaLenV1]
	v1[0] = metaVersionOld
	got, err := decodeMeta(v1)
	want := m
	want.cls[0].pend, want.pendWhy = evictRange{}, 0
	if err != nil || got != want {
		t.Fatalf("decodeMeta(v1) = %+v, %v; want %+v", got, err, want)
	}
}

// TestSeqFileRoundTrip: what writeSeqFile writes, readSeqFile reads back,
// the boot history is bounded, and a damaged file is an error, not zero.
func TestSeqFileRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "buffer.seq")
	if _, ok, err := readSeqFile(p); ok || err != nil {
		t.Fatalf("missing file: ok %v err %v", ok, err)
	}
	sf := seqFile{LastSeq: 12, Ceiling: 10_012, Telemetry: 3, Events: 1, Written: time.Unix(1_700_000_000, 0).UTC()}
	for i := range maxBoots + 5 {
		sf.Boots = append(sf.Boots, boot{At: time.Unix(int64(i), 0).UTC(), FirstSeq: uint64(i)})
	}
	if err := writeSeqFile(p, sf); err != nil {
		t.Fatal(err)
	}
	got, ok, err := readSeqFile(p)
	if !ok || err != nil || len(got.Boots) != maxBoots || got.Boots[0].FirstSeq != 5 || got.LastSeq != 12 || got.Ceiling != 10_012 {
		t.Fatalf("read back %+v ok %v err %v", got, ok, err)
	}
	if err := os.WriteFile(p, []byte(`{"version":1,"last_se`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readSeqFile(p); err == nil {
		t.Fatal("truncated seq file accepted")
	}
}

// TestSeqContinuesAfterCrash: after a clean Close the next seq follows the
// last one; after a crash (no Close) it follows the reserved ceiling.
func TestSeqContinuesAfterCrash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "buffer")
	d := openT(t, dir, Options{})
	s := mustAppend(t, d, rec(Telemetry, "t", "a"))
	closeT(t, d)
	d = openT(t, dir, Options{})
	if s2 := mustAppend(t, d, rec(Telemetry, "t", "b")); s2[0] != s[0]+1 {
		t.Fatalf("after a clean close seq %d, want %d", s2[0], s[0]+1)
	}
	closeT(t, d)
	last := runWriterChild(t, dir, 300) // exits without Close
	sf, ok, err := readSeqFile(seqPath(dir))
	if !ok || err != nil || sf.Clean || sf.Ceiling < last {
		t.Fatalf("seq file after a crash: %+v ok %v err %v (last seq %d)", sf, ok, err, last)
	}
	d = openT(t, dir, Options{})
	defer closeT(t, d)
	if s3 := mustAppend(t, d, rec(Telemetry, "t", "c")); s3[0] != sf.Ceiling+1 {
		t.Fatalf("after a crash seq %d, want %d (above the ceiling)", s3[0], sf.Ceiling+1)
	}
	sf, _, _ = readSeqFile(seqPath(dir))
	if n := len(sf.Boots); n != 4 || sf.Boots[n-1].PrevClean || !sf.Boots[n-2].PrevClean {
		t.Fatalf("boot history %+v", sf.Boots)
	}
}

// FuzzDecodeMeta feeds arbitrary bytes, as if read from a damaged disk, to
// the meta decoder: no panic, and what it accepts re-encodes (as version 2)
// to the same state.
func FuzzDecodeMeta(f *testing.F) {
	m := meta{lastSeq: 1 << 40}
	m.cls[0] = classMeta{count: 3, bytes: 900, evicted: 7, head: 12, headCreated: 99, pend: evictRange{1, 2, 3, 4}}
	m.pendWhy = whyAge
	f.Add(m.encode())
	f.Add(m.encode()[:metaLenV1])
	f.Add([]byte{metaVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeMeta(b)
		if err != nil {
			return
		}
		again, err := decodeMeta(got.encode())
		if err != nil || again != got {
			t.Fatalf("re-encode of %x changed it: %+v vs %+v (%v)", b, again, got, err)
		}
	})
}

// FuzzReadSeqFile feeds arbitrary bytes as the seq file: no panic, and
// what it accepts has its last seq at or below its ceiling and survives a
// write and read unchanged.
func FuzzReadSeqFile(f *testing.F) {
	f.Add([]byte(`{"version":1,"last_seq":5,"ceiling":10005,"clean":true,"telemetry":2,"events":1,"written":"2026-12-06T23:00:00Z","boots":[{"at":"2026-12-06T22:00:00Z","first_seq":1,"prev_clean":false}]}`))
	f.Add([]byte(`{"version":1,"last_seq":9,"ceiling":3}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "buffer.seq")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		sf, ok, err := readSeqFile(p)
		if err != nil || !ok {
			return
		}
		if sf.LastSeq > sf.Ceiling {
			t.Fatalf("accepted last seq %d above ceiling %d", sf.LastSeq, sf.Ceiling)
		}
		if len(sf.Boots) > maxBoots {
			sf.Boots = sf.Boots[len(sf.Boots)-maxBoots:]
		}
		if err := writeSeqFile(p, sf); err != nil {
			t.Fatal(err)
		}
		again, ok, err := readSeqFile(p)
		if !ok || err != nil || !reflect.DeepEqual(again, sf) {
			t.Fatalf("round trip of %q: %+v vs %+v (%v)", b, again, sf, err)
		}
	})
}
