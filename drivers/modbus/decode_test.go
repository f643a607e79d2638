package modbus

import (
	"math"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		reg  Register
		raw  []byte
		want float64
	}{
		{"int16 negative tenths", Register{Type: "int16", Scale: 0.1}, []byte{0xFF, 0xE2}, -3.0},
		{"uint16 with offset", Register{Type: "uint16", Scale: 1, Offset: -40}, []byte{0x00, 0x2D}, 5},
		{"int16 little endian bytes", Register{Type: "int16", ByteOrder: "little", Scale: 0.01}, []byte{0x3A, 0x02}, 5.70},
		{"int32 high word first", Register{Type: "int32", WordOrder: "high_first"}, []byte{0xFF, 0xFF, 0xFF, 0xFE}, -2},
		{"uint32 low word first", Register{Type: "uint32", WordOrder: "low_first"}, []byte{0x00, 0x01, 0x00, 0x02}, 0x20001},
		{"float32 ABCD", Register{Type: "float32"}, []byte{0x40, 0x9C, 0xCC, 0xCD}, 4.9},
		{"float32 CDAB", Register{Type: "float32", WordOrder: "low_first"}, []byte{0xCC, 0xCD, 0x40, 0x9C}, 4.9},
		{"float32 BADC", Register{Type: "float32", ByteOrder: "little"}, []byte{0x9C, 0x40, 0xCD, 0xCC}, 4.9},
		{"float32 DCBA", Register{Type: "float32", ByteOrder: "little", WordOrder: "low_first"}, []byte{0xCD, 0xCC, 0x9C, 0x40}, 4.9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode(tt.reg, tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tt.want) > 1e-5 {
				t.Errorf("decode = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		reg  Register
		raw  []byte
	}{
		{"short", Register{Type: "int32"}, []byte{0, 1}},
		{"long", Register{Type: "int16"}, []byte{0, 1, 2}},
		{"NaN probe fault", Register{Type: "float32"}, []byte{0x7F, 0xC0, 0x00, 0x00}},
		{"infinity", Register{Type: "float32"}, []byte{0x7F, 0x80, 0x00, 0x00}},
		{"unknown type", Register{Type: "bcd"}, []byte{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := decode(tt.reg, tt.raw); err == nil {
				t.Errorf("decode = %v, want an error", v)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, typ := range []string{"int16", "uint16", "int32", "uint32", "float32"} {
		for _, bo := range []string{"big", "little"} {
			for _, wo := range []string{"high_first", "low_first"} {
				r := Register{Type: typ, ByteOrder: bo, WordOrder: wo, Scale: 1}
				words := encodeWords(r, 1234)
				raw := make([]byte, 0, 4)
				for _, w := range words {
					raw = append(raw, byte(w>>8), byte(w))
				}
				got, err := decode(r, raw)
				if err != nil || got != 1234 {
					t.Errorf("%s/%s/%s: got %v, %v", typ, bo, wo, got, err)
				}
			}
		}
	}
}

func TestPlanBlocks(t *testing.T) {
	regs := []Register{
		{Name: "a", Table: "holding", Address: 10, Type: "int16"},
		{Name: "b", Table: "input", Address: 0, Type: "float32"},
		{Name: "c", Table: "holding", Address: 11, Type: "int32"},
		{Name: "d", Table: "holding", Address: 200, Type: "int16"},
		{Name: "e", Table: "holding", Address: 17, Type: "uint16"},
		{Name: "f", Table: "holding", Address: 8, Type: "uint16"},
	}
	got := planBlocks(regs)
	want := []block{
		{table: "holding", start: 8, count: 10, regs: []int{5, 0, 2, 4}},
		{table: "holding", start: 200, count: 1, regs: []int{3}},
		{table: "input", start: 0, count: 2, regs: []int{1}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d blocks %+v, want %+v", len(got), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.table != w.table || g.start != w.start || g.count != w.count || len(g.regs) != len(w.regs) {
			t.Errorf("block %d = %+v, want %+v", i, g, w)
			continue
		}
		for j := range w.regs {
			if g.regs[j] != w.regs[j] {
				t.Errorf("block %d regs = %v, want %v", i, g.regs, w.regs)
			}
		}
	}
}

func TestPlanBlocksRespectsMaximum(t *testing.T) {
	var regs []Register
	for a := uint16(0); a < 300; a += 2 {
		regs = append(regs, Register{Table: "holding", Address: a, Type: "float32"})
	}
	blocks := planBlocks(regs)
	covered := 0
	for _, b := range blocks {
		if b.count > maxBlock {
			t.Errorf("block at %d asks for %d registers", b.start, b.count)
		}
		covered += len(b.regs)
	}
	if covered != len(regs) || len(blocks) != 3 {
		t.Errorf("%d blocks cover %d of %d registers", len(blocks), covered, len(regs))
	}
}

// FuzzDecode feeds arbitrary register bytes, as a misbehaving device might
// send them, through every type and order; decode must never panic and must
// never yield a non-finite reading.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x40, 0x9C, 0xCC, 0xCD}, uint8(4), uint8(0))
	f.Add([]byte{0xFF, 0xE2}, uint8(0), uint8(3))
	f.Add([]byte{0x7F, 0xC0, 0x00, 0x00}, uint8(4), uint8(1))
	types := []string{"int16", "uint16", "int32", "uint32", "float32", ""}
	f.Fuzz(func(t *testing.T, raw []byte, typ, order uint8) {
		r := Register{Type: types[int(typ)%len(types)], ByteOrder: "big", WordOrder: "high_first", Scale: 0.1}
		if order&1 != 0 {
			r.ByteOrder = "little"
		}
		if order&2 != 0 {
			r.WordOrder = "low_first"
		}
		v, err := decode(r, raw)
		if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			t.Errorf("decode(%x) = %v without error", raw, v)
		}
	})
}
