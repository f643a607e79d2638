package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
)

func TestAssociateRQLayout(t *testing.T) {
	b := associateRQ("PRAXISGATE", "ORTHANC", 16384)
	p, err := readPDU(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if p.typ != pduAssociateRQ || len(p.body) != len(b)-6 {
		t.Fatalf("type %d, body %d of %d", p.typ, len(p.body), len(b))
	}
	if v := binary.BigEndian.Uint16(p.body); v != 1 {
		t.Errorf("protocol version %d", v)
	}
	if got := string(p.body[4:20]); got != "ORTHANC         " {
		t.Errorf("called AE field %q", got)
	}
	if got := string(p.body[20:36]); got != "PRAXISGATE      " {
		t.Errorf("calling AE field %q", got)
	}
	var items []byte
	var abstract, transfer []string
	var maxLen uint32
	err = walkItems(p.body[68:], func(typ byte, v []byte) error {
		items = append(items, typ)
		switch typ {
		case itemAppContext:
			if string(v) != appContextUID {
				t.Errorf("application context %q", v)
			}
		case itemPresContextRQ:
			if v[0] != presentationContextID {
				t.Errorf("presentation context id %d", v[0])
			}
			return walkItems(v[4:], func(typ byte, v []byte) error {
				switch typ {
				case itemAbstractSntx:
					abstract = append(abstract, string(v))
				case itemTransferSntx:
					transfer = append(transfer, string(v))
				}
				return nil
			})
		case itemUserInfo:
			return walkItems(v, func(typ byte, v []byte) error {
				if typ == itemMaxLength {
					maxLen = binary.BigEndian.Uint32(v)
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(items) != "\x10\x20\x50" {
		t.Errorf("items % x, want application context, presentation context, user information", items)
	}
	if len(abstract) != 1 || abstract[0] != "1.2.840.10008.1.1" || len(transfer) != 1 || transfer[0] != "1.2.840.10008.1.2" {
		t.Errorf("proposed %v with %v", abstract, transfer)
	}
	if maxLen != 16384 {
		t.Errorf("max length %d", maxLen)
	}
}

func TestEchoRQCommand(t *testing.T) {
	b := echoRQ(7)
	els, err := parseCommand(b)
	if err != nil {
		t.Fatal(err)
	}
	if gl := binary.LittleEndian.Uint32(els[tagGroupLength]); int(gl) != len(b)-12 {
		t.Errorf("group length %d, want %d", gl, len(b)-12)
	}
	if got := string(els[tagAffectedSOPClass]); got != "1.2.840.10008.1.1\x00" {
		t.Errorf("affected SOP class %q (must be NUL-padded to even length)", got)
	}
	for tag, want := range map[uint32]uint16{tagCommandField: 0x0030, tagMessageID: 7, tagDataSetType: 0x0101} {
		if got := binary.LittleEndian.Uint16(els[tag]); got != want {
			t.Errorf("(0000,%04x) = 0x%04x, want 0x%04x", tag, got, want)
		}
	}
}

// rsp builds a C-ECHO-RSP command set as an SCP would.
func rsp(field, respTo, status uint16) []byte {
	var b []byte
	b = appendElement(b, tagAffectedSOPClass, []byte(verificationUID))
	b = appendElement(b, tagCommandField, us(field))
	b = appendElement(b, tagMessageIDRespTo, us(respTo))
	b = appendElement(b, tagDataSetType, us(noDataSet))
	b = appendElement(b, tagStatus, us(status))
	return append(appendElement(nil, tagGroupLength, binary.LittleEndian.AppendUint32(nil, uint32(len(b)))), b...)
}

func TestParseEchoRSP(t *testing.T) {
	tests := []struct {
		name    string
		b       []byte
		want    uint16
		wantErr bool
	}{
		{"success", rsp(0x8030, 3, 0), 0, false},
		{"refused status", rsp(0x8030, 3, 0x0122), 0x0122, false},
		{"wrong message", rsp(0x8030, 4, 0), 0, true},
		{"not an echo response", rsp(0x8001, 3, 0), 0, true},
		{"truncated", rsp(0x8030, 3, 0)[:30], 0, true},
		{"no status", rsp(0x8030, 3, 0)[:len(rsp(0x8030, 3, 0))-10], 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseEchoRSP(tt.b, 3)
			if (err != nil) != tt.wantErr || r.status != tt.want {
				t.Errorf("parseEchoRSP = %+v, %v; want status 0x%04x, error %v", r, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRejectionText(t *testing.T) {
	tests := []struct {
		body []byte
		want string
	}{
		{[]byte{0, 1, 1, 7}, "permanently: called AE title not recognised"},
		{[]byte{0, 1, 1, 3}, "calling AE title not recognised"},
		{[]byte{0, 2, 3, 1}, "transiently: temporary congestion"},
		{[]byte{0, 1, 9, 9}, "source 9 reason 9"},
	}
	for _, tt := range tests {
		rj, err := parseAssociateRJ(tt.body)
		if err != nil || !strings.Contains(rj.String(), tt.want) {
			t.Errorf("% x: %v, %v; want %q", tt.body, rj, err, tt.want)
		}
	}
	if _, err := parseAssociateRJ([]byte{1, 2}); !errors.Is(err, errPDU) {
		t.Errorf("short A-ASSOCIATE-RJ: %v", err)
	}
}

func TestParsePData(t *testing.T) {
	one := pData(1, []byte{1, 2, 3, 4})
	pdvs, err := parsePData(one[6:])
	if err != nil || len(pdvs) != 1 || !pdvs[0].command || !pdvs[0].last || len(pdvs[0].data) != 4 {
		t.Fatalf("parsePData = %+v, %v", pdvs, err)
	}
	for _, bad := range [][]byte{{0, 0, 0, 9, 1, 3}, {0, 0, 0, 1, 1}, {0, 0}} {
		if _, err := parsePData(bad); !errors.Is(err, errPDU) {
			t.Errorf("parsePData(% x) = %v, want errPDU", bad, err)
		}
	}
}

func TestReadPDURefusesHugeLength(t *testing.T) {
	b := []byte{pduPData, 0, 0xff, 0xff, 0xff, 0xff}
	if _, err := readPDU(bytes.NewReader(b)); !errors.Is(err, errPDU) {
		t.Errorf("readPDU = %v, want errPDU", err)
	}
}

// scripted is a peer replaying canned bytes and swallowing what we send.
type scripted struct{ r *bytes.Reader }

func (s scripted) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s scripted) Write(p []byte) (int, error) { return len(p), nil }

// acceptAC builds an A-ASSOCIATE-AC for our context with the given result
// and transfer syntax.
func acceptAC(result byte, ts string) []byte {
	var body []byte
	body = binary.BigEndian.AppendUint16(body, 1)
	body = append(body, 0, 0)
	body = append(body, aeField("PACS")...)
	body = append(body, aeField("PRAXISGATE")...)
	body = append(body, make([]byte, 32)...)
	body = appendItem(body, itemAppContext, []byte(appContextUID))
	pc := []byte{presentationContextID, 0, result, 0}
	pc = appendItem(pc, itemTransferSntx, []byte(ts))
	body = appendItem(body, itemPresContextAC, pc)
	body = appendItem(body, itemUserInfo, appendItem(nil, itemMaxLength, []byte{0, 0, 0x40, 0}))
	return appendPDU(nil, pduAssociateAC, body)
}

func TestEchoScripted(t *testing.T) {
	ok := append(acceptAC(0, implicitVRLittle), pData(1, rsp(0x8030, 1, 0))...)
	tests := []struct {
		name    string
		peer    []byte
		want    error
		wantMsg string
	}{
		{"success", ok, nil, ""},
		{"rejected", appendPDU(nil, pduAssociateRJ, []byte{0, 1, 1, 7}), drivers.ErrProtocol, "called AE title"},
		{"aborted", appendPDU(nil, pduAbort, []byte{0, 0, 2, 0}), drivers.ErrProtocol, "aborted"},
		{"verification refused", acceptAC(3, implicitVRLittle), drivers.ErrProtocol, "refused the Verification"},
		{"foreign transfer syntax", acceptAC(0, "1.2.840.10008.1.2.1"), drivers.ErrProtocol, "did not offer"},
		{"closed after associate", acceptAC(0, implicitVRLittle), drivers.ErrProtocol, "connection closed"},
		{"HTTP instead of DICOM", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), drivers.ErrProtocol, ""},
		{"fragmented response", append(acceptAC(0, implicitVRLittle), fragmented(rsp(0x8030, 1, 0))...), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Driver{cfg: Config{CalledAE: "PACS", CallingAE: "PRAXISGATE"}}
			r, err := d.echo(scripted{bytes.NewReader(tt.peer)})
			if tt.want == nil {
				if err != nil || r.status != 0 {
					t.Fatalf("echo = %+v, %v", r, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("echo = %v, want %v with %q", err, tt.want, tt.wantMsg)
			}
		})
	}
}

// fragmented splits a command over two P-DATA-TF PDUs.
func fragmented(cmd []byte) []byte {
	half := len(cmd) / 2
	frag := func(b []byte, last bool) []byte {
		ctl := byte(1)
		if last {
			ctl |= 2
		}
		var body []byte
		body = binary.BigEndian.AppendUint32(body, uint32(len(b)+2))
		body = append(body, presentationContextID, ctl)
		return appendPDU(nil, pduPData, append(body, b...))
	}
	return append(frag(cmd[:half], false), frag(cmd[half:], true)...)
}

// FuzzEcho plays arbitrary peer bytes against the whole SCU state machine
// (PDU framing, A-ASSOCIATE-AC items, P-DATA, command set): it must end
// with an answer or an error, never a panic or an endless loop.
func FuzzEcho(f *testing.F) {
	f.Add(append(acceptAC(0, implicitVRLittle), pData(1, rsp(0x8030, 1, 0))...))
	f.Add(appendPDU(nil, pduAssociateRJ, []byte{0, 1, 1, 7}))
	f.Add(append(acceptAC(0, implicitVRLittle), fragmented(rsp(0x8030, 1, 0))...))
	f.Fuzz(func(t *testing.T, peer []byte) {
		d := &Driver{cfg: Config{CalledAE: "PACS", CallingAE: "PRAXISGATE"}}
		_, err := d.echo(scripted{bytes.NewReader(peer)})
		if err == nil && (len(peer) == 0 || peer[0] != pduAssociateAC) {
			t.Errorf("echo succeeded without an A-ASSOCIATE-AC: % x", peer)
		}
	})
}

// TestRecordedStorescp replays the answer dcmtk's storescp gave during a
// real verification (see testdata/README.md).
func TestRecordedStorescp(t *testing.T) {
	peer, err := os.ReadFile("testdata/storescp-echo.bin")
	if err != nil {
		t.Fatal(err)
	}
	d := &Driver{cfg: Config{CalledAE: "PACS", CallingAE: "PRAXISGATE"}}
	conn := scripted{bytes.NewReader(peer)}
	r, err := d.echo(conn)
	if err != nil || r.status != 0 {
		t.Fatalf("echo = %+v, %v", r, err)
	}
	p, err := readPDU(conn)
	if err != nil || p.typ != pduReleaseRP {
		t.Errorf("after the echo: PDU %+v, %v; want A-RELEASE-RP", p, err)
	}
	first, err := readPDU(bytes.NewReader(peer))
	if err != nil {
		t.Fatal(err)
	}
	ac, err := parseAssociateAC(first.body)
	if err != nil || ac.implClassUID != "1.2.276.0.7230010.3.0.3.6.7" || ac.maxLength != 16384 || ac.calledAE != "PACS" {
		t.Errorf("A-ASSOCIATE-AC = %+v, %v", ac, err)
	}
}
