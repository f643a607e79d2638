package discover

import (
	"net"

	"github.com/praxisgate/praxisgate/drivers"
)

// The capabilities the gateway and the web page use by their neutral
// types (drivers/capability.go).
var (
	_ drivers.Inventorier    = (*Driver)(nil)
	_ drivers.HostLister     = (*Driver)(nil)
	_ drivers.ListSetter     = (*Driver)(nil)
	_ drivers.HostListConfig = (*Config)(nil)
)

// Hosts is the inventory in the neutral shape of drivers.Host.
func (d *Driver) Hosts() []drivers.Host {
	inv := d.Inventory()
	out := make([]drivers.Host, len(inv))
	for i, h := range inv {
		out[i] = drivers.Host{MAC: h.MAC, IPs: h.IPs, Vendor: h.Vendor, Name: h.Name, Kind: h.Kind,
			Known: h.Known, Adopted: h.Adopted, Present: h.Present, LastSeen: h.LastSeen, Adopt: adoption(h)}
	}
	return out
}

// adoption is how a host that answered SNMP is monitored: by the snmp
// driver at its first address, with the device kind its discovery kind
// stands for.
func adoption(h Host) *drivers.Adoption {
	if h.SNMP == nil || len(h.IPs) == 0 {
		return nil
	}
	return &drivers.Adoption{Driver: "snmp", Kind: deviceKind(h.Kind), Settings: map[string]string{"address": h.IPs[0]}, ProfileKey: "profiles"}
}

// deviceKind maps a discovery kind to a device kind.
func deviceKind(k string) string {
	switch k {
	case "ups-card":
		return "ups"
	case "unknown", "":
		return ""
	}
	return k
}

// HostListKeys are known_macs and adopted.
func (c *Config) HostListKeys() (string, string) { return "known_macs", "adopted" }

// HostLists returns known_macs and adopted.
func (c *Config) HostLists() ([]string, map[string]string) { return c.KnownMACs, c.Adopted }

// WithoutHostLists is the config without known_macs and adopted.
func (c *Config) WithoutHostLists() any {
	cp := *c
	cp.KnownMACs, cp.Adopted = nil, nil
	return &cp
}

// Listed says what known_macs (full MACs or vendor prefixes) and adopted
// make of mac, by the same rules as a sweep (policy.mark). A MAC that does
// not parse, or lists that do not check, make nothing of it.
func (c *Config) Listed(mac string) (bool, string) {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return false, ""
	}
	p, _ := c.check()
	var h Host
	p.mark(&h, hw.String())
	return h.Known, h.Adopted
}
