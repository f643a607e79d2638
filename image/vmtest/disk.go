package vmtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// DiskModules are the kernel modules a guest needs to mount an ext4 disk
// image given in Options.Disks. ext4 asks the crypto API for crc32c
// through request_module, which a guest without modprobe cannot answer, so
// crc32c_generic is loaded up front.
var DiskModules = []string{"virtio_pci", "virtio_blk", "crc32c_generic", "ext4"}

// Ext4Image makes an empty ext4 file system image of sizeMiB at path on
// the host (sparse; no root, no loop device). It needs mkfs.ext4 from the
// Debian package e2fsprogs.
func Ext4Image(path string, sizeMiB int) error {
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		return errors.New("vmtest: mkfs.ext4 not found: install the Debian package e2fsprogs")
	}
	if err := os.Truncate(path, int64(sizeMiB)<<20); err != nil {
		f, cerr := os.Create(path)
		if cerr != nil {
			return fmt.Errorf("vmtest: %w", cerr)
		}
		f.Close()
		if err := os.Truncate(path, int64(sizeMiB)<<20); err != nil {
			return fmt.Errorf("vmtest: %w", err)
		}
	}
	if out, err := exec.Command(mkfs, "-q", "-F", "-E", "nodiscard", path).CombinedOutput(); err != nil {
		return fmt.Errorf("vmtest: mkfs.ext4 %s: %w\n%s", path, err, out)
	}
	return nil
}

// MountDisk, in the guest, waits for a disk device (/dev/vda) and mounts
// it on dir. The mount replays the file system's journal after a power
// cut, as a real boot would.
func MountDisk(dev, dir, fstype string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(dev); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vmtest: %s did not appear (load %v)", dev, DiskModules)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	if err := unix.Mount(dev, dir, fstype, 0, ""); err != nil {
		return fmt.Errorf("vmtest: mount %s on %s: %w", dev, dir, err)
	}
	return nil
}

// cutLine tells the host that the guest is about to cut its own power.
const cutLine = "vmtest: power cut by the guest"

// CutPower, in the guest, resets the machine at once without syncing
// (sysrq b), as a power failure would; qemu then exits (it runs with
// -no-reboot). The host's Result says Killed. It returns only on error.
func CutPower() error {
	fmt.Println(cutLine)
	// Wait until the line has left the serial port (tcdrain), so the host
	// sees it before the reset.
	_ = unix.IoctlSetInt(1, unix.TCSBRK, 1)
	if err := os.WriteFile("/proc/sysrq-trigger", []byte("b"), 0); err != nil {
		return fmt.Errorf("vmtest: sysrq reset: %w", err)
	}
	time.Sleep(30 * time.Second)
	return errors.New("vmtest: still running 30 s after the sysrq reset")
}
