package selfmon

import (
	"context"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// dfUsed runs df on dir and returns its used and available bytes and its
// Use% (df rounds up).
func dfUsed(t *testing.T, dir string) (used, avail float64, pct int) {
	t.Helper()
	out, err := exec.Command("df", "-P", "-B1", dir).Output()
	if err != nil {
		t.Fatalf("df (Debian package coreutils): %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 6 {
		t.Fatalf("df output %q", out)
	}
	used, err1 := strconv.ParseFloat(f[2], 64)
	avail, err2 := strconv.ParseFloat(f[3], 64)
	pct, err3 := strconv.Atoi(strings.TrimSuffix(f[4], "%"))
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("df output %q", out)
	}
	return used, avail, pct
}

func diskUsed(t *testing.T, dir string) float64 {
	t.Helper()
	m := New(Sources{StateDir: dir, ProcRoot: "testdata/proc", SysRoot: "testdata/sys"})
	s, err := m.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range s.Metrics {
		if x.Name == "disk.used" {
			return x.Value.(float64)
		}
	}
	t.Fatal("no disk.used")
	return 0
}

// TestDiskUsedAsDf: disk.used is df's Use%, which leaves out the blocks
// reserved for root, on an ext4 with 5 % reserved (mkfs.ext4 -m 5, loop
// mounted) and on the test's own temporary filesystem. The reserved blocks
// used to count as used (44.6 % where df says 40 % on the ext4), or, as
// used/size, as free.
func TestDiskUsedAsDf(t *testing.T) {
	t.Run("ext4 with 5 % reserved", func(t *testing.T) {
		mnt := mountExt4(t, 16<<20)
		// 5 MiB of data, written through so statfs counts it.
		if err := os.WriteFile(filepath.Join(mnt, "data"), make([]byte, 5<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("sync", "-f", mnt).CombinedOutput(); err != nil {
			t.Fatalf("sync: %v %s", err, out)
		}
		used, avail, pct := dfUsed(t, mnt)
		want := 100 * used / (used + avail)
		got := diskUsed(t, mnt)
		if math.Abs(got-want) > 0.1 || int(math.Ceil(got)) != pct {
			t.Fatalf("disk.used = %v, df says %v (Use%% %d)", got, want, pct)
		}
	})
	t.Run("the test's temporary filesystem", func(t *testing.T) {
		dir := t.TempDir()
		used, avail, _ := dfUsed(t, dir)
		got := diskUsed(t, dir)
		// Other processes write to this filesystem meanwhile.
		if want := 100 * used / (used + avail); math.Abs(got-want) > 0.5 {
			t.Fatalf("disk.used = %v, df says %v", got, want)
		}
	})
}

// mountExt4 makes an ext4 image of size bytes with 5 % reserved for root,
// loop-mounts it below the test's temporary directory and unmounts it at
// the end.
func mountExt4(t *testing.T, size int64) string {
	t.Helper()
	testpeer.SkipShort(t, "root and e2fsprogs (a loop-mounted ext4)")
	if os.Geteuid() != 0 {
		t.Fatal("selfmon: this test loop-mounts an ext4 image and needs root (make test runs it as root)")
	}
	for _, bin := range []string{"mkfs.ext4", "mount", "umount"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("selfmon: %s missing (Debian packages e2fsprogs, mount; make test installs them): %v", bin, err)
		}
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "mnt")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("mkfs.ext4", "-q", "-F", "-m", "5", img)
	run("mount", "-o", "loop", img, mnt)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", mnt, err, out)
		}
	})
	return mnt
}

func TestUsedPercent(t *testing.T) {
	for _, c := range []struct {
		blocks, bfree, bavail uint64
		want                  float64
		ok                    bool
	}{
		{1000, 600, 550, 400.0 / 950 * 100, true}, // 50 blocks reserved
		{1000, 50, 0, 100, true},                  // full for the service, root still has 50
		{1000, 1000, 950, 0, true},
		{1000, 1001, 950, 0, false}, // inconsistent statfs
		{0, 0, 0, 0, false},
	} {
		got, ok := usedPercent(c.blocks, c.bfree, c.bavail)
		if ok != c.ok || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("usedPercent(%d, %d, %d) = %v, %v; want %v, %v", c.blocks, c.bfree, c.bavail, got, ok, c.want, c.ok)
		}
	}
}
