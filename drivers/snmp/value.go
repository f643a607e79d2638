package snmp

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// oid is a parsed object identifier; comparing arcs, not strings, gives the
// order agents walk in ("1.10" after "1.9").
type oid []uint32

// parseOID reads a dotted OID with or without the leading dot. Recordings and
// some agents (netagent2's sysObjectID) differ on the dot, so both are
// accepted everywhere.
func parseOID(s string) (oid, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	if s == "" {
		return nil, errors.New("empty OID")
	}
	if len(s) > 1024 {
		return nil, errors.New("OID longer than 1024 characters")
	}
	parts := strings.Split(s, ".")
	if len(parts) > 128 {
		return nil, errors.New("OID with more than 128 arcs")
	}
	o := make(oid, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: arc %d is not a number", s, i+1)
		}
		o[i] = uint32(n)
	}
	return o, nil
}

func (o oid) String() string {
	var b strings.Builder
	for _, a := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(a), 10))
	}
	return b.String()
}

func (o oid) hasPrefix(p oid) bool {
	return len(o) >= len(p) && slices.Equal(o[:len(p)], p)
}

func (o oid) compare(p oid) int { return slices.Compare(o, p) }

// child returns o.arcs...
func (o oid) child(arcs ...uint32) oid {
	c := make(oid, 0, len(o)+len(arcs))
	return append(append(c, o...), arcs...)
}

// raw is one value as the agent sent it, reduced to what profiles use.
type raw struct {
	// num is set for every numeric SNMP type and for OIDs' last arc never.
	num    float64
	isNum  bool
	text   string
	octets []byte
	// counter is set for Counter32/Counter64, with bits its width, so rates
	// know where the counter wraps.
	counter bool
	bits    int
	// u64 is the exact counter value (float64 loses Counter64 digits).
	u64 uint64
	// typ is the ASN.1 type, for error messages.
	typ gosnmp.Asn1BER
}

// errNoValue marks the SNMPv2 exceptions noSuchObject, noSuchInstance and
// endOfMibView: the agent answered, but there is nothing there.
var errNoValue = errors.New("no such object")

// decodePDU converts a gosnmp variable into a raw value. It never panics on
// what an agent sends: types it does not know are errors.
func decodePDU(v gosnmp.SnmpPDU) (raw, error) {
	r := raw{typ: v.Type}
	switch v.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null:
		return r, errNoValue
	case gosnmp.Integer:
		n, ok := v.Value.(int)
		if !ok {
			return r, fmt.Errorf("integer holds %T", v.Value)
		}
		r.num, r.isNum = float64(n), true
		r.text = strconv.Itoa(n)
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32:
		var n uint64
		switch x := v.Value.(type) {
		case uint:
			n = uint64(x)
		case uint32:
			n = uint64(x)
		default:
			return r, fmt.Errorf("%v holds %T", v.Type, v.Value)
		}
		r.num, r.isNum = float64(n), true
		r.text = strconv.FormatUint(n, 10)
		if v.Type == gosnmp.Counter32 {
			r.counter, r.bits, r.u64 = true, 32, n
		}
	case gosnmp.Counter64:
		var n uint64
		switch x := v.Value.(type) {
		case uint64:
			n = x
		case *big.Int:
			if x == nil || x.Sign() < 0 || !x.IsUint64() {
				return r, errors.New("counter64 out of range")
			}
			n = x.Uint64()
		default:
			return r, fmt.Errorf("counter64 holds %T", v.Value)
		}
		r.num, r.isNum = float64(n), true
		r.text = strconv.FormatUint(n, 10)
		r.counter, r.bits, r.u64 = true, 64, n
	case gosnmp.OpaqueFloat:
		f, ok := v.Value.(float32)
		if !ok {
			return r, fmt.Errorf("opaque float holds %T", v.Value)
		}
		r.num, r.isNum = float64(f), true
		r.text = strconv.FormatFloat(float64(f), 'g', -1, 32)
	case gosnmp.OpaqueDouble:
		f, ok := v.Value.(float64)
		if !ok {
			return r, fmt.Errorf("opaque double holds %T", v.Value)
		}
		r.num, r.isNum = f, true
		r.text = strconv.FormatFloat(f, 'g', -1, 64)
	case gosnmp.OctetString, gosnmp.BitString, gosnmp.Opaque:
		b, ok := v.Value.([]byte)
		if !ok {
			return r, fmt.Errorf("octet string holds %T", v.Value)
		}
		r.octets = b
		r.text = cleanText(b)
	case gosnmp.ObjectIdentifier:
		s, ok := v.Value.(string)
		if !ok {
			return r, fmt.Errorf("OID holds %T", v.Value)
		}
		o, err := parseOID(s)
		if err != nil {
			return r, fmt.Errorf("OID value: %w", err)
		}
		r.text = o.String()
	case gosnmp.IPAddress:
		s, ok := v.Value.(string)
		if !ok {
			return r, fmt.Errorf("IP address holds %T", v.Value)
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return r, fmt.Errorf("IP address value: %w", err)
		}
		r.text = a.String()
	default:
		return r, fmt.Errorf("unsupported SNMP type %v", v.Type)
	}
	if r.isNum && (math.IsNaN(r.num) || math.IsInf(r.num, 0)) {
		return r, errors.New("value is not a finite number")
	}
	return r, nil
}

