package discover

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/discover/oui"
)

// observation is what one sweep saw of one MAC.
type observation struct {
	MAC   string
	IPs   []string
	Iface string
}

// enrichment is what DNS, SNMP and the port probe found for one host. A
// zero value still counts: the host was asked and said nothing.
type enrichment struct {
	DNSName   string
	SNMP      *SNMPIdentity
	OpenPorts []int
	Konnektor *KonnektorIdentity
}

// inventory is the set of hosts ever seen (until forgotten), keyed by MAC.
// It is pure state: merge turns one sweep into events without I/O, which is
// what the unit tests drive.
type inventory struct {
	hosts map[string]*Host
	// fresh is true until the first sweep has been merged into an
	// inventory that did not exist on disk.
	fresh bool
	// claimed holds the "ip mac" conflicts Watch already reported since
	// the last sweep: a spoofing tool repeats its forged ARP every
	// second, the provider needs to hear it once.
	claimed map[string]bool
}

// sweepStats are the summary metrics of one sweep.
type sweepStats struct {
	present, fresh, unknown, randomized, gone, conflicts int
}

// due returns the observations whose host needs DNS, SNMP and the port
// probe: new hosts, hosts back after a departure, hosts with another IP,
// and hosts not enriched for every.
func (inv *inventory) due(obs []observation, now time.Time, every time.Duration) []observation {
	var out []observation
	for _, o := range obs {
		h := inv.hosts[o.MAC]
		if h == nil || !h.Present || h.EnrichedAt.IsZero() || !slices.Equal(h.IPs, o.IPs) ||
			(every > 0 && now.Sub(h.EnrichedAt) >= every) {
			out = append(out, o)
		}
	}
	return out
}

// merge applies one sweep: obs are all MACs that answered, enr the
// enrichment of those that were due. It returns the events in a stable
// order (by MAC) so the provider sees the same sequence on a replay.
func (inv *inventory) merge(now time.Time, obs []observation, enr map[string]enrichment, p policy) ([]drivers.Event, sweepStats) {
	var events []drivers.Event
	var st sweepStats
	ev := func(typ string, sev drivers.Severity, msg string, attrs map[string]any) {
		events = append(events, drivers.Event{Time: now, Type: typ, Severity: sev, Message: msg, Attrs: attrs})
	}

	// Who held each IP at the end of the previous sweep.
	holders := map[string][]string{}
	for _, mac := range slices.Sorted(maps.Keys(inv.hosts)) {
		if h := inv.hosts[mac]; h.Present && h.Missed == 0 {
			for _, ip := range h.IPs {
				holders[ip] = append(holders[ip], mac)
			}
		}
	}
	seen := map[string]bool{}
	byIP := map[string][]string{}
	for _, o := range obs {
		seen[o.MAC] = true
		for _, ip := range o.IPs {
			byIP[ip] = append(byIP[ip], o.MAC)
		}
	}
	slices.SortFunc(obs, func(a, b observation) int { return strings.Compare(a.MAC, b.MAC) })

	conflicts := map[string][]string{} // ip -> MACs involved, previous holder first
	var randomNew []string
	for _, o := range obs {
		h := inv.hosts[o.MAC]
		isNew := h == nil
		back := !isNew && !h.Present
		if isNew {
			hw, _ := net.ParseMAC(o.MAC)
			h = &Host{MAC: o.MAC, FirstSeen: now, Vendor: oui.Lookup(hw), Randomized: isRandomized(hw)}
			inv.hosts[o.MAC] = h
			// Randomised MACs are never learned: they rotate, so a
			// learned one says nothing about the next.
			if inv.fresh && p.learnFirst && !h.Randomized {
				h.Learned = true
			}
		}
		for _, ip := range o.IPs {
			if len(byIP[ip]) > 1 {
				conflicts[ip] = byIP[ip]
				continue
			}
			for _, old := range holders[ip] {
				if old != o.MAC && !seen[old] {
					// The previous holder answered last sweep and is
					// silent now, while a new MAC answers for its
					// address: a takeover, or ARP spoofing of a host
					// that was cut off.
					conflicts[ip] = []string{old, o.MAC}
				}
			}
		}
		h.IPs = slices.Clone(o.IPs)
		sortIPs(h.IPs)
		h.Interface = o.Iface
		h.LastSeen = now
		h.Missed = 0
		h.Present = true
		p.mark(h, o.MAC)

		oldName, oldKind, wasEnriched := h.Name, h.Kind, !h.EnrichedAt.IsZero()
		if e, ok := enr[o.MAC]; ok {
			h.DNSName, h.SNMP, h.OpenPorts, h.Konnektor = e.DNSName, e.SNMP, slices.Clone(e.OpenPorts), e.Konnektor
			h.EnrichedAt = now
		}
		h.Name = h.DNSName
		if h.SNMP != nil && h.SNMP.SysName != "" {
			h.Name = h.SNMP.SysName
		}
		h.Kind, h.KindReason = classify(h)
		if wasEnriched && !isNew && (h.Name != oldName || h.Kind != oldKind) {
			ev("device.changed", drivers.Info,
				fmt.Sprintf("%s changed: name %q -> %q, kind %s -> %s", describe(h), oldName, h.Name, oldKind, h.Kind),
				map[string]any{"mac": h.MAC, "old_name": oldName, "name": h.Name, "old_kind": oldKind, "kind": h.Kind})
		}

		if !isNew && !back {
			continue
		}
		st.fresh++
		if h.Randomized {
			if !h.Known {
				randomNew = append(randomNew, h.MAC)
			}
			continue
		}
		verb := "appeared"
		if back {
			verb = "is back"
		}
		ev("device.appeared", drivers.Info, fmt.Sprintf("%s %s", describe(h), verb), hostAttrs(h))
		if !h.Known {
			ev("device.unknown", p.unknownSev,
				fmt.Sprintf("unknown device on the network: %s", describe(h)), hostAttrs(h))
		}
	}
	if len(randomNew) > 0 {
		ev("device.unknown", p.randomSev,
			fmt.Sprintf("%d device(s) with randomised MAC addresses joined (phones or laptops with private addresses)", len(randomNew)),
			map[string]any{"randomized": true, "count": len(randomNew), "macs": randomNew})
	}

	for _, mac := range slices.Sorted(maps.Keys(inv.hosts)) {
		h := inv.hosts[mac]
		if seen[mac] {
			continue
		}
		if h.Present {
			h.Missed++
			if h.Missed >= p.missed {
				h.Present = false
				st.gone++
				if h.Randomized {
					// Rotating addresses would grow the inventory
					// without bound and mean nothing once gone.
					delete(inv.hosts, mac)
					continue
				}
				sev := drivers.Info
				if h.Adopted != "" {
					sev = drivers.Minor
				}
				ev("device.disappeared", sev,
					fmt.Sprintf("%s disappeared (no answer to %d sweeps)", describe(h), h.Missed), hostAttrs(h))
			}
		}
		if !h.Present && now.Sub(h.LastSeen) > p.forget {
			delete(inv.hosts, mac)
		}
	}

	for _, ip := range slices.Sorted(maps.Keys(conflicts)) {
		macs := conflicts[ip]
		ev("network.ip_conflict", p.conflictSev,
			fmt.Sprintf("IP %s answered by %s (possible ARP spoofing or a duplicate address)", ip, strings.Join(macs, " and ")),
			map[string]any{"ip": ip, "macs": macs})
	}
	st.conflicts = len(conflicts)

	for _, h := range inv.hosts {
		if !h.Present {
			continue
		}
		st.present++
		if h.Randomized {
			st.randomized++
		} else if !h.Known {
			st.unknown++
		}
	}
	inv.fresh = false
	inv.claimed = nil
	return events, st
}

