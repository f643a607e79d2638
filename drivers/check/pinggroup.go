package check

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultPingGroupRange is the sysctl that governs unprivileged ICMP
// sockets on Linux. It holds two group ids, "lo hi"; the kernel default
// "1 0" admits nobody, while systemd-based distributions often set
// "0 2147483647" for everyone.
const DefaultPingGroupRange = "/proc/sys/net/ipv4/ping_group_range"

// parsePingGroupRange reads the sysctl's content.
func parsePingGroupRange(s string) (lo, hi uint32, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("ping_group_range %q: want two group ids", s)
	}
	a, err1 := strconv.ParseUint(f[0], 10, 32)
	b, err2 := strconv.ParseUint(f[1], 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("ping_group_range %q: not numbers", s)
	}
	return uint32(a), uint32(b), nil
}

// unprivilegedAllowed says whether any of the process's groups lies in the
// range, which is exactly the kernel's test when it creates the socket.
func unprivilegedAllowed(rangeContent string, gids []int) (bool, error) {
	lo, hi, err := parsePingGroupRange(rangeContent)
	if err != nil {
		return false, err
	}
	for _, g := range gids {
		if g >= 0 && uint32(g) >= lo && uint32(g) <= hi {
			return true, nil
		}
	}
	return false, nil
}
