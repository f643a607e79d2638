// Package snmpsim serves recorded SNMP data through a real net-snmp snmpd, so
// the snmp driver is tested against the agent a device would run instead of
// against a fake of our own. A recording (the snmpsim "snmprec" format, one
// `OID|type|value` per line, as LibreNMS keeps its device walks) is answered
// by a pass_persist helper that snmpd starts; Agent writes the snmpd.conf and
// runs snmpd in the foreground on a loopback port.
package snmpsim

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// OID is a parsed object identifier. Comparing parsed arcs (not strings) is
// what gives the lexicographic order GETNEXT needs: "1.10" sorts after "1.9".
type OID []uint32

// ParseOID reads a dotted OID with or without a leading dot.
func ParseOID(s string) (OID, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	if s == "" {
		return nil, fmt.Errorf("empty OID")
	}
	parts := strings.Split(s, ".")
	o := make(OID, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: arc %d: %w", s, i, err)
		}
		o[i] = uint32(n)
	}
	return o, nil
}

// String renders the OID with a leading dot, as snmpd expects it.
func (o OID) String() string {
	var b strings.Builder
	for _, a := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(a), 10))
	}
	return b.String()
}

// Compare orders OIDs lexicographically by arc.
func (o OID) Compare(p OID) int { return slices.Compare(o, p) }

// Var is one recorded variable in the form pass_persist answers with.
type Var struct {
	OID OID
	// Type is the pass_persist type word: integer, string, octet, objectid,
	// ipaddress, counter, gauge, timeticks, counter64.
	Type string
	// Value is already rendered for pass_persist (octets as spaced hex).
	Value string
}

// Recording is a sorted set of variables.
type Recording struct {
	vars []Var
}

// Len returns the number of variables.
func (r *Recording) Len() int { return len(r.vars) }

// Vars returns the variables in OID order.
func (r *Recording) Vars() []Var { return r.vars }

// Get returns the variable at exactly oid.
func (r *Recording) Get(oid OID) (Var, bool) {
	i, ok := slices.BinarySearchFunc(r.vars, oid, func(v Var, o OID) int { return v.OID.Compare(o) })
	if !ok {
		return Var{}, false
	}
	return r.vars[i], true
}

// Next returns the first variable after oid within the subtree root.
func (r *Recording) Next(oid OID) (Var, bool) {
	i, ok := slices.BinarySearchFunc(r.vars, oid, func(v Var, o OID) int { return v.OID.Compare(o) })
	if ok {
		i++
	}
	if i >= len(r.vars) {
		return Var{}, false
	}
	return r.vars[i], true
}

// Set adds or replaces a variable; tests use it to build recordings.
func (r *Recording) Set(v Var) {
	i, ok := slices.BinarySearchFunc(r.vars, v.OID, func(x Var, o OID) int { return x.OID.Compare(o) })
	if ok {
		r.vars[i] = v
		return
	}
	r.vars = slices.Insert(r.vars, i, v)
}

// Parse reads an snmprec recording. Duplicate OIDs (canonprinter_lbp has
// two) keep the first value, as snmpsim does. Type 5 (NULL) lines are
// skipped because pass_persist has no way to answer with NULL.
func Parse(rd io.Reader) (*Recording, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	rec := &Recording{}
	seen := map[string]bool{}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		oidText, rest, ok := strings.Cut(text, "|")
		if !ok {
			return nil, fmt.Errorf("snmprec line %d: want OID|type|value", line)
		}
		typ, val, ok := strings.Cut(rest, "|")
		if !ok {
			return nil, fmt.Errorf("snmprec line %d: want OID|type|value", line)
		}
		oid, err := ParseOID(oidText)
		if err != nil {
			return nil, fmt.Errorf("snmprec line %d: %w", line, err)
		}
		v, skip, err := convert(typ, val)
		if err != nil {
			return nil, fmt.Errorf("snmprec line %d (%s): %w", line, oidText, err)
		}
		key := oid.String()
		if skip || seen[key] {
			continue
		}
		seen[key] = true
		v.OID = oid
		rec.vars = append(rec.vars, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("snmprec line %d: %w", line, err)
	}
	slices.SortStableFunc(rec.vars, func(a, b Var) int { return a.OID.Compare(b.OID) })
	return rec, nil
}

// convert maps an snmprec type code and value to pass_persist's words.
func convert(typ, val string) (v Var, skip bool, err error) {
	switch typ {
	case "2":
		if _, err := strconv.ParseInt(val, 10, 32); err != nil {
			return v, false, fmt.Errorf("integer: %w", err)
		}
		return Var{Type: "integer", Value: val}, false, nil
	case "4":
		if strings.ContainsAny(val, "\n\r") || !isPrintable(val) {
			return Var{Type: "octet", Value: spacedHex([]byte(val))}, false, nil
		}
		return Var{Type: "string", Value: val}, false, nil
	case "4x":
		b, err := hex.DecodeString(val)
		if err != nil {
			return v, false, fmt.Errorf("hex octets: %w", err)
		}
		return Var{Type: "octet", Value: spacedHex(b)}, false, nil
	case "5":
		return v, true, nil
	case "6":
		o, err := ParseOID(val)
		if err != nil {
			return v, false, err
		}
		return Var{Type: "objectid", Value: o.String()}, false, nil
	case "64":
		a, err := netip.ParseAddr(val)
		if err != nil || !a.Is4() {
			return v, false, fmt.Errorf("ipaddress %q", val)
		}
		return Var{Type: "ipaddress", Value: val}, false, nil
	case "65", "66", "67":
		if _, err := strconv.ParseUint(val, 10, 32); err != nil {
			return v, false, fmt.Errorf("unsigned32: %w", err)
		}
		word := map[string]string{"65": "counter", "66": "gauge", "67": "timeticks"}[typ]
		return Var{Type: word, Value: val}, false, nil
	case "70":
		if _, err := strconv.ParseUint(val, 10, 64); err != nil {
			return v, false, fmt.Errorf("counter64: %w", err)
		}
		return Var{Type: "counter64", Value: val}, false, nil
	}
	return v, false, fmt.Errorf("unknown snmprec type %q", typ)
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return false
		}
	}
	return true
}

func spacedHex(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}
