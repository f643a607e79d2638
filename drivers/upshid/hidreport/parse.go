// Package hidreport parses USB HID report descriptors and decodes the
// reports they describe. It is written for UPSes (HID Power Device class)
// but knows nothing of them: it turns the descriptor bytes into a flat list
// of fields, each with its report, bit position, usage, collection path,
// logical and physical range and unit, and reads a field's value out of a
// report. It is pure Go so the gateway keeps its static build.
//
// Real UPS descriptors break the HID 1.11 rules in a few known ways; the
// parser accepts them where a value can still be read unambiguously (see
// the comments at Field.LogicalMax and at Parse).
package hidreport

import (
	"errors"
	"fmt"
)

// ReportType is Input, Output or Feature.
type ReportType uint8

// The three report types, numbered as in HIDIOCGFEATURE and uhid.
const (
	Input ReportType = iota
	Output
	Feature
)

func (t ReportType) String() string {
	switch t {
	case Input:
		return "Input"
	case Output:
		return "Output"
	case Feature:
		return "Feature"
	}
	return fmt.Sprintf("ReportType(%d)", uint8(t))
}

// Usage is a 32-bit extended usage: page in the high 16 bits, id in the low.
type Usage uint32

// Page returns the usage page.
func (u Usage) Page() uint16 { return uint16(u >> 16) }

// ID returns the usage id within its page.
func (u Usage) ID() uint16 { return uint16(u) }

// Field is one value in one report: a Variable main item with Report Count
// n yields n Fields. Array items (selectors) yield one Field per slot with
// Array set and Usages holding the selectable usages.
type Field struct {
	Type     ReportType
	ReportID uint8
	// BitOffset counts from the first bit after the report ID byte (or from
	// the report's first bit when the descriptor uses no report IDs).
	BitOffset int
	BitSize   int
	Usage     Usage
	// Path is the usages of the enclosing collections, outermost first.
	Path []Usage
	// Flags is the main item's data (bit 0 Constant, bit 1 Variable,
	// bit 2 Relative...).
	Flags uint32
	// Array is set for Array items; Usages then lists the usages an array
	// slot's index selects (index LogicalMin maps to Usages[0]).
	Array  bool
	Usages []Usage
	// LogicalMin and LogicalMax as declared. When the descriptor declares
	// LogicalMin >= 0 but a LogicalMax that is negative as a signed number
	// (APC writes 255 as the one byte 0xff), LogicalMax is reinterpreted
	// as unsigned and LogMaxFixed is set.
	LogicalMin, LogicalMax   int64
	LogMaxFixed              bool
	PhysicalMin, PhysicalMax int64
	Unit                     uint32
	UnitExponent             int
	// Index numbers the fields in descriptor order.
	Index int
}

// Constant reports whether the item is flagged Constant. Many UPSes flag
// live values Constant, so callers must not skip such fields.
func (f *Field) Constant() bool { return f.Flags&1 != 0 }

// Signed reports whether raw values are two's complement: the HID rule is
// that a negative Logical Minimum makes the field signed.
func (f *Field) Signed() bool { return f.LogicalMin < 0 }

// Key identifies one report: its type and ID.
type Key struct {
	Type ReportType
	ID   uint8
}

// Descriptor is a parsed report descriptor.
type Descriptor struct {
	Fields []Field
	// Sizes holds each report's length in bytes, the report ID byte
	// included when IDs are used.
	Sizes map[Key]int
	// UsesIDs is true when the descriptor declares Report IDs.
	UsesIDs bool
	// Collections is every collection usage seen (the application
	// collection of a UPS is Power Device 0x04).
	Collections []Usage
	// Warnings lists rule breaks that were tolerated.
	Warnings []string
}

// Limits against hostile or broken input: a real UPS descriptor has a few
// hundred items and well under a thousand fields.
const (
	maxDescriptor = 16 << 10
	maxFields     = 8192
	maxDepth      = 32
	maxReportBits = 8 * 4096
	maxUsages     = 4096
)

// ErrDescriptor is wrapped by every parse failure.
var ErrDescriptor = errors.New("bad report descriptor")

type globals struct {
	page             uint16
	logMin, logMax   int64
	logMaxRaw        uint32
	logMaxSize       int
	physMin, physMax int64
	unit             uint32
	unitExp          int
	size, count      int
	id               uint8
}

type locals struct {
	usages   []Usage
	min, max Usage
	haveMin  bool
	haveMax  bool
}

