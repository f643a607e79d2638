package buffer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These tests mount small file systems (they run as root, as the project's
// test machines do) and fill them, because the failure they guard against
// only exists there: badger writes through memory-mapped files, and on a
// full tmpfs or ext4 such a write kills the process with SIGBUS.

// mountTmpfs mounts a tmpfs of size bytes on a fresh directory.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs root (mounts a file system): runs in `make test`, not in -short")
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, "mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "praxisgate-test", dir)
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

// mountExt4 makes an ext4 file system of sizeMiB in an image file (with
// the default 5% of blocks reserved for root) and loop-mounts it.
func mountExt4(t *testing.T, sizeMiB int) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs root (mounts a file system): runs in `make test`, not in -short")
	}
	base := t.TempDir()
	img := filepath.Join(base, "fs.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(sizeMiB) << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	run(t, "mkfs.ext4", "-q", "-F", "-m", "5", img)
	dir := filepath.Join(base, "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, "mount", "-o", "loop", img, dir)
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s (needs root and util-linux/e2fsprogs)", name, strings.Join(args, " "), err, out)
	}
}

func unmount(t *testing.T, dir string) {
	if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
		t.Errorf("umount %s: %v: %s", dir, err, out)
		_ = exec.Command("umount", "-l", dir).Run()
	}
}

// fillTo writes a filler file so that about leave bytes stay free for the
// service user, and returns its path.
func fillTo(t *testing.T, dir, name string, leave int64) string {
	t.Helper()
	p, err := fillFS(dir, name, leave)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fillFS(dir, name string, leave int64) (string, error) {
	ds, err := statDisk(dir)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for n := ds.avail - leave; n > 0; n -= int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(int64(len(chunk)), n)]); err != nil {
			return "", fmt.Errorf("fill %s: %w", dir, err)
		}
	}
	return p, f.Sync()
}

