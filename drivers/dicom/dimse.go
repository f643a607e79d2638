package dicom

import (
	"encoding/binary"
	"fmt"
)

// Command set tags (group 0000, PS3.7 section E.1).
const (
	tagGroupLength      = 0x00000000
	tagAffectedSOPClass = 0x00000002
	tagCommandField     = 0x00000100
	tagMessageID        = 0x00000110
	tagMessageIDRespTo  = 0x00000120
	tagDataSetType      = 0x00000800
	tagStatus           = 0x00000900
	tagErrorComment     = 0x00000902
)

// Command field values.
const (
	cEchoRQ   = 0x0030
	cEchoRSP  = 0x8030
	noDataSet = 0x0101
)

// appendElement writes one Implicit VR Little Endian element, the encoding
// every command set uses regardless of the negotiated transfer syntax.
func appendElement(dst []byte, tag uint32, value []byte) []byte {
	if len(value)%2 == 1 {
		value = append(value[:len(value):len(value)], 0) // UIDs pad with NUL
	}
	dst = binary.LittleEndian.AppendUint16(dst, uint16(tag>>16))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(tag))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(value)))
	return append(dst, value...)
}

func us(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

// echoRQ builds the C-ECHO-RQ command set.
func echoRQ(messageID uint16) []byte {
	var rest []byte
	rest = appendElement(rest, tagAffectedSOPClass, []byte(verificationUID))
	rest = appendElement(rest, tagCommandField, us(cEchoRQ))
	rest = appendElement(rest, tagMessageID, us(messageID))
	rest = appendElement(rest, tagDataSetType, us(noDataSet))
	out := appendElement(nil, tagGroupLength, binary.LittleEndian.AppendUint32(nil, uint32(len(rest))))
	return append(out, rest...)
}

// parseCommand splits an Implicit VR Little Endian command set into its
// elements.
func parseCommand(b []byte) (map[uint32][]byte, error) {
	out := map[uint32][]byte{}
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("%w: %d stray bytes in the command set", errPDU, len(b))
		}
		tag := uint32(binary.LittleEndian.Uint16(b[0:2]))<<16 | uint32(binary.LittleEndian.Uint16(b[2:4]))
		n := binary.LittleEndian.Uint32(b[4:8])
		if uint64(n) > uint64(len(b)-8) {
			return nil, fmt.Errorf("%w: element (%04x,%04x) of %d bytes overruns the command set", errPDU, tag>>16, tag&0xffff, n)
		}
		out[tag] = b[8 : 8+n]
		b = b[8+n:]
	}
	return out, nil
}

// echoResponse is what a C-ECHO-RSP tells.
type echoResponse struct {
	status  uint16
	comment string
}

// parseEchoRSP checks that a command set is the response to our request
// and returns its status.
func parseEchoRSP(b []byte, messageID uint16) (echoResponse, error) {
	els, err := parseCommand(b)
	if err != nil {
		return echoResponse{}, err
	}
	u16 := func(tag uint32) (uint16, error) {
		v, ok := els[tag]
		if !ok || len(v) != 2 {
			return 0, fmt.Errorf("%w: C-ECHO-RSP lacks a 2-byte (%04x,%04x)", errPDU, tag>>16, tag&0xffff)
		}
		return binary.LittleEndian.Uint16(v), nil
	}
	field, err := u16(tagCommandField)
	if err != nil {
		return echoResponse{}, err
	}
	if field != cEchoRSP {
		return echoResponse{}, fmt.Errorf("%w: command field 0x%04x, want C-ECHO-RSP 0x8030", errPDU, field)
	}
	id, err := u16(tagMessageIDRespTo)
	if err != nil {
		return echoResponse{}, err
	}
	if id != messageID {
		return echoResponse{}, fmt.Errorf("%w: response to message %d, want %d", errPDU, id, messageID)
	}
	st, err := u16(tagStatus)
	if err != nil {
		return echoResponse{}, err
	}
	return echoResponse{status: st, comment: trimUID(els[tagErrorComment])}, nil
}
