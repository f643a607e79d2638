package discover

import (
	"strings"

	"github.com/praxisgate/praxisgate/drivers/snmp"
)

// Suggest proposes how to adopt a discovered host into monitoring: the
// driver and profile to use and a stable device id. The technician (web
// page) or the provider (MQTT command) confirms or edits it; nothing is
// adopted automatically. The id is derived from the name when the host has
// one, else from kind and the last three MAC bytes, so it stays the same
// across sweeps and IP changes. driver is "" when no driver fits (a
// workstation is inventoried, not monitored).
func Suggest(h Host) (driver, profile, id string) {
	switch h.Kind {
	case KindPrinter, KindSwitch, KindNAS, KindUPSCard:
		driver = "snmp"
		profile = kindProfile(h.Kind)
		if h.SNMP != nil {
			profile = snmpProfile(h)
		}
	case KindKonnektor:
		driver = "konnektor"
	case KindServer:
		if h.SNMP != nil {
			driver, profile = "snmp", "host-resources"
		}
	case KindIoT:
		if h.SNMP != nil {
			// The snmp driver picks the sensor profile at its first poll.
			driver, profile = "snmp", snmpProfile(h)
		}
	}
	base := h.Name
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i] // "drucker1.praxis.local" -> "drucker1"
	}
	id = slug(base)
	if id == "" {
		kind := h.Kind
		if kind == "" {
			kind = KindUnknown
		}
		id = kind
		if len(h.MAC) == 17 {
			id += "-" + strings.ReplaceAll(h.MAC[9:], ":", "")
		}
	}
	return driver, profile, id
}

// snmpProfile names the profile the snmp driver itself would choose for
// this identity, so an adopted device starts with the right numbers (toner,
// battery); "" leaves the choice to the driver's first poll (e.g. a
// Synology that needs a probe).
func snmpProfile(h Host) string {
	if name, _, ok := snmp.ProfileFor(snmp.Identity{SysObjectID: h.SNMP.SysObjectID, SysDescr: h.SNMP.SysDescr}); ok {
		return name
	}
	oid := strings.TrimPrefix(h.SNMP.SysObjectID, ".")
	for prefix, p := range map[string]string{
		"1.3.6.1.4.1.318.":   "apc",
		"1.3.6.1.4.1.534.":   "eaton-xups",
		"1.3.6.1.4.1.6574.":  "synology",
		"1.3.6.1.4.1.24681.": "qnap",
	} {
		if strings.HasPrefix(oid+".", prefix) {
			return p
		}
	}
	return kindProfile(h.Kind)
}

// kindProfile is the generic snmp profile for a kind, "" where the driver
// should decide at its first poll.
func kindProfile(kind string) string {
	switch kind {
	case KindPrinter:
		return "printer"
	case KindSwitch:
		return "switch"
	case KindUPSCard:
		return "ups-mib"
	}
	return ""
}

// slug lower-cases s and keeps a-z, 0-9 and single dashes: the device id
// shape of the MQTT topics. German umlauts are spelled out, since
// practices name devices "Drucker-Empfang" or "Kühlschrank".
func slug(s string) string {
	s = strings.ToLower(s)
	r := strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss")
	s = r.Replace(s)
	var b strings.Builder
	dash := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(c)
		default:
			dash = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	return b.String()
}

// validSlug reports whether id is already in slug form.
func validSlug(id string) bool {
	return id != "" && slug(id) == id
}
