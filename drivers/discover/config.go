package discover

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Config is the `discover:` section of a device entry. The sweep interval is
// the device's `interval` (the gateway's default for this driver is 15m);
// everything else about a sweep lives here.
type Config struct {
	// Interfaces to sweep. Empty means every interface that is up, not
	// loopback, can broadcast and has an IPv4 address.
	Interfaces []string `yaml:"interfaces"`
	// Rate is the number of ARP requests sent per second and interface.
	// 500/s is about 0.3 Mbit/s of broadcast: invisible to a small office
	// switch and to the hosts, yet a /24 takes half a second per pass.
	Rate int `yaml:"rate"`
	// Retries is how many more times a silent address is asked; some
	// devices (sleeping printers, busy embedded stacks) drop the first.
	Retries int `yaml:"retries"`
	// ReplyWait is how long to wait for late replies after each request
	// before asking the same address again, and after the last request.
	ReplyWait time.Duration `yaml:"reply_wait"`
	// AllowLarge permits subnets larger than /22 (up to /16). Sweeping a
	// /16 takes minutes and floods the segment with broadcasts, so it must
	// be asked for.
	AllowLarge bool `yaml:"allow_large"`

	// SNMP asks each new host for sysName, sysDescr and sysObjectID.
	SNMP SNMPConfig `yaml:"snmp"`
	// Ports are the TCP ports probed per host to tell printers, NAS and
	// workstations apart. An empty list disables the probe.
	Ports []int `yaml:"ports"`
	// ProbeTimeout bounds one TCP connect, one reverse DNS lookup.
	ProbeTimeout time.Duration `yaml:"probe_timeout"`
	// ReverseDNS looks up PTR names of hosts through the system resolver.
	ReverseDNS bool `yaml:"reverse_dns"`
	// EnrichEvery re-runs DNS, SNMP and the port probe on hosts already
	// known; new hosts and hosts with a new IP are always enriched.
	EnrichEvery time.Duration `yaml:"enrich_every"`

	// MissedSweeps is how many sweeps in a row a host may stay silent
	// before device.disappeared; one missed reply is not a departure.
	MissedSweeps int `yaml:"missed_sweeps"`
	// ForgetAfter drops hosts gone for this long from the inventory.
	ForgetAfter time.Duration `yaml:"forget_after"`
	// KnownMACs are the devices expected on the network: full MACs
	// ("00:11:32:aa:bb:cc") or vendor prefixes ("00:11:32"). Others raise
	// device.unknown.
	KnownMACs []string `yaml:"known_macs"`
	// LearnFirstSweep accepts everything the very first sweep (no
	// inventory on disk yet) finds as known, so installing the box does
	// not raise an alarm per existing device.
	LearnFirstSweep bool `yaml:"learn_first_sweep"`
	// Adopted maps MACs to the device ids they were adopted as, so the
	// inventory shows which hosts are monitored.
	Adopted map[string]string `yaml:"adopted"`
	// UnknownSeverity is the severity of device.unknown.
	UnknownSeverity string `yaml:"unknown_severity"`
	// RandomizedSeverity is the severity of the grouped device.unknown
	// event for hosts with randomised (locally administered) MACs.
	RandomizedSeverity string `yaml:"randomized_severity"`
	// ConflictSeverity is the severity of network.ip_conflict.
	ConflictSeverity string `yaml:"conflict_severity"`
}

// SNMPConfig holds the credentials tried, in order, on each host.
type SNMPConfig struct {
	// Communities are SNMPv2c community strings.
	Communities []drivers.Secret `yaml:"communities"`
	// Users are SNMPv3 users (tried before the communities).
	Users []SNMPUser `yaml:"v3_users"`
	// Port is the agent's UDP port (161; tests use others).
	Port int `yaml:"port"`
	// Timeout bounds one request; no retries, a silent host is common.
	Timeout time.Duration `yaml:"timeout"`
}

// SNMPUser is one SNMPv3 USM user.
type SNMPUser struct {
	User string `yaml:"user"`
	// AuthProtocol is MD5, SHA, SHA224, SHA256, SHA384, SHA512 or empty
	// (noAuthNoPriv).
	AuthProtocol string         `yaml:"auth_protocol"`
	AuthPassword drivers.Secret `yaml:"auth_password"`
	// PrivProtocol is DES, AES, AES192, AES256 or empty (authNoPriv).
	PrivProtocol string         `yaml:"priv_protocol"`
	PrivPassword drivers.Secret `yaml:"priv_password"`
}

// Defaults returns the Config the gateway decodes the section onto.
func Defaults() Config {
	return Config{
		Rate:               500,
		Retries:            1,
		ReplyWait:          250 * time.Millisecond,
		SNMP:               SNMPConfig{Communities: []drivers.Secret{"public"}, Port: 161, Timeout: time.Second},
		Ports:              []int{22, 80, 443, 445, 631, 3389, 9100},
		ProbeTimeout:       500 * time.Millisecond,
		ReverseDNS:         true,
		EnrichEvery:        24 * time.Hour,
		MissedSweeps:       3,
		ForgetAfter:        90 * 24 * time.Hour,
		LearnFirstSweep:    true,
		UnknownSeverity:    string(drivers.Major),
		RandomizedSeverity: string(drivers.Info),
		ConflictSeverity:   string(drivers.Critical),
	}
}

// policy is the checked, parsed form of the parts of Config the inventory
// needs.
type policy struct {
	missed      int
	forget      time.Duration
	enrichEvery time.Duration
	knownMACs   map[string]bool
	knownOUIs   map[string]bool
	learnFirst  bool
	adopted     map[string]string
	unknownSev  drivers.Severity
	randomSev   drivers.Severity
	conflictSev drivers.Severity
}

