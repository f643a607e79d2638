package modbus

import (
	"fmt"
	"math"
	"sort"
)

// maxBlock is the most registers one read request may ask for (Modbus
// application protocol v1.1b3, function 3/4: 125).
const maxBlock = 125

// maxGap is how many unused registers a block may span to save a round
// trip. Small, because some controllers answer "illegal data address" for
// holes in their map; a device with holes can still list its registers far
// enough apart to get separate requests.
const maxGap = 4

// block is one read request: count registers from start in one table, and
// the registers of the map it serves.
type block struct {
	table string
	start uint16
	count uint16
	regs  []int // indexes into the register map
}

// planBlocks groups the register map into as few read requests as the
// protocol allows, because on RTU at 9600 baud every round trip costs tens
// of milliseconds and 500 sensors must stay cheap.
func planBlocks(regs []Register) []block {
	idx := make([]int, len(regs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ra, rb := regs[idx[a]], regs[idx[b]]
		if ra.Table != rb.Table {
			return ra.Table < rb.Table
		}
		return ra.Address < rb.Address
	})
	var out []block
	for _, i := range idx {
		r := regs[i]
		n, _ := registerWords(r.Type)
		end := uint32(r.Address) + uint32(n)
		if len(out) > 0 {
			b := &out[len(out)-1]
			bend := uint32(b.start) + uint32(b.count)
			if b.table == r.Table && uint32(r.Address) <= bend+maxGap && end-uint32(b.start) <= maxBlock {
				if end > bend {
					b.count = uint16(end - uint32(b.start))
				}
				b.regs = append(b.regs, i)
				continue
			}
		}
		out = append(out, block{table: r.Table, start: r.Address, count: n, regs: []int{i}})
	}
	return out
}

// decode turns the raw bytes of a register, exactly as they came off the
// wire (two bytes per register), into the scaled reading.
func decode(r Register, raw []byte) (float64, error) {
	n, ok := registerWords(r.Type)
	if !ok {
		return 0, fmt.Errorf("unknown type %q", r.Type)
	}
	if len(raw) != int(n)*2 {
		return 0, fmt.Errorf("%s needs %d bytes, got %d", r.Type, n*2, len(raw))
	}
	words := make([]uint16, n)
	for i := range words {
		hi, lo := raw[2*i], raw[2*i+1]
		if r.ByteOrder == "little" {
			hi, lo = lo, hi
		}
		words[i] = uint16(hi)<<8 | uint16(lo)
	}
	var v float64
	switch r.Type {
	case "int16":
		v = float64(int16(words[0]))
	case "uint16":
		v = float64(words[0])
	default:
		hi, lo := words[0], words[1]
		if r.WordOrder == "low_first" {
			hi, lo = lo, hi
		}
		u := uint32(hi)<<16 | uint32(lo)
		switch r.Type {
		case "int32":
			v = float64(int32(u))
		case "uint32":
			v = float64(u)
		case "float32":
			f := math.Float32frombits(u)
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				// Several controllers report a broken probe as NaN.
				return 0, fmt.Errorf("float32 value %v is not a number (probe fault?)", f)
			}
			v = float64(f)
		}
	}
	scale := r.Scale
	if scale == 0 {
		scale = 1
	}
	return v*scale + r.Offset, nil
}
