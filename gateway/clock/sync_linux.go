package clock

import "golang.org/x/sys/unix"

// KernelSynced asks the kernel (adjtimex) whether NTP has synchronised the
// system clock: systemd-timesyncd, chrony and ntpd all clear STA_UNSYNC
// once they trust their source.
func KernelSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false
	}
	return state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
}
