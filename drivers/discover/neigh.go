package discover

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// neighbour is one complete entry of the kernel's ARP table.
type neighbour struct {
	IP    netip.Addr
	MAC   net.HardwareAddr
	Iface string
}

// atfComplete is ATF_COM from <net/if_arp.h>: the entry has a MAC.
const atfComplete = 0x2

// parseNeighbours reads /proc/net/arp:
//
//	IP address       HW type     Flags       HW address            Mask     Device
//	192.168.1.1      0x1         0x2         00:11:22:33:44:55     *        eth0
//
// Incomplete entries (flags without ATF_COM, all-zero MAC) are skipped:
// they are addresses the kernel asked for and got no answer.
func parseNeighbours(r io.Reader) ([]neighbour, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	var out []neighbour
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if line == 1 {
			if len(f) < 6 || f[0] != "IP" {
				return nil, fmt.Errorf("neighbour table header %q not recognised", sc.Text())
			}
			continue
		}
		if len(f) != 6 {
			return nil, fmt.Errorf("neighbour table line %d: %d fields, want 6", line, len(f))
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil || !ip.Is4() {
			return nil, fmt.Errorf("neighbour table line %d: address %q", line, f[0])
		}
		flags, err := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("neighbour table line %d: flags %q", line, f[2])
		}
		mac, err := net.ParseMAC(f[3])
		if err != nil {
			return nil, fmt.Errorf("neighbour table line %d: MAC %q", line, f[3])
		}
		if flags&atfComplete == 0 || len(mac) != 6 || isZero(mac) {
			continue
		}
		out = append(out, neighbour{IP: ip, MAC: mac, Iface: f[5]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read neighbour table: %w", err)
	}
	return out, nil
}

func isZero(mac net.HardwareAddr) bool {
	for _, b := range mac {
		if b != 0 {
			return false
		}
	}
	return true
}
