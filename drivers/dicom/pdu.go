package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// PDU types of the DICOM upper layer protocol (PS3.8 section 9.3).
const (
	pduAssociateRQ = 0x01
	pduAssociateAC = 0x02
	pduAssociateRJ = 0x03
	pduPData       = 0x04
	pduReleaseRQ   = 0x05
	pduReleaseRP   = 0x06
	pduAbort       = 0x07
)

// Item types inside association PDUs (PS3.8 sections 9.3.2-9.3.3).
const (
	itemAppContext    = 0x10
	itemPresContextRQ = 0x20
	itemPresContextAC = 0x21
	itemAbstractSntx  = 0x30
	itemTransferSntx  = 0x40
	itemUserInfo      = 0x50
	itemMaxLength     = 0x51
	itemImplClassUID  = 0x52
	itemImplVersion   = 0x55
)

// UIDs this SCU speaks.
const (
	appContextUID     = "1.2.840.10008.3.1.1.1" // DICOM application context
	verificationUID   = "1.2.840.10008.1.1"     // Verification SOP class
	implicitVRLittle  = "1.2.840.10008.1.2"     // Implicit VR Little Endian
	implementationUID = "2.25.284677400681199510749049553404841656664"
	implementationVer = "PRAXISGATE"
)

// maxPDU bounds what we accept from a peer: an A-ASSOCIATE-AC or a C-ECHO
// response is a few hundred bytes, and a broken or hostile peer must not
// make the gateway allocate its announced length (up to 4 GiB).
const maxPDU = 1 << 20

// errPDU marks malformed peer data.
var errPDU = errors.New("malformed PDU")

// pdu is one received protocol data unit.
type pdu struct {
	typ  byte
	body []byte
}

// readPDU reads one PDU: type, reserved byte, 32-bit big-endian length, body.
func readPDU(r io.Reader) (pdu, error) {
	var hdr [6]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return pdu{}, err
	}
	n := binary.BigEndian.Uint32(hdr[2:])
	if n > maxPDU {
		return pdu{}, fmt.Errorf("%w: type 0x%02x announces %d bytes", errPDU, hdr[0], n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return pdu{}, fmt.Errorf("read body of PDU type 0x%02x: %w", hdr[0], err)
	}
	return pdu{typ: hdr[0], body: body}, nil
}

