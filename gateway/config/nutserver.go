package config

import (
	"net"
	"net/netip"
	"sort"

	"github.com/praxisgate/praxisgate/drivers"
)

// NUTServer lets the practice's servers and NAS watch the gateway's UPS with
// their own NUT clients (upsmon, WinNUT, Synology) and shut down cleanly on
// low battery. It is read-only and off by default.
type NUTServer struct {
	// Listen is host:port, e.g. ":3493". Empty turns the server off.
	Listen string `yaml:"listen"`
	// Allow lists client networks (CIDR or single addresses) that may
	// connect. Empty allows loopback only.
	Allow []string `yaml:"allow"`
	// Username and Password are what the clients' upsmon.conf MONITOR
	// lines use. Required when the server is on.
	Username string         `yaml:"username"`
	Password drivers.Secret `yaml:"password"`
	// UPS maps the NUT name clients ask for to a device id of a ups or nut
	// device, e.g. {usv: usv-rack}.
	UPS map[string]string `yaml:"ups"`

	// AllowPrefixes is Allow parsed (filled by Load).
	AllowPrefixes []netip.Prefix `yaml:"-"`
}

func (l *loader) validateNUTServer() {
	n := &l.cfg.NUTServer
	if n.Listen == "" {
		if len(n.UPS) > 0 || len(n.Allow) > 0 {
			l.problem("nut_server.listen", "is required when nut_server is configured (e.g. \":3493\")")
		}
		return
	}
	if _, _, err := net.SplitHostPort(n.Listen); err != nil {
		l.problem("nut_server.listen", "want host:port like \":3493\", got %s", shown(n.Listen))
	}
	l.required("nut_server.username", n.Username)
	if n.Password == "" {
		l.problem("nut_server.password", "is required (or password_file): clients must log in")
	}
	for i, a := range n.Allow {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			addr, aerr := netip.ParseAddr(a)
			if aerr != nil {
				l.problem(indexPath("nut_server.allow", i), "want a network like 192.168.10.0/24 or an address, got %s", shown(a))
				continue
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		n.AllowPrefixes = append(n.AllowPrefixes, p.Masked())
	}
	if len(n.UPS) == 0 {
		l.problem("nut_server.ups", "names no UPS to serve (e.g. {usv: usv-rack})")
	}
	names := make([]string, 0, len(n.UPS))
	for name := range n.UPS {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		id := n.UPS[name]
		path := "nut_server.ups." + name
		if !slugRE.MatchString(name) {
			l.problem(path, "NUT name must be a slug, got %s", shown(name))
		}
		found := false
		for _, d := range l.cfg.Devices {
			if d.ID == id {
				found = true
				// UPS drivers give their devices the kind ups (the loader
				// filled it in where the file did not say).
				if d.Kind != "ups" {
					l.problem(path, "device %s is of kind %s, want a UPS (kind ups)", shown(id), shown(d.Kind))
				}
			}
		}
		if !found {
			l.problem(path, "no device %s in devices", shown(id))
		}
	}
}
