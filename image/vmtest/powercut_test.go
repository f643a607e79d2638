//go:build vmtest

package vmtest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordSize is the fixed size of a record of the append workload.
const recordSize = 64

// record is record n (from 1) of the append workload: its number and a
// pattern that depends on it, so a record that is torn, zeroed or stale is
// seen.
func record(n int) []byte {
	b := make([]byte, recordSize)
	copy(b, fmt.Sprintf("rec %010d ", n))
	for i := 15; i < recordSize-1; i++ {
		b[i] = 'a' + byte((n*7+i)%26)
	}
	b[recordSize-1] = '\n'
	return b
}

// TestPowerCutAppend cuts the power of a guest that appends records to a
// file on ext4 and fsyncs each one before acknowledging it; after every
// cut, every acknowledged record must be there, intact.
func TestPowerCutAppend(t *testing.T) {
	if InGuest() {
		guestAppend(t)
		return
	}
	cuts := 2
	if s := os.Getenv("VMTEST_CUTS"); s != "" {
		cuts, _ = strconv.Atoi(s)
	}
	rep := PowerCuts(t, Options{}, cuts, 30)
	t.Logf("%d power cuts, %d acknowledged records, all found after each cut; checks found %v", rep.Cuts, rep.Acked, rep.Verified)
}

func guestAppend(t *testing.T) {
	r := CutRound(t)
	if err := MountDisk("/dev/vda", "/mnt", "ext4"); err != nil {
		t.Fatal(err)
	}
	const name = "/mnt/records"
	b, err := os.ReadFile(name)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	// Intact records from the start; what follows the first bad one is a
	// write the cut interrupted.
	n := 0
	for (n+1)*recordSize <= len(b) && bytes.Equal(b[n*recordSize:(n+1)*recordSize], record(n+1)) {
		n++
	}
	for _, k := range r.Acked {
		seq, err := strconv.Atoi(k)
		if err != nil {
			t.Fatalf("bad ack %q", k)
		}
		if seq > n {
			t.Fatalf("acknowledged record %d is lost: only %d intact records (file %d bytes)", seq, n, len(b))
		}
	}
	t.Logf("%d intact records, %d bytes after them dropped", n, len(b)-n*recordSize)
	r.Verified(n)
	if r.Final {
		return
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(n * recordSize)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(int64(n*recordSize), 0); err != nil {
		t.Fatal(err)
	}
	for i := n + 1; i <= n+100000; i++ {
		if _, err := f.Write(record(i)); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := r.Ack(strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the power was not cut")
}

// TestPowerCutLosesUnsynced is the control: the same cut loses records
// that were written but never fsynced. Without it, a "cut" that quietly
// synced (a clean shutdown, a disk cache that hid the loss) would pass the
// test above.
func TestPowerCutLosesUnsynced(t *testing.T) {
	if InGuest() {
		guestUnsynced(t)
		return
	}
	disk := t.TempDir() + "/disk.img"
	if err := Ext4Image(disk, 64); err != nil {
		t.Fatal(err)
	}
	opts := Options{Modules: DiskModules, Disks: []string{disk}}
	written := 0
	cut := make(chan struct{})
	var once sync.Once
	opts.Env = []string{"VMTEST_PHASE=write"}
	opts.Console = func(line string) {
		if s, ok := strings.CutPrefix(line, "written "); ok {
			written, _ = strconv.Atoi(s)
			once.Do(func() { close(cut) })
		}
	}
	m, err := StartTest(t, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		<-cut
		m.Kill()
	}()
	if res, err := m.Wait(); err != nil || !res.Killed {
		t.Fatalf("write boot: killed %v, %v", res.Killed, err)
	}
	found := -1
	opts.Env = []string{"VMTEST_PHASE=check"}
	opts.Console = func(line string) {
		if s, ok := strings.CutPrefix(line, "found "); ok {
			found, _ = strconv.Atoi(s)
		}
	}
	res, err := RunTest(t, opts, nil)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("check boot: exit %d, %v", res.ExitCode, err)
	}
	if written == 0 || found < 0 || found >= written {
		t.Fatalf("wrote %d records without fsync, %d found after the cut: the cut lost nothing, so it is not a power cut", written, found)
	}
	t.Logf("wrote %d records without fsync, %d survived the cut", written, found)
}

func guestUnsynced(t *testing.T) {
	if err := MountDisk("/dev/vda", "/mnt", "ext4"); err != nil {
		t.Fatal(err)
	}
	const name = "/mnt/unsynced"
	if os.Getenv("VMTEST_PHASE") == "check" {
		b, err := os.ReadFile(name)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		n := 0
		for (n+1)*recordSize <= len(b) && bytes.Equal(b[n*recordSize:(n+1)*recordSize], record(n+1)) {
			n++
		}
		fmt.Printf("found %d\n", n)
		return
	}
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := 1; i <= n; i++ {
		if _, err := f.Write(record(i)); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("written %d\n", n)
	time.Sleep(time.Minute)
	t.Fatal("the power was not cut")
}
