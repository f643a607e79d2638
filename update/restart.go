package update

import (
	"fmt"
	"syscall"
)

// Reexec replaces this process with argv[0] (argv in full), keeping the
// PID, for a box without a service manager. The gateway passes the
// committed binary with "update boot -exec", so the boot accounting runs
// before the new version starts. A version that then crashes at start is
// recovered only at the next start of the box; use systemd or
// "praxisgate update supervise" for automatic recovery.
func Reexec(argv []string, env []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("update: reexec: no program")
	}
	if err := syscall.Exec(argv[0], argv, env); err != nil {
		return fmt.Errorf("update: reexec %s: %w", argv[0], err)
	}
	return nil
}
