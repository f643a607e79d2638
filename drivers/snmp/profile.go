package snmp

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/praxisgate/praxisgate/drivers"
)

// Profiles are data, not code (issue 5): a YAML file says which OIDs and
// table columns to read, how to name, scale and map them, which values are
// states worth an alarm, and which devices it applies to. A new printer family
// is a new file, dropped into the configured profile directory, not a release.

//go:embed profiles/*.yaml
var builtinFS embed.FS

// Profile is one device family.
type Profile struct {
	// Name is unique; a file in the profile directory with the name of a
	// built-in profile replaces it.
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Kind is the device kind suggested on adoption (printer, ups, nas...).
	Kind string `yaml:"kind"`
	// Match selects the profile from the device's identity.
	Match Match `yaml:"match"`
	// Include names generic profiles read as well (a NAS also has
	// HOST-RESOURCES volumes and IF-MIB ports).
	Include []string  `yaml:"include"`
	Scalars []Value   `yaml:"scalars"`
	Tables  []Table   `yaml:"tables"`
	Traps   []TrapDef `yaml:"traps"`
}

// Match tells which devices a profile is for. A profile matches when any of
// its sysObjectID prefixes or sysDescr patterns matches, or when any probe
// subtree holds a value (for devices such as Synology that report net-snmp's
// generic sysObjectID).
type Match struct {
	SysObjectID []string `yaml:"sys_object_id"`
	SysDescr    []string `yaml:"sys_descr"`
	Probe       []string `yaml:"probe"`
	// Generic profiles are never chosen alone; they come in by Include.
	Generic bool `yaml:"generic"`

	descr  []*regexp.Regexp
	oids   []oid
	probes []oid
}

// Table is an SNMP table read by walking the listed columns.
type Table struct {
	// OID is the table's Entry object, e.g. 1.3.6.1.2.1.2.2.1 for ifEntry;
	// column N of row I is OID.N.I.
	OID string `yaml:"oid"`
	// Label is the column whose text names a row in metric names ({label});
	// zero means the row index.
	Label int `yaml:"label"`
	// LabelFrom is a column of another table with the same index that
	// names the rows (ifXTable rows are named by ifTable's ifDescr).
	LabelFrom string `yaml:"label_from"`
	// Filter keeps only rows whose column value (text, or the number as
	// text, or the enum name) is in the list.
	Filter *Filter `yaml:"filter"`
	// MaxRows bounds how many rows are kept, so a switch with 500 VLAN
	// interfaces does not flood the uplink.
	MaxRows int     `yaml:"max_rows"`
	Columns []Value `yaml:"columns"`

	entry     oid
	labelFrom oid
}

// Filter keeps table rows by one column's value.
type Filter struct {
	Column int      `yaml:"column"`
	In     []string `yaml:"in"`
	NotIn  []string `yaml:"not_in"`
	// Otherwise decides for rows the agent gives no value in Column
	// (agents implement optional columns or not): Printer-MIB's supply
	// class, where present, tells a receptacle from a supply, and the
	// supply type tells it where the class is missing.
	Otherwise *Filter `yaml:"otherwise"`
}

// Value describes one scalar OID or one table column.
type Value struct {
	// Name is the metric name; {label} and {index} are replaced for
	// tables. Empty means the value is only read for conditions.
	Name string `yaml:"name"`
	// OID for scalars, Column for table columns.
	OID    string `yaml:"oid"`
	Column int    `yaml:"column"`
	// Type: number (default), text, enum, counter (a rate per second is
	// published), bits (a BITS octet string; only conditions use it).
	Type string `yaml:"type"`
	Unit string `yaml:"unit"`
	// Scale multiplies numbers (0.1 for tenths); zero means 1.
	Scale float64 `yaml:"scale"`
	// TimesColumn multiplies by another column of the same row
	// (hrStorageAllocationUnits).
	TimesColumn int `yaml:"times_column"`
	// PercentOf publishes 100 * this / that column of the same row; rows
	// where either is negative (Printer-MIB -2 unknown, -3 some remaining)
	// or the divisor is zero give no reading.
	PercentOf int `yaml:"percent_of"`
	// Parse "number" takes the leading number of a text value ("28 C/82 F").
	Parse string `yaml:"parse"`
	// Invalid raw values mean "no reading" (e.g. -1 for no sensor).
	Invalid []float64 `yaml:"invalid"`
	// Enum maps integer values to words; the metric is the word.
	Enum map[string]string `yaml:"enum"`
	// UnitFrom takes the unit from another column of the row (mixed sensor
	// tables): keys are matched exactly, then as a suffix of its text.
	UnitFrom   *UnitFrom `yaml:"unit_from"`
	Conditions []CondDef `yaml:"conditions"`

	oid oid
}