// check validates cfg without I/O and returns the parsed policy.
func (cfg Config) check() (policy, error) {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, drivers.Fieldf(field, format, args...)) }
	for i, name := range cfg.Interfaces {
		if name == "" || strings.ContainsAny(name, "/ \t") || len(name) > 15 {
			bad(fmt.Sprintf("interfaces[%d]", i), "%q is not an interface name", name)
		}
	}
	if cfg.Rate < 1 || cfg.Rate > 10000 {
		bad("rate", "%d requests/s is outside 1..10000", cfg.Rate)
	}
	if cfg.Retries < 0 || cfg.Retries > 10 {
		bad("retries", "%d is outside 0..10", cfg.Retries)
	}
	if cfg.ReplyWait < 10*time.Millisecond || cfg.ReplyWait > 10*time.Second {
		bad("reply_wait", "%v is outside 10ms..10s", cfg.ReplyWait)
	}
	for i, p := range cfg.Ports {
		if p < 1 || p > 65535 {
			bad(fmt.Sprintf("ports[%d]", i), "%d is not a TCP port", p)
		}
	}
	if cfg.ProbeTimeout < 10*time.Millisecond || cfg.ProbeTimeout > 30*time.Second {
		bad("probe_timeout", "%v is outside 10ms..30s", cfg.ProbeTimeout)
	}
	if cfg.EnrichEvery < 0 {
		bad("enrich_every", "must not be negative")
	}
	if cfg.SNMP.Port < 1 || cfg.SNMP.Port > 65535 {
		bad("snmp.port", "%d is not a UDP port", cfg.SNMP.Port)
	}
	if cfg.SNMP.Timeout < 10*time.Millisecond || cfg.SNMP.Timeout > 30*time.Second {
		bad("snmp.timeout", "%v is outside 10ms..30s", cfg.SNMP.Timeout)
	}
	for i, c := range cfg.SNMP.Communities {
		if c == "" {
			bad(fmt.Sprintf("snmp.communities[%d]", i), "empty community")
		}
	}
	for i, u := range cfg.SNMP.Users {
		f := fmt.Sprintf("snmp.v3_users[%d]", i)
		if u.User == "" {
			bad(f+".user", "required")
		}
		if _, ok := authProtocols[strings.ToUpper(u.AuthProtocol)]; !ok {
			bad(f+".auth_protocol", "%q is not one of MD5, SHA, SHA224, SHA256, SHA384, SHA512", u.AuthProtocol)
		}
		if _, ok := privProtocols[strings.ToUpper(u.PrivProtocol)]; !ok {
			bad(f+".priv_protocol", "%q is not one of DES, AES, AES192, AES256", u.PrivProtocol)
		}
		if u.AuthProtocol != "" && len(u.AuthPassword) < 8 {
			bad(f+".auth_password", "needs at least 8 characters (RFC 3414)")
		}
		if u.PrivProtocol != "" && u.AuthProtocol == "" {
			bad(f+".priv_protocol", "privacy needs an auth_protocol")
		}
		if u.PrivProtocol != "" && len(u.PrivPassword) < 8 {
			bad(f+".priv_password", "needs at least 8 characters (RFC 3414)")
		}
	}
	if cfg.MissedSweeps < 1 || cfg.MissedSweeps > 1000 {
		bad("missed_sweeps", "%d is outside 1..1000", cfg.MissedSweeps)
	}
	if cfg.ForgetAfter < time.Hour {
		bad("forget_after", "%v is shorter than 1h", cfg.ForgetAfter)
	}
	p := policy{
		missed:      cfg.MissedSweeps,
		forget:      cfg.ForgetAfter,
		enrichEvery: cfg.EnrichEvery,
		knownMACs:   map[string]bool{},
		knownOUIs:   map[string]bool{},
		learnFirst:  cfg.LearnFirstSweep,
		adopted:     map[string]string{},
	}
	for i, m := range cfg.KnownMACs {
		f := fmt.Sprintf("known_macs[%d]", i)
		if hw, err := net.ParseMAC(m); err == nil && len(hw) == 6 {
			p.knownMACs[hw.String()] = true
		} else if hw, err := net.ParseMAC(m + ":00:00:00"); err == nil && len(hw) == 6 {
			p.knownOUIs[hw.String()[:8]] = true
		} else {
			bad(f, "%q is neither a MAC (aa:bb:cc:dd:ee:ff) nor a vendor prefix (aa:bb:cc)", m)
		}
	}
	for m, id := range cfg.Adopted {
		hw, err := net.ParseMAC(m)
		if err != nil || len(hw) != 6 {
			bad("adopted", "%q is not a MAC address", m)
			continue
		}
		if !validSlug(id) {
			bad("adopted", "device id %q for %s is not a slug (a-z, 0-9, '-')", id, m)
		}
		p.adopted[hw.String()] = id
	}
	var err error
	if p.unknownSev, err = drivers.ParseSeverity(cfg.UnknownSeverity); err != nil {
		bad("unknown_severity", "%v", err)
	}
	if p.randomSev, err = drivers.ParseSeverity(cfg.RandomizedSeverity); err != nil {
		bad("randomized_severity", "%v", err)
	}
	if p.conflictSev, err = drivers.ParseSeverity(cfg.ConflictSeverity); err != nil {
		bad("conflict_severity", "%v", err)
	}
	return p, errors.Join(errs...)
}
