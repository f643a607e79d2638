package hidreport

import (
	"errors"
	"fmt"
	"math"
)

// ErrReport is wrapped by every report decoding failure.
var ErrReport = errors.New("bad report")

// payload strips the report ID byte, checking it is the field's report.
func payload(report []byte, f *Field, usesIDs bool) ([]byte, error) {
	if !usesIDs {
		return report, nil
	}
	if len(report) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrReport)
	}
	if report[0] != f.ReportID {
		return nil, fmt.Errorf("%w: report ID %d, field is in report %d", ErrReport, report[0], f.ReportID)
	}
	return report[1:], nil
}

// Raw returns the field's logical value in report (the report ID byte
// first when the descriptor uses IDs). Signed fields are sign-extended.
// Values outside the logical range are returned as they are: several UPSes
// send 16-bit values in fields whose declared maximum is 255.
func (d *Descriptor) Raw(report []byte, f *Field) (int64, error) {
	p, err := payload(report, f, d.UsesIDs)
	if err != nil {
		return 0, err
	}
	return extract(p, f.BitOffset, f.BitSize, f.Signed())
}

func extract(p []byte, off, size int, signed bool) (int64, error) {
	if size <= 0 || size > 32 {
		return 0, fmt.Errorf("%w: field of %d bits", ErrReport, size)
	}
	if off < 0 || off+size > 8*len(p) {
		return 0, fmt.Errorf("%w: bits %d...%d beyond the %d bytes received", ErrReport, off, off+size-1, len(p))
	}
	var v uint64
	for i := 0; i < size; i++ {
		bit := off + i
		if p[bit/8]&(1<<(bit%8)) != 0 {
			v |= 1 << i
		}
	}
	if signed && size < 64 && v&(1<<(size-1)) != 0 {
		return int64(v) - int64(1)<<size, nil
	}
	return int64(v), nil
}

// SetRaw writes v into the field's bits of report (used to build SET_REPORT
// requests and by the simulator).
func (d *Descriptor) SetRaw(report []byte, f *Field, v int64) error {
	p, err := payload(report, f, d.UsesIDs)
	if err != nil {
		return err
	}
	if f.BitSize <= 0 || f.BitSize > 32 || f.BitOffset+f.BitSize > 8*len(p) {
		return fmt.Errorf("%w: field at bits %d+%d does not fit %d bytes", ErrReport, f.BitOffset, f.BitSize, len(p))
	}
	for i := 0; i < f.BitSize; i++ {
		bit := f.BitOffset + i
		if uint64(v)&(1<<i) != 0 {
			p[bit/8] |= 1 << (bit % 8)
		} else {
			p[bit/8] &^= 1 << (bit % 8)
		}
	}
	return nil
}

// HID unit codes (SI linear system) that UPSes use.
const (
	UnitNone    uint32 = 0
	UnitVolt    uint32 = 0x00f0d121
	UnitAmpere  uint32 = 0x00100001
	UnitWatt    uint32 = 0x0000d121 // also volt-ampere
	UnitSecond  uint32 = 0x00001001
	UnitHertz   uint32 = 0x0000f001
	UnitKelvin  uint32 = 0x00010001
	UnitPercent uint32 = 0          // percentages carry no unit
	UnitAmpSec  uint32 = 0x00101001 // coulomb (capacity in As)
)

// siScale is the power of ten from a HID SI-linear unit (centimetre, gram)
// to the SI unit a reader expects (metre, kilogram): a HID "volt" is
// g·cm²/(s³·A) = 1e-7 V.
func siScale(unit uint32) int {
	if unit&0xf != 1 { // not SI linear: leave the number as it is
		return 0
	}
	nib := func(i int) int {
		n := int(unit>>(4*i)) & 0xf
		if n >= 8 {
			n -= 16
		}
		return n
	}
	// length cm→m: 10^-2 per power; mass g→kg: 10^-3 per power.
	return -2*nib(1) - 3*nib(2)
}

// Value converts a raw logical value to a physical number: through the
// physical range when one is declared, then by the unit exponent and the
// unit's SI scale. It is what the device means, in V, A, W, s, Hz, K or
// plain numbers.
func (f *Field) Value(raw int64) float64 {
	v := float64(raw)
	if (f.PhysicalMin != 0 || f.PhysicalMax != 0) && f.PhysicalMax != f.PhysicalMin &&
		f.LogicalMax != f.LogicalMin && !(f.PhysicalMin == f.LogicalMin && f.PhysicalMax == f.LogicalMax) {
		v = float64(f.PhysicalMin) + (v-float64(f.LogicalMin))*
			float64(f.PhysicalMax-f.PhysicalMin)/float64(f.LogicalMax-f.LogicalMin)
	}
	exp := f.UnitExponent + siScale(f.Unit)
	if exp != 0 {
		v *= math.Pow10(exp)
	}
	return v
}

// Item is one decoded field value.
type Item struct {
	Field *Field
	Raw   int64
	// Index is the selected usage for array fields (or -1).
	Usage Usage
}

// Decode reads every field of the report of type t whose ID is report[0]
// (or the only report when no IDs are used). Array slots yield the usage
// they select (none when the index is out of range).
func (d *Descriptor) Decode(t ReportType, report []byte) ([]Item, error) {
	var id uint8
	if d.UsesIDs {
		if len(report) == 0 {
			return nil, fmt.Errorf("%w: empty", ErrReport)
		}
		id = report[0]
	}
	k := Key{t, id}
	n, ok := d.Sizes[k]
	if !ok {
		return nil, fmt.Errorf("%w: the descriptor declares no %s report %d", ErrReport, t, id)
	}
	if len(report) < n {
		return nil, fmt.Errorf("%w: %s report %d has %d bytes, the descriptor says %d", ErrReport, t, id, len(report), n)
	}
	var out []Item
	for i := range d.Fields {
		f := &d.Fields[i]
		if f.Type != t || f.ReportID != id {
			continue
		}
		raw, err := d.Raw(report, f)
		if err != nil {
			return out, err
		}
		it := Item{Field: f, Raw: raw, Usage: f.Usage}
		if f.Array {
			it.Usage = 0
			if idx := raw - f.LogicalMin; idx >= 0 && idx < int64(len(f.Usages)) {
				it.Usage = f.Usages[idx]
			}
		}
		out = append(out, it)
	}
	return out, nil
}