// describe names a host for a message: "printer drucker-1 (00:16:3e:..,
// Brother Industries, 10.0.0.5)".
func describe(h *Host) string {
	var b strings.Builder
	if h.Kind != "" && h.Kind != "unknown" {
		b.WriteString(h.Kind + " ")
	}
	if h.Name != "" {
		fmt.Fprintf(&b, "%q ", h.Name)
	}
	b.WriteString("(" + h.MAC)
	if h.Vendor != "" {
		b.WriteString(", " + h.Vendor)
	}
	if len(h.IPs) > 0 {
		b.WriteString(", " + strings.Join(h.IPs, " "))
	}
	b.WriteString(")")
	return b.String()
}

func hostAttrs(h *Host) map[string]any {
	return map[string]any{
		"mac": h.MAC, "ips": slices.Clone(h.IPs), "vendor": h.Vendor, "name": h.Name,
		"kind": h.Kind, "interface": h.Interface, "known": h.Known,
	}
}

// observe merges one passively seen ARP sender between sweeps. Unlike
// merge it says nothing about hosts it did not see. It reports a MAC that
// is new or back, and an address claimed by a different MAC while its
// holder answered the last sweep (which is what forged gratuitous ARP
// looks like).
func (inv *inventory) observe(now time.Time, o observation, p policy) []drivers.Event {
	h := inv.hosts[o.MAC]
	if h != nil && h.Present {
		if !slices.Contains(h.IPs, o.IPs[0]) {
			// A second address of a known device; the next sweep
			// decides whether the first one is still in use.
			h.IPs = append(h.IPs, o.IPs[0])
			sortIPs(h.IPs)
		}
		h.LastSeen = now
		h.Missed = 0
		return inv.conflictsWith(now, o, p)
	}
	events := inv.conflictsWith(now, o, p)
	// Reuse merge for the appeared/unknown logic on a one-host inventory
	// view, so both paths classify and word events the same way.
	single := &inventory{hosts: map[string]*Host{}}
	if h != nil {
		single.hosts[o.MAC] = h
	}
	evs, _ := single.merge(now, []observation{o}, nil, p)
	for _, e := range evs {
		if e.Type != "network.ip_conflict" {
			events = append(events, e)
		}
	}
	inv.hosts[o.MAC] = single.hosts[o.MAC]
	return events
}

// conflictsWith reports o's address if another present host answered for
// it in the last sweep.
func (inv *inventory) conflictsWith(now time.Time, o observation, p policy) []drivers.Event {
	var events []drivers.Event
	for mac, h := range inv.hosts {
		if mac == o.MAC || !h.Present || h.Missed != 0 || !slices.Contains(h.IPs, o.IPs[0]) {
			continue
		}
		key := o.IPs[0] + " " + o.MAC
		if inv.claimed[key] {
			continue
		}
		if inv.claimed == nil {
			inv.claimed = map[string]bool{}
		}
		inv.claimed[key] = true
		events = append(events, drivers.Event{Time: now, Type: "network.ip_conflict", Severity: p.conflictSev,
			Message: fmt.Sprintf("IP %s claimed by %s while %s holds it (possible ARP spoofing or a duplicate address)", o.IPs[0], o.MAC, mac),
			Attrs:   map[string]any{"ip": o.IPs[0], "macs": []string{mac, o.MAC}}})
	}
	return events
}

// mark sets whether the host with this MAC is adopted or expected, from
// the lists of the config (and what the first sweep learned).
func (p policy) mark(h *Host, mac string) {
	h.Adopted = p.adopted[mac]
	h.Known = h.Learned || h.Adopted != "" || p.knownMACs[mac] || p.knownOUIs[mac[:8]]
}