// Parse reads a report descriptor.
//
// Tolerated (with a Warning): collection types 0x80-0xff (vendor defined,
// used by Eaton/MGE), unbalanced End Collection at the very end, Logical
// Maximum below Logical Minimum (see Field.LogicalMax), Unit Exponent given
// as a full signed byte instead of a nibble. Rejected: items running past
// the end, a Report ID of 0, Report Size above 32 bits for a variable
// item, more than maxFields fields, a report longer than 4 KiB, Pop
// without Push, nesting deeper than 32.
func Parse(b []byte) (*Descriptor, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrDescriptor)
	}
	if len(b) > maxDescriptor {
		return nil, fmt.Errorf("%w: %d bytes is more than %d", ErrDescriptor, len(b), maxDescriptor)
	}
	d := &Descriptor{Sizes: map[Key]int{}}
	var (
		g     globals
		stack []globals
		l     locals
		path  []Usage
		bits  = map[Key]int{}
	)
	warn := func(format string, a ...any) {
		if len(d.Warnings) < 64 {
			d.Warnings = append(d.Warnings, fmt.Sprintf(format, a...))
		}
	}
	for pos := 0; pos < len(b); {
		prefix := b[pos]
		if prefix == 0xfe { // long item: skip it
			if pos+2 >= len(b) {
				return nil, fmt.Errorf("%w: long item at %d runs past the end", ErrDescriptor, pos)
			}
			n := int(b[pos+1])
			if pos+3+n > len(b) {
				return nil, fmt.Errorf("%w: long item at %d runs past the end", ErrDescriptor, pos)
			}
			warn("long item at offset %d skipped", pos)
			pos += 3 + n
			continue
		}
		size := int(prefix & 3)
		if size == 3 {
			size = 4
		}
		if pos+1+size > len(b) {
			return nil, fmt.Errorf("%w: item 0x%02x at offset %d runs past the end", ErrDescriptor, prefix, pos)
		}
		var u uint32
		for i := 0; i < size; i++ {
			u |= uint32(b[pos+1+i]) << (8 * i)
		}
		s := signExtend(u, size)
		typ := (prefix >> 2) & 3
		tag := prefix >> 4
		at := pos
		pos += 1 + size
		switch typ {
		case 0: // main
			switch tag {
			case 8, 9, 11: // Input, Output, Feature
				rt := map[byte]ReportType{8: Input, 9: Output, 11: Feature}[tag]
				if g.id == 0 && d.UsesIDs {
					return nil, fmt.Errorf("%w: main item at offset %d has no Report ID although others do", ErrDescriptor, at)
				}
				k := Key{rt, g.id}
				if err := d.addFields(k, &g, &l, path, u, bits); err != nil {
					return nil, fmt.Errorf("%w: main item at offset %d: %v", ErrDescriptor, at, err)
				}
			case 10: // Collection
				if len(path) >= maxDepth {
					return nil, fmt.Errorf("%w: collections nested deeper than %d", ErrDescriptor, maxDepth)
				}
				if u > 6 && u < 0x80 || u > 0xff {
					return nil, fmt.Errorf("%w: reserved collection type 0x%x at offset %d", ErrDescriptor, u, at)
				}
				if u >= 0x80 {
					warn("vendor collection type 0x%02x at offset %d", u, at)
				}
				cu := Usage(0)
				if len(l.usages) > 0 {
					cu = l.usages[0]
				} else if l.haveMin {
					cu = l.min
				}
				path = append(path, cu)
				d.Collections = append(d.Collections, cu)
			case 12: // End Collection
				if len(path) == 0 {
					return nil, fmt.Errorf("%w: End Collection without Collection at offset %d", ErrDescriptor, at)
				}
				path = path[:len(path)-1]
			default:
				return nil, fmt.Errorf("%w: reserved main item tag %d at offset %d", ErrDescriptor, tag, at)
			}
			l = locals{}
		case 1: // global
			switch tag {
			case 0:
				g.page = uint16(u)
			case 1:
				g.logMin = s
			case 2:
				g.logMax, g.logMaxRaw, g.logMaxSize = s, u, size
			case 3:
				g.physMin = s
			case 4:
				g.physMax = s
			case 5:
				switch {
				case u <= 0xf:
					if u >= 8 { // a 4-bit two's complement nibble
						g.unitExp = int(u) - 16
					} else {
						g.unitExp = int(u)
					}
				default:
					warn("Unit Exponent 0x%x at offset %d is not a 4-bit value; read as signed", u, at)
					g.unitExp = int(s)
				}
			case 6:
				g.unit = u
			case 7:
				if u > 255 {
					return nil, fmt.Errorf("%w: Report Size %d at offset %d", ErrDescriptor, u, at)
				}
				g.size = int(u)
			case 8:
				if u == 0 || u > 255 {
					return nil, fmt.Errorf("%w: Report ID %d at offset %d (must be 1...255)", ErrDescriptor, u, at)
				}
				if !d.UsesIDs && len(d.Fields) > 0 {
					return nil, fmt.Errorf("%w: Report ID at offset %d after items without one", ErrDescriptor, at)
				}
				d.UsesIDs = true
				g.id = uint8(u)
			case 9:
				if u > maxReportBits {
					return nil, fmt.Errorf("%w: Report Count %d at offset %d", ErrDescriptor, u, at)
				}
				g.count = int(u)
			case 10: // Push
				if len(stack) >= maxDepth {
					return nil, fmt.Errorf("%w: Push nested deeper than %d", ErrDescriptor, maxDepth)
				}
				stack = append(stack, g)
			case 11: // Pop
				if len(stack) == 0 {
					return nil, fmt.Errorf("%w: Pop without Push at offset %d", ErrDescriptor, at)
				}
				g = stack[len(stack)-1]
				stack = stack[:len(stack)-1]
			default:
				return nil, fmt.Errorf("%w: reserved global item tag %d at offset %d", ErrDescriptor, tag, at)
			}
		case 2: // local
			full := func() Usage {
				if size == 4 {
					return Usage(u)
				}
				return Usage(uint32(g.page)<<16 | u&0xffff)
			}
			switch tag {
			case 0:
				if len(l.usages) >= maxUsages {
					return nil, fmt.Errorf("%w: more than %d usages on one item", ErrDescriptor, maxUsages)
				}
				l.usages = append(l.usages, full())
			case 1:
				l.min, l.haveMin = full(), true
			case 2:
				l.max, l.haveMax = full(), true
			case 3, 4, 5, 7, 8, 9, 10: // designators, strings, delimiter: no effect on layout
			default:
				return nil, fmt.Errorf("%w: reserved local item tag %d at offset %d", ErrDescriptor, tag, at)
			}
			if l.haveMin && l.haveMax {
				if l.max < l.min || l.max-l.min >= maxUsages {
					return nil, fmt.Errorf("%w: usage range 0x%x...0x%x at offset %d", ErrDescriptor, uint32(l.min), uint32(l.max), at)
				}
				for x := l.min; x <= l.max && len(l.usages) < maxUsages; x++ {
					l.usages = append(l.usages, x)
				}
				l.haveMin, l.haveMax = false, false
			}
		default:
			return nil, fmt.Errorf("%w: reserved item type at offset %d", ErrDescriptor, at)
		}
	}
	if len(path) != 0 {
		warn("%d collections not closed at the end", len(path))
	}
	for k, n := range bits {
		bytes := (n + 7) / 8
		if d.UsesIDs {
			bytes++
		}
		d.Sizes[k] = bytes
	}
	return d, nil
}

