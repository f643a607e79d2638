package discover

import (
	"net"
	"net/netip"
	"slices"
	"time"
)

// Host is one device in the inventory, keyed by its MAC: one MAC with
// several IPs is one device. It is also the JSON shape of each entry on the
// retained `inventory` topic and in the state file, so field names are part
// of the MQTT contract (see docs/drivers/discover.md).
type Host struct {
	MAC       string   `json:"mac"`
	IPs       []string `json:"ips"`
	Interface string   `json:"interface"`
	// Vendor is the IEEE registrant of the MAC prefix.
	Vendor string `json:"vendor,omitempty"`
	// Name is the SNMP sysName, else the reverse DNS name.
	Name    string `json:"name,omitempty"`
	DNSName string `json:"dns_name,omitempty"`
	// Kind is printer, switch, nas, ups-card, konnektor, server,
	// workstation, phone, iot or unknown; KindReason says which evidence decided it.
	Kind       string        `json:"kind"`
	KindReason string        `json:"kind_reason"`
	SNMP       *SNMPIdentity `json:"snmp,omitempty"`
	OpenPorts  []int         `json:"open_ports,omitempty"`
	// Konnektor is set when the host serves a TI connector's service
	// directory.
	Konnektor *KonnektorIdentity `json:"konnektor,omitempty"`
	// Randomized is set for locally administered MACs (phones and laptops
	// rotating their address); such hosts are reported as a group.
	Randomized bool `json:"randomized"`
	// Known is true when the MAC is in known_macs, adopted, or was learned
	// by the first sweep; other hosts raised device.unknown.
	Known bool `json:"known"`
	// Learned marks hosts accepted by the first sweep (persisted, since the
	// config does not list them).
	Learned bool `json:"learned,omitempty"`
	// Adopted is the device id this host is monitored as, if any.
	Adopted string `json:"adopted,omitempty"`
	// Present is false once the host missed missed_sweeps sweeps.
	Present    bool      `json:"present"`
	Missed     int       `json:"missed_sweeps"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	EnrichedAt time.Time `json:"enriched_at,omitzero"`
}

// SNMPIdentity is what the system group of MIB-II says about a host.
type SNMPIdentity struct {
	SysName     string `json:"sys_name,omitempty"`
	SysDescr    string `json:"sys_descr,omitempty"`
	SysObjectID string `json:"sys_object_id,omitempty"`
	// Via names the credential that worked ("v2c community #1", "v3 user
	// monitor"), never the secret itself.
	Via string `json:"via"`
}

// clone returns a deep copy, so callers of Inventory cannot race the sweep.
func (h Host) clone() Host {
	h.IPs = slices.Clone(h.IPs)
	h.OpenPorts = slices.Clone(h.OpenPorts)
	if h.SNMP != nil {
		s := *h.SNMP
		h.SNMP = &s
	}
	return h
}

// isRandomized reports a locally administered unicast MAC, the kind iOS,
// Android and Windows use for "private Wi-Fi addresses".
func isRandomized(mac net.HardwareAddr) bool {
	return len(mac) == 6 && mac[0]&0x02 != 0 && mac[0]&0x01 == 0
}

// sortIPs orders addresses numerically, so "10.0.0.9" precedes "10.0.0.10".
func sortIPs(ips []string) {
	slices.SortFunc(ips, func(a, b string) int {
		x, errx := netip.ParseAddr(a)
		y, erry := netip.ParseAddr(b)
		if errx != nil || erry != nil {
			if a < b {
				return -1
			} else if a > b {
				return 1
			}
			return 0
		}
		return x.Compare(y)
	})
}