// cleanText turns an OCTET STRING into a display string. Agents pad with NUL
// bytes, and HP JetDirect supply descriptions hold a newline followed by
// binary junk, so the text ends at the first control character; invalid
// UTF-8 (Latin-1 names from German printers) is read as Latin-1.
func cleanText(b []byte) string {
	if len(b) > 4096 {
		b = b[:4096]
	}
	var s string
	if utf8.Valid(b) {
		s = string(b)
	} else {
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		s = string(rs)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }); i >= 0 {
		head, tail := s[:i], s[i+1:]
		s = head
		if extra := hexTail(tail); extra != "" {
			// The card wraps the name at a fixed width, mid-word
			// ("Cyan Cartridge 8" + "27A HP CF301A"), so no space.
			s = head + extra
		}
	}
	return strings.TrimSpace(s)
}

// hexTail decodes the continuation HP JetDirect (M880) puts after a newline
// in supply descriptions: the rest of the name as space-separated hex bytes
// ("38 32 37 41 20 48 50 ..." = "827A HP ..."), ended by 00.
func hexTail(s string) string {
	var out []byte
	for _, f := range strings.Fields(s) {
		if len(f) != 2 {
			return ""
		}
		b, err := strconv.ParseUint(f, 16, 8)
		if err != nil {
			return ""
		}
		if b == 0 {
			break
		}
		if b < 0x20 || b > 0x7e {
			return ""
		}
		out = append(out, byte(b))
		if len(out) >= 256 {
			break
		}
	}
	return strings.TrimRight(string(out), " ")
}

// leadingNumber reads the number a text value starts with: QNAP reports
// temperatures as "28 C/82 F", HWg Poseidon as "29.6 %RH".
func leadingNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && end < 64 {
		c := s[end]
		if (c >= '0' && c <= '9') || c == '.' || ((c == '-' || c == '+') && end == 0) {
			end++
			continue
		}
		break
	}
	if end == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s[:end], 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// numeric returns the value as a number for a profile Value: numbers as
// they are, text only when the profile asks to parse it.
func (r raw) numeric(parse string) (float64, bool) {
	if r.isNum {
		return r.num, true
	}
	if parse == "number" {
		return leadingNumber(r.text)
	}
	return 0, false
}

// bitSet reports whether BITS bit n is set; bit 0 is the most significant
// bit of the first octet (RFC 2578 section 7.1.4).
func (r raw) bitSet(n int) bool {
	i := n / 8
	if n < 0 || i >= len(r.octets) {
		return false
	}
	return r.octets[i]&(0x80>>(n%8)) != 0
}

// slug makes a row label usable inside a dotted metric name: lower case,
// letters and digits, everything else collapsed to '_'.
func slug(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			under = false
		case r == 'ä':
			b.WriteString("ae")
			under = false
		case r == 'ö':
			b.WriteString("oe")
			under = false
		case r == 'ü':
			b.WriteString("ue")
			under = false
		case r == 'ß':
			b.WriteString("ss")
			under = false
		default:
			if !under && b.Len() > 0 {
				b.WriteByte('_')
				under = true
			}
		}
		if b.Len() >= 48 {
			break
		}
	}
	return strings.TrimRight(b.String(), "_")
}