// diskFullScenario fills a small file system around an offline buffer: it
// keeps appending telemetry (with an event now and then) far beyond what
// fits. The buffer must not crash, must evict the oldest telemetry and say
// so with a notice, must keep every event, must raise DiskFull, and must
// work again (DiskFull cleared, seqs continuing) once space is freed.
func diskFullScenario(t *testing.T, dir string) {
	bufDir := filepath.Join(dir, "buffer")
	opts := noticeOptions()
	opts.Logger = testLogger(t)
	d, err := Open(bufDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Before the unmount (cleanups run last first), even after a failure.
	t.Cleanup(func() { _ = d.Close() })
	st := d.Stats()
	ds, _ := statDisk(dir)
	t.Logf("file system %d MiB for the user, reserve %d MiB, max_bytes capped to %d MiB",
		ds.total>>20, st.DiskReserve>>20, st.MaxBytes>>20)
	if st.MaxBytes >= ds.total || st.MaxBytes >= DefaultMaxBytes {
		t.Fatalf("max_bytes %d not capped by a file system of %d", st.MaxBytes, ds.total)
	}
	d.noticeEvery = 0 // report every eviction, to check each one
	filler := fillTo(t, dir, "filler", st.DiskReserve+12<<20)

	events := map[uint64]bool{}
	var refused, stored int
	sawFull := false
	ctx := context.Background()
	var lastSeq uint64
	for i := range 300 {
		batch := make([]Record, 100)
		for j := range batch {
			batch[j] = Record{Class: Telemetry, Topic: "telemetry/x", Payload: bigPayload(i*100 + j)}
		}
		err := d.Append(ctx, batch)
		switch {
		case errors.Is(err, ErrDiskFull):
			refused++
		case err != nil:
			t.Fatalf("append %d: %v", i, err)
		default:
			stored += len(batch)
			for _, r := range batch {
				if r.Seq <= lastSeq {
					t.Fatalf("seq %d after %d", r.Seq, lastSeq)
				}
				lastSeq = r.Seq
			}
		}
		if i%10 == 0 {
			ev := []Record{{Class: Event, Topic: "event/fridge", Payload: []byte(`{"type":"alarm.raised"}`)}}
			if err := d.Append(ctx, ev); err != nil {
				t.Fatalf("event append %d: %v", i, err)
			}
			events[ev[0].Seq] = true
			lastSeq = max(lastSeq, ev[0].Seq)
		}
		sawFull = sawFull || d.Stats().DiskFull
	}
	st = d.Stats()
	after, _ := statDisk(dir)
	t.Logf("stored %d telemetry records, %d batches refused, evicted %d telemetry, %d events; %d MiB free",
		stored, refused, st.EvictedTelemetry, st.EvictedEvents, after.avail>>20)
	if !sawFull {
		t.Fatal("DiskFull never raised although the disk ran short")
	}
	if st.EvictedTelemetry == 0 {
		t.Fatal("no telemetry evicted although the disk ran short")
	}
	if st.EvictedEvents != 0 {
		t.Fatalf("%d events evicted", st.EvictedEvents)
	}

	recs := drainAll(t, d)
	var evictedReported int64
	for _, n := range noticesIn(recs) {
		if n.Type != "buffer.evicted" {
			t.Fatalf("unexpected notice %+v", n)
		}
		first, last := num(n.Attrs["telemetry_first_seq"]), num(n.Attrs["telemetry_last_seq"])
		if first == 0 || last < first || !strings.Contains(n.Attrs["reason"].(string), "disk_reserve") && !strings.Contains(n.Attrs["reason"].(string), "max_bytes") {
			t.Fatalf("eviction notice without a seq range or reason: %+v", n)
		}
		evictedReported += int64(num(n.Attrs["telemetry_records"]))
	}
	if evictedReported != st.EvictedTelemetry {
		t.Fatalf("notices report %d evicted records, counters %d", evictedReported, st.EvictedTelemetry)
	}
	found := map[uint64]bool{}
	for _, r := range recs {
		found[r.Seq] = true
	}
	for seq := range events {
		if !found[seq] {
			t.Fatalf("event seq %d lost", seq)
		}
	}

	// Something else fills the disk below the reserve: with no telemetry
	// left to drop, telemetry is refused with ErrDiskFull, events are
	// still taken.
	var fillers []string
	refusedNow := false
	for i := range 5 {
		fillers = append(fillers, fillTo(t, dir, fmt.Sprintf("more-%d", i), st.DiskReserve-2<<20))
		err := d.Append(ctx, []Record{{Class: Telemetry, Topic: "telemetry/x", Payload: bigPayload(0)}})
		if errors.Is(err, ErrDiskFull) {
			refusedNow = true
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !refusedNow {
		t.Fatal("telemetry still taken with the disk below its reserve")
	}
	ev := []Record{{Class: Event, Topic: "event/fridge", Payload: []byte(`{"type":"alarm.raised"}`)}}
	if err := d.Append(ctx, ev); err != nil {
		t.Fatalf("event refused below the reserve: %v", err)
	}
	lastSeq = ev[0].Seq
	for _, f := range fillers {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}

	// Space comes back: DiskFull clears with the next append (once the
	// hold time is over, here at once) and the buffer carries on, after a
	// restart too.
	if !d.Stats().DiskFull {
		t.Fatal("DiskFull cleared while the disk is still short")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	d.fullHold.Store(0)
	s := mustAppend(t, d, rec(Telemetry, "t", "space again"))
	if s[0] <= lastSeq {
		t.Fatalf("seq %d after %d", s[0], lastSeq)
	}
	if d.Stats().DiskFull {
		t.Fatal("DiskFull still set after space was freed")
	}
	closeT(t, d)
	d = openT(t, bufDir, opts)
	if s2 := mustAppend(t, d, rec(Telemetry, "t", "after restart")); s2[0] != s[0]+1 {
		t.Fatalf("seq after a clean restart = %d, want %d", s2[0], s[0]+1)
	}
}

func TestDiskFullTmpfs(t *testing.T) {
	diskFullScenario(t, mountTmpfs(t, "64m"))
}

func TestDiskFullExt4(t *testing.T) {
	diskFullScenario(t, mountExt4(t, 96))
}

// TestOpenOnFullDisk: a file system with no room to open the store gives
// ErrDiskFull, not a SIGBUS, and the records already there survive until
// space is freed.
func TestOpenOnFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "48m")
	bufDir := filepath.Join(dir, "buffer")
	d := openT(t, bufDir, Options{})
	t.Cleanup(func() { _ = d.Close() })
	seqs := mustAppend(t, d, rec(Event, "e", "kept"), rec(Telemetry, "t", "kept too"))
	closeT(t, d)
	filler := fillTo(t, dir, "filler", 1<<20)
	if _, err := Open(bufDir, Options{Logger: testLogger(t)}); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Open on a full file system = %v, want ErrDiskFull", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	d = openT(t, bufDir, Options{})
	recs := drainAll(t, d)
	if len(recs) != 2 || recs[0].Seq != seqs[0] || recs[1].Seq != seqs[1] {
		t.Fatalf("after freeing space: %+v", recs)
	}
}

// bigPayload is a 1 KiB reading that does not compress, so a few tens of
// thousands fill a small file system.
func bigPayload(i int) []byte {
	p := damagePayload(i)
	for len(p) < 1000 {
		p = append(p, damagePayload(i)[len(`{"i":`):]...)
	}
	return p
}

// TestAcksOnBrimFullDisk: when something else fills the file system to the
// last byte, acknowledgements (deletes, which badger writes through its
// memory-mapped log) wait instead of faulting; the records are kept and
// taken once space is back.
func TestAcksOnBrimFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "48m")
	d := openT(t, filepath.Join(dir, "buffer"), Options{})
	t.Cleanup(func() { _ = d.Close() })
	seqs := mustAppend(t, d, rec(Telemetry, "t", "a"), rec(Telemetry, "t", "b"), rec(Event, "e", "c"))
	filler := fillTo(t, dir, "filler", 0)
	if err := d.Ack(seqs...); err != nil {
		t.Fatal(err)
	}
	st := d.Stats()
	if st.Records != 3 || !st.DiskFull {
		t.Fatalf("acks on a full disk: %d records left, DiskFull %v; want 3 kept and DiskFull", st.Records, st.DiskFull)
	}
	if err := d.Append(context.Background(), []Record{rec(Telemetry, "t", "d")}); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("append on a full disk = %v, want ErrDiskFull", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(seqs...); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.Records != 0 {
		t.Fatalf("acks after space came back: %d records left", st.Records)
	}
}

const fullCloseDirEnv = "PRAXISGATE_BUFFER_FULLCLOSE_DIR"

// fullCloseChild opens the buffer in dir/buffer, appends records (they stay
// in the memtable), fills the file system to the last byte and closes. It
// prints the seqs and Close's error; a SIGBUS would kill it instead.
func fullCloseChild(dir string) int {
	d, err := Open(filepath.Join(dir, "buffer"), Options{})
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	recs := []Record{rec(Telemetry, "t", "a"), rec(Event, "e", "b"), rec(Telemetry, "t", "c")}
	if err := d.Append(context.Background(), recs); err != nil {
		fmt.Println("append:", err)
		return 1
	}
	if _, err := fillFS(dir, "filler", 0); err != nil {
		fmt.Println("fill:", err)
		return 1
	}
	err = d.Close()
	fmt.Printf("%d %d %d %v\n", recs[0].Seq, recs[1].Seq, recs[2].Seq, errors.Is(err, ErrDiskFull))
	return 0
}

// TestCloseOnBrimFullDisk: closing on a file system filled to the last
// byte must not fault (badger's close flushes the memtable through a
// memory-mapped table); the records survive for the next Open.
func TestCloseOnBrimFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "48m")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fullCloseDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var a, b, c uint64
	var full bool
	if _, err := fmt.Sscan(string(out[strings.LastIndexByte(strings.TrimSpace(string(out)), '\n')+1:]), &a, &b, &c, &full); err != nil || !full {
		t.Fatalf("child printed %q (want seqs and Close reporting ErrDiskFull)", out)
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	d := openT(t, filepath.Join(dir, "buffer"), Options{})
	t.Cleanup(func() { _ = d.Close() })
	recs := drainAll(t, d)
	if len(recs) != 3 || recs[0].Seq != b || recs[1].Seq != a || recs[2].Seq != c {
		t.Fatalf("after the unflushed close: %+v, want seqs %d (event), %d, %d", recs, b, a, c)
	}
}
