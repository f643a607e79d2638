package snmp

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/praxisgate/praxisgate/drivers"
)

// This file turns what the agent answered into metrics and conditions. It
// does no I/O, so the profile logic is tested on plain maps.

// plan is what one poll has to read for a set of profiles.
type plan struct {
	scalars []oid
	// columns are the table column OIDs (entry.N) to walk.
	columns []oid
}

func makePlan(ps []*Profile) plan {
	var pl plan
	seen := map[string]bool{}
	addScalar := func(o oid) {
		if k := o.String(); !seen[k] {
			seen[k] = true
			pl.scalars = append(pl.scalars, o)
		}
	}
	addColumn := func(o oid) {
		if k := "t" + o.String(); !seen[k] {
			seen[k] = true
			pl.columns = append(pl.columns, o)
		}
	}
	// The system group is cheap (same PDU) and keeps the device's name and
	// description current on the web page.
	addScalar(oidSysUpTime)
	addScalar(oidSysDescr)
	addScalar(oidSysName)
	for _, p := range ps {
		for _, v := range p.Scalars {
			addScalar(v.oid)
		}
		for _, t := range p.Tables {
			for _, c := range tableColumns(t) {
				addColumn(t.entry.child(uint32(c)))
			}
			if t.labelFrom != nil {
				addColumn(t.labelFrom)
			}
		}
	}
	return pl
}

// tableColumns lists every column a table definition reads.
func tableColumns(t Table) []int {
	var cols []int
	add := func(c int) {
		if c > 0 && !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
	}
	add(t.Label)
	for f := t.Filter; f != nil; f = f.Otherwise {
		add(f.Column)
	}
	for _, c := range t.Columns {
		add(c.Column)
		add(c.TimesColumn)
		add(c.PercentOf)
		if c.UnitFrom != nil {
			add(c.UnitFrom.Column)
		}
	}
	return cols
}

// readings holds one poll's answers by OID string (with leading dot).
type readings map[string]raw

// counterValue is a counter the rate tracker turns into a per-second rate.
type counterValue struct {
	name, unit string
	value      uint64
	bits       int
	scale      float64
}

// result is what a set of profiles makes of one poll.
type result struct {
	metrics    []drivers.Metric
	conditions []drivers.Condition
	counters   []counterValue
}

// evaluate applies the profiles to the readings. Missing values are simply
// absent from the result: partial recordings and agents that only implement
// part of a MIB are normal.
func evaluate(ps []*Profile, rd readings) result {
	var res result
	seenMetric := map[string]bool{}
	seenCond := map[string]bool{}
	for _, p := range ps {
		for i := range p.Scalars {
			v := &p.Scalars[i]
			r, ok := rd[v.oid.String()]
			if !ok {
				continue
			}
			res.apply(v, r, row{}, seenMetric, seenCond)
		}
		for i := range p.Tables {
			t := &p.Tables[i]
			for _, rw := range tableRows(t, rd) {
				for j := range t.Columns {
					c := &t.Columns[j]
					r, ok := rw.cols[c.Column]
					if !ok {
						continue
					}
					res.apply(c, r, rw, seenMetric, seenCond)
				}
			}
		}
	}
	return res
}

// row is one table row during evaluation.
type row struct {
	index string
	label string
	cols  map[int]raw
}

// tableRows groups the walked columns of a table into rows, in index order,
// applying the filter and the row limit.
func tableRows(t *Table, rd readings) []row {
	byIndex := map[string]*row{}
	var order []oid
	prefix := t.entry.String() + "."
	for _, col := range tableColumns(*t) {
		colPrefix := prefix + strconv.Itoa(col) + "."
		for k, r := range rd {
			idx, ok := strings.CutPrefix(k, colPrefix)
			if !ok || idx == "" {
				continue
			}
			rw := byIndex[idx]
			if rw == nil {
				io, err := parseOID(idx)
				if err != nil {
					continue
				}
				rw = &row{index: idx, cols: map[int]raw{}}
				byIndex[idx] = rw
				order = append(order, io)
			}
			rw.cols[col] = r
		}
	}
	slices.SortFunc(order, oid.compare)
	var rows []row
	labels := map[string]int{}
	for _, io := range order {
		idx := strings.TrimPrefix(io.String(), ".")
		rw := byIndex[idx]
		if t.Filter != nil && !t.Filter.keep(rw.cols) {
			continue
		}
		rw.label = idx
		if t.Label > 0 {
			if rw.cols[t.Label].text == "/" {
				rw.label = "root"
			} else if l := slug(rw.cols[t.Label].text); l != "" {
				rw.label = l
			}
		} else if t.labelFrom != nil {
			if l := slug(rd[t.labelFrom.String()+"."+idx].text); l != "" {
				rw.label = l
			}
		}
		// Two rows with one label (two "Black Toner Cartridge" on the
		// Brother) must not collide in metric names.
		labels[rw.label]++
		if n := labels[rw.label]; n > 1 {
			rw.label = rw.label + "_" + strconv.Itoa(n)
		}
		rw.label = strings.ReplaceAll(rw.label, ".", "_")
		rows = append(rows, *rw)
		if t.MaxRows > 0 && len(rows) >= t.MaxRows {
			break
		}
	}
	return rows
}

