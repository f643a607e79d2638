package update

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive advisory lock on the state directory, so the
// daemon and a technician's "praxisgate update install" never install at
// the same time. The kernel drops the lock when the process dies, so a
// SIGKILL leaves no stale lock behind.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("update: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("update: another update is in progress (%s locked): %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}
