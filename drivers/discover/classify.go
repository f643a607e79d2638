package discover

import (
	"fmt"
	"slices"
	"strings"
)

// The kinds a host is classified into. They match the `kind` values the
// gateway uses for adopted devices.
const (
	KindPrinter     = "printer"
	KindSwitch      = "switch"
	KindNAS         = "nas"
	KindUPSCard     = "ups-card"
	KindKonnektor   = "konnektor" // a TI Konnektor (konnektor.go)
	KindServer      = "server"
	KindWorkstation = "workstation"
	KindPhone       = "phone"
	KindIoT         = "iot"
	KindUnknown     = "unknown"
)

// enterpriseKinds maps SNMP private enterprise numbers (the arc after
// 1.3.6.1.4.1 in sysObjectID) to kinds. sysObjectID is the strongest hint a
// device gives: it names the maker's agent, not a guess from a port.
var enterpriseKinds = map[string]struct{ kind, maker string }{
	"318":   {KindUPSCard, "APC"},
	"534":   {KindUPSCard, "Eaton (Powerware)"},
	"705":   {KindUPSCard, "Eaton (MGE)"},
	"3808":  {KindUPSCard, "CyberPower"},
	"935":   {KindUPSCard, "Phoenixtec NetAgent"},
	"5491":  {KindUPSCard, "Riello Netman"},
	"4555":  {KindUPSCard, "Socomec"},
	"2435":  {KindPrinter, "Brother"},
	"1602":  {KindPrinter, "Canon"},
	"367":   {KindPrinter, "Ricoh"},
	"18334": {KindPrinter, "Konica Minolta"},
	"1347":  {KindPrinter, "Kyocera"},
	"1248":  {KindPrinter, "Epson"},
	"253":   {KindPrinter, "Xerox"},
	"641":   {KindPrinter, "Lexmark"},
	"2001":  {KindPrinter, "OKI"},
	"6574":  {KindNAS, "Synology"},
	"24681": {KindNAS, "QNAP"},
	"9":     {KindSwitch, "Cisco"},
	"11863": {KindSwitch, "TP-Link"},
	"4526":  {KindSwitch, "Netgear"},
	"171":   {KindSwitch, "D-Link"},
	"2636":  {KindSwitch, "Juniper"},
	"25506": {KindSwitch, "HPE/H3C"},
	"14823": {KindSwitch, "Aruba"},
	"20916": {KindIoT, "AVTECH Room Alert"},
	"21796": {KindIoT, "HW group"},
	"5813":  {KindIoT, "Papouch"},
}

// vendorKinds are substrings of IEEE organisation names whose products are
// nearly always of one kind in a practice network. Weaker than SNMP, since
// a maker may sell several kinds of device.
var vendorKinds = []struct{ substr, kind string }{
	{"synology", KindNAS}, {"qnap", KindNAS},
	{"american power conversion", KindUPSCard}, {"schneider electric", KindUPSCard},
	{"eaton", KindUPSCard}, {"cyber power", KindUPSCard},
	{"brother industries", KindPrinter}, {"canon", KindPrinter}, {"kyocera", KindPrinter},
	{"ricoh", KindPrinter}, {"lexmark", KindPrinter}, {"xerox", KindPrinter},
	{"konica minolta", KindPrinter}, {"seiko epson", KindPrinter},
	{"yealink", KindPhone}, {"snom", KindPhone}, {"polycom", KindPhone}, {"grandstream", KindPhone},
	{"gigaset", KindPhone}, {"avm", KindPhone}, {"auerswald", KindPhone},
	{"espressif", KindIoT}, {"raspberry pi", KindIoT}, {"shelly", KindIoT}, {"tuya", KindIoT},
	{"ubiquiti", KindSwitch}, {"tp-link", KindSwitch}, {"netgear", KindSwitch}, {"d-link", KindSwitch},
	{"lancom", KindSwitch}, {"zyxel", KindSwitch},
}