func (f *Filter) keep(cols map[int]raw) bool {
	r, ok := cols[f.Column]
	if !ok && f.Otherwise != nil {
		return f.Otherwise.keep(cols)
	}
	if len(f.In) > 0 && !slices.Contains(f.In, r.text) {
		return false
	}
	return !slices.Contains(f.NotIn, r.text)
}

func expand(tmpl string, rw row, value string) string {
	if !strings.Contains(tmpl, "{") {
		return tmpl
	}
	s := strings.NewReplacer("{label}", rw.label, "{index}", strings.ReplaceAll(rw.index, ".", "_"), "{value}", value).Replace(tmpl)
	for strings.Contains(s, "{row.") {
		i := strings.Index(s, "{row.")
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		n, err := strconv.Atoi(s[i+5 : i+j])
		text := ""
		if err == nil {
			text = rw.cols[n].text
		}
		s = s[:i] + text + s[i+j+1:]
	}
	return s
}

func (res *result) apply(v *Value, r raw, rw row, seenMetric, seenCond map[string]bool) {
	name := expand(v.Name, rw, "")
	var (
		num    float64
		hasNum bool
		text   string
	)
	switch v.Type {
	case "text":
		text = r.text
	case "bits":
	case "enum":
		n, ok := r.numeric(v.Parse)
		if !ok {
			return
		}
		key := strconv.FormatInt(int64(n), 10)
		word, ok := v.Enum[key]
		if !ok {
			word = "unknown(" + key + ")"
		}
		text = word
		num, hasNum = n, true
	default:
		n, ok := r.numeric(v.Parse)
		if !ok || slices.Contains(v.Invalid, n) {
			return
		}
		if v.PercentOf > 0 {
			d, ok := rw.cols[v.PercentOf].numeric(v.Parse)
			if !ok || n < 0 || d <= 0 {
				return
			}
			n = 100 * n / d
		} else {
			if v.TimesColumn > 0 {
				m, ok := rw.cols[v.TimesColumn].numeric("")
				if !ok || m < 0 {
					return
				}
				n *= m
			}
			n *= v.Scale
		}
		num, hasNum = n, true
		text = strconv.FormatFloat(round(n), 'f', -1, 64)
	}
	unit := v.Unit
	if v.UnitFrom != nil {
		unit = pickUnit(v.UnitFrom, rw.cols[v.UnitFrom.Column].text, unit)
	}
	if name != "" && !seenMetric[name] {
		switch {
		case v.Type == "counter":
			if r.counter || (r.isNum && r.num >= 0) {
				bits := r.bits
				if bits == 0 {
					bits = 32
				}
				u := r.u64
				if !r.counter {
					u = uint64(r.num)
				}
				res.counters = append(res.counters, counterValue{name: name, unit: unit, value: u, bits: bits, scale: v.Scale})
				seenMetric[name] = true
			}
		case v.Type == "text" || v.Type == "enum":
			res.metrics = append(res.metrics, drivers.Text(name, text))
			seenMetric[name] = true
		case v.Type == "bits":
		case hasNum:
			res.metrics = append(res.metrics, drivers.Num(name, round(num), unit))
			seenMetric[name] = true
		}
	}
	for _, c := range v.Conditions {
		if !c.holds(r, num, hasNum, text) {
			continue
		}
		cn := expand(c.Name, rw, text)
		if seenCond[cn] {
			continue
		}
		seenCond[cn] = true
		msg := expand(c.Message, rw, text)
		if msg == "" {
			msg = cn
			if name != "" && text != "" {
				msg = fmt.Sprintf("%s is %s", name, text)
			}
		}
		res.conditions = append(res.conditions, drivers.Condition{Name: cn, Severity: c.Severity, Message: msg})
	}
}

func (c CondDef) holds(r raw, num float64, hasNum bool, text string) bool {
	switch {
	case c.Below != nil:
		return hasNum && num < *c.Below && (c.AtLeast == nil || num >= *c.AtLeast)
	case c.Above != nil:
		return hasNum && num > *c.Above
	case len(c.In) > 0:
		return slices.Contains(c.In, text)
	case len(c.NotIn) > 0:
		return text != "" && !slices.Contains(c.NotIn, text)
	case c.Bit != nil:
		return r.bitSet(*c.Bit)
	}
	return false
}

func pickUnit(u *UnitFrom, text, def string) string {
	if unit, ok := u.Map[text]; ok {
		return unit
	}
	best := ""
	for k := range u.Map {
		if strings.HasSuffix(text, k) && len(k) > len(best) {
			best = k
		}
	}
	if best != "" {
		return u.Map[best]
	}
	return def
}

// round keeps published numbers free of float noise (0.1*203 =
// 20.300000000000001) without losing real precision.
func round(f float64) float64 {
	if math.Abs(f) >= 1e15 {
		return f
	}
	return math.Round(f*1e6) / 1e6
}