// UnitFrom picks a unit from a column's text.
type UnitFrom struct {
	Column int               `yaml:"column"`
	Map    map[string]string `yaml:"map"`
}

// CondDef turns a value into a drivers.Condition while it holds.
type CondDef struct {
	// Name and Message may use {label}, {index}, {value} and {row.N}.
	Name     string           `yaml:"name"`
	Severity drivers.Severity `yaml:"severity"`
	Message  string           `yaml:"message"`
	// Exactly one test: numeric Below/Above, In (text or enum word) or Bit
	// (for bits values, bit 0 is the first octet's most significant bit).
	Below *float64 `yaml:"below"`
	Above *float64 `yaml:"above"`
	// AtLeast narrows Below to a band, so "low" (1 <= x < 10) and "empty"
	// (x < 1) are not both raised for one supply.
	AtLeast *float64 `yaml:"at_least"`
	In      []string `yaml:"in"`
	NotIn   []string `yaml:"not_in"`
	Bit     *int     `yaml:"bit"`
}

// TrapDef names a trap a profile knows, so it is published with a useful
// severity and text instead of as a bare OID.
type TrapDef struct {
	OID      string           `yaml:"oid"`
	Name     string           `yaml:"name"`
	Severity drivers.Severity `yaml:"severity"`
	Message  string           `yaml:"message"`

	oid oid
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.{}-]*$`)

// ParseProfile reads and checks one profile. Unknown keys are errors, so a
// typo in a hand-written profile fails at load time, not silently.
func ParseProfile(data []byte) (*Profile, error) {
	if len(data) > 1<<20 {
		return nil, errors.New("profile larger than 1 MiB")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty profile")
		}
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return &p, nil
}

func (p *Profile) check() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if p.Name == "" || !nameRe.MatchString(p.Name) {
		bad("name", "want lower-case letters, digits, '-', '_' or '.' (got %q)", p.Name)
	}
	for i, s := range p.Match.SysObjectID {
		o, err := parseOID(s)
		if err != nil {
			bad(fmt.Sprintf("match.sys_object_id[%d]", i), "%v", err)
			continue
		}
		p.Match.oids = append(p.Match.oids, o)
	}
	for i, s := range p.Match.SysDescr {
		re, err := regexp.Compile(s)
		if err != nil {
			bad(fmt.Sprintf("match.sys_descr[%d]", i), "%v", err)
			continue
		}
		p.Match.descr = append(p.Match.descr, re)
	}
	for i, s := range p.Match.Probe {
		o, err := parseOID(s)
		if err != nil {
			bad(fmt.Sprintf("match.probe[%d]", i), "%v", err)
			continue
		}
		p.Match.probes = append(p.Match.probes, o)
	}
	for i := range p.Scalars {
		v := &p.Scalars[i]
		field := fmt.Sprintf("scalars[%d]", i)
		o, err := parseOID(v.OID)
		if err != nil {
			bad(field+".oid", "%v", err)
		}
		v.oid = o
		if v.Column != 0 || v.TimesColumn != 0 || v.PercentOf != 0 || v.UnitFrom != nil {
			bad(field, "column, times_column, percent_of and unit_from are for table columns")
		}
		errs = append(errs, v.check(field, false)...)
	}
	for i := range p.Tables {
		t := &p.Tables[i]
		field := fmt.Sprintf("tables[%d]", i)
		o, err := parseOID(t.OID)
		if err != nil {
			bad(field+".oid", "%v", err)
		}
		t.entry = o
		if t.LabelFrom != "" {
			lo, err := parseOID(t.LabelFrom)
			if err != nil {
				bad(field+".label_from", "%v", err)
			}
			t.labelFrom = lo
			if t.Label != 0 {
				bad(field, "label and label_from exclude each other")
			}
		}
		if t.Label < 0 || t.MaxRows < 0 {
			bad(field, "label and max_rows must not be negative")
		}
		for f, ff := t.Filter, field+".filter"; f != nil; f, ff = f.Otherwise, ff+".otherwise" {
			if f.Column <= 0 {
				bad(ff+".column", "want a column number")
			}
		}
		if len(t.Columns) == 0 {
			bad(field+".columns", "a table needs at least one column")
		}
		for j := range t.Columns {
			c := &t.Columns[j]
			cf := fmt.Sprintf("%s.columns[%d]", field, j)
			if c.OID != "" {
				bad(cf+".oid", "table columns are given by number (column:), not oid")
			}
			if c.Column <= 0 || c.TimesColumn < 0 || c.PercentOf < 0 {
				bad(cf+".column", "want a positive column number")
			}
			if c.UnitFrom != nil && c.UnitFrom.Column <= 0 {
				bad(cf+".unit_from.column", "want a positive column number")
			}
			errs = append(errs, c.check(cf, true)...)
		}
	}
	for i := range p.Traps {
		t := &p.Traps[i]
		o, err := parseOID(t.OID)
		if err != nil {
			bad(fmt.Sprintf("traps[%d].oid", i), "%v", err)
		}
		t.oid = o
		if t.Severity.Rank() < 0 {
			bad(fmt.Sprintf("traps[%d].severity", i), "unknown severity %q", t.Severity)
		}
		if t.Name == "" || !nameRe.MatchString(t.Name) {
			bad(fmt.Sprintf("traps[%d].name", i), "want a dotted lower-case name (got %q)", t.Name)
		}
	}
	for i, inc := range p.Include {
		if inc == p.Name {
			bad(fmt.Sprintf("include[%d]", i), "a profile cannot include itself")
		}
	}
	return errors.Join(errs...)
}

func (v *Value) check(field string, table bool) []error {
	var errs []error
	bad := func(f, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", f, fmt.Sprintf(format, args...)))
	}
	switch v.Type {
	case "", "number", "text", "enum", "counter", "bits":
	default:
		bad(field+".type", "unknown type %q (want number, text, enum, counter or bits)", v.Type)
	}
	if v.Type == "" {
		v.Type = "number"
		if len(v.Enum) > 0 {
			v.Type = "enum"
		}
	}
	if v.Type == "enum" && len(v.Enum) == 0 {
		bad(field+".enum", "an enum value needs an enum map")
	}
	for k := range v.Enum {
		if _, err := strconv.ParseInt(k, 10, 64); err != nil {
			bad(field+".enum", "key %q is not an integer", k)
		}
	}
	if v.Scale == 0 {
		v.Scale = 1
	}
	if math.IsNaN(v.Scale) || math.IsInf(v.Scale, 0) {
		bad(field+".scale", "not a finite number")
	}
	switch v.Parse {
	case "", "number":
	default:
		bad(field+".parse", "unknown parse %q (want number)", v.Parse)
	}
	if v.Name != "" && !nameRe.MatchString(v.Name) {
		bad(field+".name", "want a dotted lower-case name (got %q)", v.Name)
	}
	if !table && (strings.Contains(v.Name, "{label}") || strings.Contains(v.Name, "{index}")) {
		bad(field+".name", "{label} and {index} only exist in tables")
	}
	if !table && v.Name == "" && len(v.Conditions) == 0 {
		bad(field, "needs a name or conditions")
	}
	for i, c := range v.Conditions {
		cf := fmt.Sprintf("%s.conditions[%d]", field, i)
		if c.Name == "" || !nameRe.MatchString(c.Name) {
			bad(cf+".name", "want a dotted lower-case name (got %q)", c.Name)
		}
		if c.Severity.Rank() < 1 {
			bad(cf+".severity", "want minor, major or critical (got %q)", c.Severity)
		}
		tests := 0
		for _, set := range []bool{c.Below != nil, c.Above != nil, len(c.In) > 0, len(c.NotIn) > 0, c.Bit != nil} {
			if set {
				tests++
			}
		}
		if tests != 1 {
			bad(cf, "want exactly one of below, above, in, not_in, bit")
		}
		if c.AtLeast != nil && c.Below == nil {
			bad(cf+".at_least", "at_least only narrows below")
		}
		if c.Bit != nil && (v.Type != "bits" || *c.Bit < 0 || *c.Bit > 1023) {
			bad(cf+".bit", "bit needs a bits value and 0..1023")
		}
		if v.Type == "counter" {
			bad(cf, "conditions on counters are not supported; use the rate in an alarm rule")
		}
	}
	return errs
}

// Catalogue is the set of known profiles.
type Catalogue struct {
	byName map[string]*Profile
}

// Builtin returns the profiles shipped in the binary. They are parsed once
// per process: check-config and every device's New look names up, and
// parsing all files for each of them was most of the start-up garbage.
// Callers must not modify the result.
func Builtin() (*Catalogue, error) {
	builtinOnce.Do(func() { builtinCat, builtinErr = loadFS(builtinFS, "profiles", nil) })
	return builtinCat, builtinErr
}

var (
	builtinOnce sync.Once
	builtinCat  *Catalogue
	builtinErr  error
)

// LoadCatalogue returns the built-in profiles extended (and overridden by
// name) with every *.yaml file in dir; dir "" means built-ins only.
func LoadCatalogue(dir string) (*Catalogue, error) {
	c, err := Builtin()
	if err != nil {
		return nil, fmt.Errorf("snmp: built-in profiles: %w", err)
	}
	if dir == "" {
		return c, nil
	}
	return loadFS(os.DirFS(dir), ".", c)
}

func loadFS(fsys fs.FS, dir string, base *Catalogue) (*Catalogue, error) {
	c := &Catalogue{byName: map[string]*Profile{}}
	if base != nil {
		for k, v := range base.byName {
			c.byName[k] = v
		}
	}
	names, err := fs.Glob(fsys, filepath.ToSlash(filepath.Join(dir, "*.yaml")))
	if err != nil {
		return nil, err
	}
	var errs []error
	seen := map[string]string{}
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("profile %s: %w", n, err))
			continue
		}
		p, err := ParseProfile(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("profile %s: %w", n, err))
			continue
		}
		if other, dup := seen[p.Name]; dup {
			errs = append(errs, fmt.Errorf("profile %s: name %q already used by %s", n, p.Name, other))
			continue
		}
		seen[p.Name] = n
		c.byName[p.Name] = p
	}
	for _, p := range c.byName {
		for _, inc := range p.Include {
			if _, ok := c.byName[inc]; !ok {
				errs = append(errs, fmt.Errorf("profile %s: includes unknown profile %q", p.Name, inc))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Names lists the profiles, sorted.
func (c *Catalogue) Names() []string {
	n := make([]string, 0, len(c.byName))
	for k := range c.byName {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// TrapDef finds the definition of a trap OID in any profile. Trap OIDs
// sit below their MIB's own subtree, so the OID alone says which profile
// knows it; that is how a trap is named before the device's profiles are
// known (no successful poll yet). Profiles are searched by name, so the
// answer does not depend on map order.
func (c *Catalogue) TrapDef(trapOID oid) (TrapDef, bool) {
	if c == nil {
		return TrapDef{}, false
	}
	for _, n := range c.Names() {
		for _, t := range c.byName[n].Traps {
			if t.oid.compare(trapOID) == 0 {
				return t, true
			}
		}
	}
	return TrapDef{}, false
}

// Get returns a profile by name.
func (c *Catalogue) Get(name string) (*Profile, bool) {
	p, ok := c.byName[name]
	return p, ok
}

// Identity is what a device says about itself in the system group; it is
// also what discovery records, so adoption can pick the profile.
type Identity struct {
	SysObjectID string
	SysDescr    string
}

// Candidates returns the non-generic profiles whose identity patterns match,
// best first (longest sysObjectID prefix, then sysDescr matches), and the
// profiles that need a probe to decide.
func (c *Catalogue) Candidates(id Identity) (matched, probe []*Profile) {
	sysOID, _ := parseOID(id.SysObjectID)
	type scored struct {
		p     *Profile
		score int
	}
	var hits []scored
	for _, name := range c.Names() {
		p := c.byName[name]
		if p.Match.Generic {
			continue
		}
		score := 0
		for _, o := range p.Match.oids {
			if sysOID != nil && sysOID.hasPrefix(o) && 100+len(o) > score {
				score = 100 + len(o)
			}
		}
		for _, re := range p.Match.descr {
			if re.MatchString(id.SysDescr) && score < 50 {
				score = 50
			}
		}
		if score > 0 {
			hits = append(hits, scored{p, score})
		} else if len(p.Match.probes) > 0 {
			probe = append(probe, p)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
	for _, h := range hits {
		matched = append(matched, h.p)
	}
	return matched, probe
}

// Expand returns p followed by its includes (transitively, each once).
func (c *Catalogue) Expand(names ...string) ([]*Profile, error) {
	var out []*Profile
	seen := map[string]bool{}
	var visit func(n string, depth int) error
	visit = func(n string, depth int) error {
		if seen[n] {
			return nil
		}
		if depth > 8 {
			return fmt.Errorf("profile %q: includes nest deeper than 8", n)
		}
		p, ok := c.byName[n]
		if !ok {
			return fmt.Errorf("unknown profile %q (known: %s)", n, strings.Join(c.Names(), ", "))
		}
		seen[n] = true
		out = append(out, p)
		for _, inc := range p.Include {
			if err := visit(inc, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		if err := visit(n, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// KindOf returns the first kind the profiles name.
func KindOf(ps []*Profile) string {
	for _, p := range ps {
		if p.Kind != "" {
			return p.Kind
		}
	}
	return ""
}

func profileNames(ps []*Profile) []string {
	n := make([]string, len(ps))
	for i, p := range ps {
		n[i] = p.Name
	}
	return slices.Clip(n)
}