// classify decides a host's kind and says why. The evidence is tried from
// strongest to weakest: SNMP identity, then open ports that only one kind
// of device serves, then the MAC vendor, then general-purpose ports.
func classify(h *Host) (kind, reason string) {
	if h.Konnektor != nil {
		return KindKonnektor, describeKonnektor(h.Konnektor)
	}
	if s := h.SNMP; s != nil {
		oid := strings.TrimPrefix(s.SysObjectID, ".")
		if rest, ok := strings.CutPrefix(oid, "1.3.6.1.4.1."); ok {
			ent, _, _ := strings.Cut(rest, ".")
			if ent == "11" && strings.HasPrefix(rest, "11.2.3.9") {
				return KindPrinter, fmt.Sprintf("SNMP sysObjectID %s is an HP JetDirect print server", s.SysObjectID)
			}
			if k, ok := enterpriseKinds[ent]; ok {
				return k.kind, fmt.Sprintf("SNMP sysObjectID %s belongs to %s (enterprise %s)", s.SysObjectID, k.maker, ent)
			}
		}
		d := strings.ToLower(s.SysDescr + " " + s.SysName)
		for _, r := range []struct {
			words []string
			kind  string
		}{
			{[]string{"printer", "laserjet", "jetdirect", "bizhub", "officejet"}, KindPrinter},
			{[]string{"ups", "management card", "power manager"}, KindUPSCard},
			{[]string{"diskstation", "nas"}, KindNAS},
			{[]string{"switch"}, KindSwitch},
		} {
			for _, w := range r.words {
				if containsWord(d, w) {
					return r.kind, fmt.Sprintf("SNMP sysDescr/sysName mentions %q", w)
				}
			}
		}
	}
	has := func(p int) bool { return slices.Contains(h.OpenPorts, p) }
	switch {
	case has(9100):
		return KindPrinter, "tcp/9100 open (raw JetDirect printing)"
	case has(631) && !has(22) && !has(445):
		return KindPrinter, "tcp/631 open (IPP) without SSH or SMB"
	}
	v := strings.ToLower(h.Vendor)
	for _, r := range vendorKinds {
		if v != "" && strings.Contains(v, r.substr) {
			return r.kind, fmt.Sprintf("MAC vendor %q makes mostly %s devices", h.Vendor, r.kind)
		}
	}
	if h.SNMP != nil {
		d := strings.ToLower(h.SNMP.SysDescr)
		switch {
		case strings.Contains(d, "windows") && has(3389) && !strings.Contains(d, "server"):
			return KindWorkstation, "SNMP sysDescr says Windows, tcp/3389 open"
		case strings.Contains(d, "windows"), strings.Contains(d, "linux"):
			return KindServer, "SNMP agent on a general-purpose OS (sysDescr " + firstWords(h.SNMP.SysDescr, 3) + ")"
		}
	}
	switch {
	case has(445) && has(3389):
		return KindWorkstation, "tcp/445 (SMB) and tcp/3389 (remote desktop) open"
	case has(445):
		return KindServer, "tcp/445 (SMB file sharing) open"
	case has(22) && (has(80) || has(443)):
		return KindServer, "tcp/22 (SSH) and a web port open"
	case has(80) || has(443):
		return KindIoT, "only a web interface open"
	}
	if h.Randomized {
		return KindUnknown, "randomised MAC (phone or laptop with a private address), no open ports"
	}
	return KindUnknown, "no SNMP answer, no telling open ports, vendor " + orNone(h.Vendor)
}

// containsWord reports w in s as a word, so "ups" does not match "groups"
// and "nas" does not match "dynastie"; a number may follow ("nas0",
// "ups2"), since that is how devices get named.
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isAlnum(s[j-1])
		after := j+len(w) == len(s) || !isLetter(s[j+len(w)])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isAlnum(c byte) bool { return isLetter(c) || c >= '0' && c <= '9' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' }

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return fmt.Sprintf("%q", strings.Join(f, " "))
}

func orNone(s string) string {
	if s == "" {
		return "unregistered"
	}
	return fmt.Sprintf("%q", s)
}
