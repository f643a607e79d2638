package discover

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// maxBits is the widest subnet swept without allow_large: a /22 is 1022
// addresses, about four seconds per pass at the default rate.
const (
	maxBits      = 22
	maxBitsLarge = 16
)

// link is one interface to sweep with the IPv4 prefixes it sits in.
type link struct {
	Name     string
	Index    int
	MAC      net.HardwareAddr
	Prefixes []netip.Prefix // the interface's own address and mask
}

// target is one address to ask and the source address to ask from.
type target struct {
	IP  netip.Addr
	Src netip.Addr
}

// targets lists every host address of the link's subnets except the
// link's own, refusing subnets larger than /22 unless allowLarge. Network
// and broadcast addresses are skipped; a /31 has two hosts (RFC 3021).
func targets(l link, allowLarge bool) ([]target, error) {
	var out []target
	seen := map[netip.Addr]bool{}
	own := map[netip.Addr]bool{}
	for _, p := range l.Prefixes {
		own[p.Addr()] = true
	}
	for _, p := range l.Prefixes {
		if !p.Addr().Is4() {
			continue
		}
		bits := p.Bits()
		if bits == 32 {
			continue
		}
		limit := maxBits
		if allowLarge {
			limit = maxBitsLarge
		}
		if bits < limit {
			n := 1<<(32-bits) - 2
			if allowLarge {
				return nil, fmt.Errorf("interface %s: subnet %s has %d addresses; even with allow_large sweeps stop at /%d", l.Name, p.Masked(), n, maxBitsLarge)
			}
			return nil, fmt.Errorf("interface %s: subnet %s has %d addresses; sweeps are limited to /%d (1022 addresses) unless the config sets allow_large: true", l.Name, p.Masked(), n, maxBits)
		}
		net := p.Masked().Addr()
		size := uint32(1) << (32 - bits)
		first, last := uint32(1), size-2
		if bits == 31 {
			first, last = 0, 1
		}
		base := as32(net)
		for i := first; i <= last; i++ {
			ip := from32(base + i)
			if own[ip] || seen[ip] {
				continue
			}
			seen[ip] = true
			out = append(out, target{IP: ip, Src: p.Addr()})
		}
	}
	slices.SortFunc(out, func(a, b target) int { return a.IP.Compare(b.IP) })
	return out, nil
}

func as32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func from32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// links resolves the configured interface names, or picks every usable
// one when names is empty. It is the only place the driver reads the
// host's interface list.
func links(names []string) ([]link, error) {
	var ifs []net.Interface
	if len(names) == 0 {
		all, err := net.Interfaces()
		if err != nil {
			return nil, fmt.Errorf("list interfaces: %w", err)
		}
		for _, ifi := range all {
			if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagLoopback == 0 &&
				ifi.Flags&net.FlagBroadcast != 0 && len(ifi.HardwareAddr) == 6 {
				ifs = append(ifs, ifi)
			}
		}
	} else {
		for _, n := range names {
			ifi, err := net.InterfaceByName(n)
			if err != nil {
				return nil, fmt.Errorf("interface %s: %w", n, err)
			}
			if ifi.Flags&net.FlagUp == 0 {
				return nil, fmt.Errorf("interface %s is down", n)
			}
			if len(ifi.HardwareAddr) != 6 {
				return nil, fmt.Errorf("interface %s has no Ethernet address, ARP cannot run on it", n)
			}
			ifs = append(ifs, *ifi)
		}
	}
	var out []link
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("interface %s: addresses: %w", ifi.Name, err)
		}
		l := link{Name: ifi.Name, Index: ifi.Index, MAC: ifi.HardwareAddr}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			ones, _ := ipn.Mask.Size()
			if ip.Is4() && !ip.IsLinkLocalUnicast() {
				l.Prefixes = append(l.Prefixes, netip.PrefixFrom(ip, ones))
			}
		}
		if len(l.Prefixes) == 0 {
			if len(names) > 0 {
				return nil, fmt.Errorf("interface %s has no IPv4 address to sweep", ifi.Name)
			}
			continue
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no up Ethernet interface with an IPv4 address")
	}
	return out, nil
}
