package gateway

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// TestStartOnFullDataPartition: a data partition someone else filled
// (issue 17: "no crash loop") must not keep the gateway from starting.
// With 2 MiB left, too little to open the badger buffer safely, the
// gateway starts on the in-memory buffer, says so with buffer.in_memory,
// raises the buffer.disk_full alarm, reads its fridge and publishes. It
// writes nothing that eats the last of the partition: the filler's space
// is still what it was.
func TestStartOnFullDataPartition(t *testing.T) {
	testpeer.SkipShort(t, "root to mount a tmpfs, mosquitto")
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "praxisgate-gw-test", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs (needs root, util-linux): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
			_ = exec.Command("umount", "-l", dir).Run()
		}
	})
	fill(t, dir, 2<<20)

	s := subscribeAll(t, mq.URL())
	cfg := load(t, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
self: {interval: 1s}
devices: [{id: fridge, driver: sim, interval: 1s, sim: {scenario: fridge}}]
`, dir, mq.URL()))
	_, stop := start(t, cfg)
	defer stop()
	waitFor(t, "buffer.in_memory event", func() bool { return s.count("/event/gateway", `"type":"buffer.in_memory"`) == 1 })
	waitFor(t, "buffer.disk_full alarm raised", func() bool {
		return s.count("/event/gateway", `"type":"alarm.raised"`, "buffer.disk_full") >= 1
	})
	waitFor(t, "fridge readings", func() bool { return s.count("/telemetry/fridge") >= 2 })
}

// fill writes a filler file so that about leave bytes stay free.
func fill(t *testing.T, dir string, leave int64) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for n := int64(st.Bavail)*st.Bsize - leave; n > 0; n -= int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(int64(len(chunk)), n)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}