func (d *Descriptor) addFields(k Key, g *globals, l *locals, path []Usage, flags uint32, bits map[Key]int) error {
	if g.size == 0 || g.count == 0 {
		return nil
	}
	variable := flags&2 != 0
	if variable && g.size > 32 {
		return fmt.Errorf("variable item of %d bits (at most 32)", g.size)
	}
	if bits[k]+g.size*g.count > maxReportBits {
		return fmt.Errorf("report %s %d longer than %d bits", k.Type, k.ID, maxReportBits)
	}
	if len(d.Fields)+g.count > maxFields {
		return fmt.Errorf("more than %d fields", maxFields)
	}
	logMax, fixed := g.logMax, false
	if g.logMin >= 0 && g.logMax < 0 {
		logMax, fixed = int64(g.logMaxRaw), true
	}
	p := append([]Usage(nil), path...)
	constNoUsage := flags&1 != 0 && len(l.usages) == 0
	for i := 0; i < g.count; i++ {
		off := bits[k]
		bits[k] += g.size
		if constNoUsage {
			continue // padding
		}
		f := Field{
			Type: k.Type, ReportID: k.ID, BitOffset: off, BitSize: g.size, Path: p, Flags: flags,
			LogicalMin: g.logMin, LogicalMax: logMax, LogMaxFixed: fixed,
			PhysicalMin: g.physMin, PhysicalMax: g.physMax, Unit: g.unit, UnitExponent: g.unitExp,
			Index: len(d.Fields),
		}
		if variable {
			switch {
			case i < len(l.usages):
				f.Usage = l.usages[i]
			case len(l.usages) > 0:
				f.Usage = l.usages[len(l.usages)-1]
			}
		} else {
			if g.size > 32 {
				continue // an array of huge indexes cannot select anything
			}
			f.Array = true
			f.Usages = append([]Usage(nil), l.usages...)
			if len(l.usages) > 0 {
				f.Usage = l.usages[0]
			}
		}
		d.Fields = append(d.Fields, f)
	}
	return nil
}

// signExtend reads the n-byte little-endian value u as two's complement.
func signExtend(u uint32, n int) int64 {
	switch n {
	case 1:
		return int64(int8(u))
	case 2:
		return int64(int16(u))
	case 4:
		return int64(int32(u))
	}
	return 0
}
