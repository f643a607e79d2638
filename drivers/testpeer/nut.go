package testpeer

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// NUTBinary finds a Network UPS Tools program (upsd, dummy-ups, upsc,
// upsmon) of Debian package pkg. Debian puts the daemons in /lib/nut; the
// /usr/sbin names are wrappers that refuse to start unless
// /etc/nut/nut.conf enables them, so only a real ELF binary counts. In the
// short tier it skips t (SkipShort).
func NUTBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	SkipShort(t, pkg)
	for _, dir := range []string{"/lib/nut", "/usr/lib/nut", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && isELF(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("%s not found: install Debian package %s (`make test` installs it)", name, pkg)
	return ""
}

func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 4)
	_, err = f.Read(b)
	return err == nil && string(b) == "\x7fELF"
}