// appendPDU frames a body.
func appendPDU(dst []byte, typ byte, body []byte) []byte {
	dst = append(dst, typ, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// appendItem frames a variable item: type, reserved, 16-bit length, value.
func appendItem(dst []byte, typ byte, value []byte) []byte {
	dst = append(dst, typ, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(value)))
	return append(dst, value...)
}

// aeField pads an AE title to the 16 bytes of the fixed header field.
func aeField(ae string) []byte {
	b := bytes.Repeat([]byte{' '}, 16)
	copy(b, ae)
	return b
}

// associateRQ builds an A-ASSOCIATE-RQ proposing one presentation context:
// Verification with Implicit VR Little Endian, the transfer syntax every
// DICOM implementation must accept (PS3.5 section 10.1), so no device
// refuses the echo over a syntax it does not know.
func associateRQ(calling, called string, maxLen uint32) []byte {
	var body []byte
	body = binary.BigEndian.AppendUint16(body, 1) // protocol version
	body = append(body, 0, 0)
	body = append(body, aeField(called)...)
	body = append(body, aeField(calling)...)
	body = append(body, make([]byte, 32)...)
	body = appendItem(body, itemAppContext, []byte(appContextUID))

	var pc []byte
	pc = append(pc, presentationContextID, 0, 0, 0)
	pc = appendItem(pc, itemAbstractSntx, []byte(verificationUID))
	pc = appendItem(pc, itemTransferSntx, []byte(implicitVRLittle))
	body = appendItem(body, itemPresContextRQ, pc)

	var ui []byte
	ui = appendItem(ui, itemMaxLength, binary.BigEndian.AppendUint32(nil, maxLen))
	ui = appendItem(ui, itemImplClassUID, []byte(implementationUID))
	ui = appendItem(ui, itemImplVersion, []byte(implementationVer))
	body = appendItem(body, itemUserInfo, ui)
	return appendPDU(nil, pduAssociateRQ, body)
}

// presentationContextID is the (odd) id of our only presentation context.
const presentationContextID = 1

// acceptance is what we learn from an A-ASSOCIATE-AC.
type acceptance struct {
	calledAE       string
	result         byte // of our presentation context: 0 acceptance
	transferSyntax string
	maxLength      uint32 // the peer's maximum P-DATA length, 0 = unlimited
	implClassUID   string
}

// parseAssociateAC reads the fields of an A-ASSOCIATE-AC body we need.
func parseAssociateAC(body []byte) (acceptance, error) {
	var a acceptance
	if len(body) < 68 {
		return a, fmt.Errorf("%w: A-ASSOCIATE-AC of %d bytes, want at least 68", errPDU, len(body))
	}
	a.calledAE = strings.TrimRight(string(body[4:20]), " ")
	found := false
	err := walkItems(body[68:], func(typ byte, v []byte) error {
		switch typ {
		case itemPresContextAC:
			if len(v) < 4 {
				return fmt.Errorf("%w: presentation context item of %d bytes", errPDU, len(v))
			}
			if v[0] != presentationContextID {
				return nil
			}
			found = true
			a.result = v[2]
			return walkItems(v[4:], func(typ byte, v []byte) error {
				if typ == itemTransferSntx {
					a.transferSyntax = trimUID(v)
				}
				return nil
			})
		case itemUserInfo:
			return walkItems(v, func(typ byte, v []byte) error {
				switch typ {
				case itemMaxLength:
					if len(v) != 4 {
						return fmt.Errorf("%w: maximum length item of %d bytes", errPDU, len(v))
					}
					a.maxLength = binary.BigEndian.Uint32(v)
				case itemImplClassUID:
					a.implClassUID = trimUID(v)
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return a, err
	}
	if !found {
		return a, fmt.Errorf("%w: A-ASSOCIATE-AC lacks presentation context %d", errPDU, presentationContextID)
	}
	return a, nil
}

// walkItems calls fn for each type-reserved-length-value item in b.
func walkItems(b []byte, fn func(typ byte, v []byte) error) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return fmt.Errorf("%w: %d stray bytes after the last item", errPDU, len(b))
		}
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if 4+n > len(b) {
			return fmt.Errorf("%w: item 0x%02x of %d bytes overruns its PDU", errPDU, b[0], n)
		}
		if err := fn(b[0], b[4:4+n]); err != nil {
			return err
		}
		b = b[4+n:]
	}
	return nil
}

// trimUID drops the trailing NUL or space some peers pad UIDs with.
func trimUID(b []byte) string { return strings.TrimRight(string(b), "\x00 ") }

// rejection is an A-ASSOCIATE-RJ.
type rejection struct{ result, source, reason byte }

func parseAssociateRJ(body []byte) (rejection, error) {
	if len(body) != 4 {
		return rejection{}, fmt.Errorf("%w: A-ASSOCIATE-RJ of %d bytes, want 4", errPDU, len(body))
	}
	return rejection{result: body[1], source: body[2], reason: body[3]}, nil
}

// String explains a rejection the way the technician can act on it
// (PS3.8 section 9.3.4): most often the device does not know our AE title.
func (r rejection) String() string {
	kind := "permanently"
	if r.result == 2 {
		kind = "transiently"
	}
	var why string
	switch r.source {
	case 1:
		why = map[byte]string{
			1: "no reason given",
			2: "application context name not supported",
			3: "calling AE title not recognised (register the gateway's AE title on the device)",
			7: "called AE title not recognised (check called_ae)",
		}[r.reason]
	case 2:
		why = map[byte]string{1: "no reason given", 2: "protocol version not supported"}[r.reason]
	case 3:
		why = map[byte]string{1: "temporary congestion", 2: "local limit exceeded"}[r.reason]
	}
	if why == "" {
		why = fmt.Sprintf("source %d reason %d", r.source, r.reason)
	}
	return fmt.Sprintf("association rejected %s: %s", kind, why)
}

// abort is an A-ABORT.
type abort struct{ source, reason byte }

func parseAbort(body []byte) (abort, error) {
	if len(body) != 4 {
		return abort{}, fmt.Errorf("%w: A-ABORT of %d bytes, want 4", errPDU, len(body))
	}
	return abort{source: body[2], reason: body[3]}, nil
}

func (a abort) String() string {
	return fmt.Sprintf("association aborted by the %s (reason %d)",
		map[byte]string{0: "peer (service user)", 2: "peer (service provider)"}[a.source], a.reason)
}

// pdv is one presentation data value of a P-DATA-TF.
type pdv struct {
	contextID byte
	command   bool
	last      bool
	data      []byte
}

// parsePData splits a P-DATA-TF body into its PDVs.
func parsePData(body []byte) ([]pdv, error) {
	var out []pdv
	for len(body) > 0 {
		if len(body) < 6 {
			return nil, fmt.Errorf("%w: %d stray bytes in P-DATA", errPDU, len(body))
		}
		n := binary.BigEndian.Uint32(body[:4])
		if n < 2 || uint64(n) > uint64(len(body)-4) {
			return nil, fmt.Errorf("%w: PDV of %d bytes in %d", errPDU, n, len(body)-4)
		}
		item := body[4 : 4+n]
		out = append(out, pdv{contextID: item[0], command: item[1]&1 != 0, last: item[1]&2 != 0, data: item[2:]})
		body = body[4+n:]
	}
	return out, nil
}

// pData frames a single-fragment command PDV into a P-DATA-TF.
func pData(contextID byte, command []byte) []byte {
	var body []byte
	body = binary.BigEndian.AppendUint32(body, uint32(len(command)+2))
	body = append(body, contextID, 0x03) // command, last fragment
	body = append(body, command...)
	return appendPDU(nil, pduPData, body)
}

// releaseRQ is the fixed A-RELEASE-RQ.
func releaseRQ() []byte { return appendPDU(nil, pduReleaseRQ, make([]byte, 4)) }

// abortRQ is an A-ABORT from the service user.
func abortRQ() []byte { return appendPDU(nil, pduAbort, make([]byte, 4)) }
