package hidreport

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the descriptor parser: it must fail
// with ErrDescriptor or return fields that lie inside their reports.
func FuzzParse(f *testing.F) {
	f.Add([]byte{0x05, 0x84, 0x09, 0x04, 0xa1, 0x01, 0x85, 0x01, 0x09, 0x30, 0x75, 0x10, 0x95, 0x01, 0xb1, 0x02, 0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrDescriptor) {
				t.Fatalf("error %v does not wrap ErrDescriptor", err)
			}
			return
		}
		for i := range d.Fields {
			fl := &d.Fields[i]
			n := d.Sizes[Key{fl.Type, fl.ReportID}]
			payload := n
			if d.UsesIDs {
				payload--
			}
			if fl.BitOffset+fl.BitSize > 8*payload {
				t.Fatalf("field %d (bits %d+%d) outside its %d-byte report", i, fl.BitOffset, fl.BitSize, n)
			}
			buf := make([]byte, n)
			if d.UsesIDs {
				buf[0] = fl.ReportID
			}
			if _, err := d.Decode(fl.Type, buf); err != nil {
				t.Fatalf("zero report of the declared size does not decode: %v", err)
			}
		}
	})
}

// FuzzDecode decodes arbitrary reports against a parsed descriptor, and
// checks that a value written with SetRaw reads back.
func FuzzDecode(f *testing.F) {
	desc := []byte{0x05, 0x84, 0x09, 0x04, 0xa1, 0x01, 0x85, 0x16, 0x05, 0x85, 0x09, 0x44, 0x09, 0x45, 0x09, 0xd0,
		0x15, 0x00, 0x25, 0x01, 0x75, 0x01, 0x95, 0x03, 0x81, 0x02, 0x75, 0x05, 0x95, 0x01, 0x81, 0x03,
		0x85, 0x0f, 0x09, 0x68, 0x16, 0x00, 0x80, 0x26, 0xff, 0x7f, 0x75, 0x10, 0x95, 0x01, 0xb1, 0x02, 0xc0}
	d, err := Parse(desc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{0x16, 0x05}, int64(1))
	f.Add([]byte{0x0f, 0xf8, 0x0c}, int64(-5))
	f.Fuzz(func(t *testing.T, report []byte, v int64) {
		for _, typ := range []ReportType{Input, Feature} {
			items, err := d.Decode(typ, report)
			if err != nil {
				if !errors.Is(err, ErrReport) {
					t.Fatalf("error %v does not wrap ErrReport", err)
				}
				continue
			}
			for _, it := range items {
				fl := it.Field
				if it.Raw < -(1<<31) || it.Raw > 1<<32 {
					t.Fatalf("raw %d out of any 32-bit range", it.Raw)
				}
				buf := append([]byte(nil), report...)
				want := v & (1<<fl.BitSize - 1)
				if fl.Signed() && want&(1<<(fl.BitSize-1)) != 0 {
					want -= 1 << fl.BitSize
				}
				if err := d.SetRaw(buf, fl, v); err != nil {
					t.Fatal(err)
				}
				got, err := d.Raw(buf, fl)
				if err != nil || got != want {
					t.Fatalf("wrote %d, read %d (%v)", want, got, err)
				}
			}
		}
	})
}
