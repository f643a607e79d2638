package vmtest

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestCPIOLayout checks the archive's framing, and reads it back with GNU
// cpio where that is installed; the kernel checks the format in every
// guest boot.
func TestCPIOLayout(t *testing.T) {
	var buf bytes.Buffer
	c := newCPIO(&buf)
	c.file("/a/b/c.txt", 0o644, []byte("hello"))
	c.chardev("/dev/console", 5, 1)
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(b)%4 != 0 {
		t.Errorf("archive of %d bytes is not 4-byte aligned", len(b))
	}
	for _, want := range []string{"a\x00", "a/b\x00", "a/b/c.txt\x00", "hello", "dev/console\x00", "TRAILER!!!\x00"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("archive lacks %q", want)
		}
	}
	if n := bytes.Count(b, []byte("070701")); n != 6 {
		t.Errorf("%d headers, want 6 (a, a/b, c.txt, dev, dev/console, trailer)", n)
	}
	if _, err := exec.LookPath("cpio"); err == nil {
		cmd := exec.Command("cpio", "-t")
		cmd.Stdin = bytes.NewReader(b)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cpio -t: %v\n%s", err, out)
		}
		for _, want := range []string{"a/b/c.txt", "dev/console"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("cpio -t lists no %s:\n%s", want, out)
			}
		}
	}
}

func TestQemuMissingNamesPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := qemuBinary()
	if err == nil || !strings.Contains(err.Error(), "qemu-system-x86") {
		t.Errorf("error %v does not name the Debian package", err)
	}
	if err := Ext4Image(t.TempDir()+"/d.img", 8); err == nil || !strings.Contains(err.Error(), "e2fsprogs") {
		t.Errorf("error %v does not name e2fsprogs", err)
	}
}

func TestModName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/drivers/hid/hid-generic.ko": "hid_generic",
		"uhid":                              "uhid",
		"crc32c-generic":                    "crc32c_generic",
	} {
		if got := modName(in); got != want {
			t.Errorf("modName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSharedDeps(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	deps, err := sharedDeps(sh)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(deps, " ")
	if !strings.Contains(joined, "ld-linux") || !strings.Contains(joined, "libc.so") {
		t.Errorf("sh needs %v; want the loader and libc", deps)
	}
}
