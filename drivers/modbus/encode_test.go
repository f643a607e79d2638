package modbus

import (
	"encoding/binary"
	"math"
)

// encodeWords is decode's inverse for the raw value (before scale), used by
// tests to lay a value out the way a device would.
func encodeWords(r Register, v float64) []uint16 {
	var words []uint16
	switch r.Type {
	case "int16":
		words = []uint16{uint16(int16(v))}
	case "uint16":
		words = []uint16{uint16(v)}
	default:
		var u uint32
		switch r.Type {
		case "int32":
			u = uint32(int32(v))
		case "uint32":
			u = uint32(v)
		case "float32":
			u = math.Float32bits(float32(v))
		}
		words = []uint16{uint16(u >> 16), uint16(u)}
		if r.WordOrder == "low_first" {
			words[0], words[1] = words[1], words[0]
		}
	}
	if r.ByteOrder == "little" {
		for i, w := range words {
			var b [2]byte
			binary.LittleEndian.PutUint16(b[:], w)
			words[i] = binary.BigEndian.Uint16(b[:])
		}
	}
	return words
}
