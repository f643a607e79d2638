package uhid

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestCreate2Layout(t *testing.T) {
	desc := []byte{0x05, 0x84, 0x09, 0x04}
	b, err := create2(Config{Name: "UPS", Phys: "p", Uniq: "SN1", Bus: BusUSB, Vendor: 0x051d, Product: 0x0002, Version: 7, Descriptor: desc})
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	// Offsets of struct uhid_create2_req in <linux/uhid.h>, after the
	// 4-byte type: name[128], phys[64], uniq[64], rd_size, bus, vendor,
	// product, version, country, rd_data.
	checks := []struct {
		name      string
		got, want uint32
	}{
		{"type", le.Uint32(b[0:]), evCreate2},
		{"rd_size", uint32(le.Uint16(b[260:])), 4},
		{"bus", uint32(le.Uint16(b[262:])), BusUSB},
		{"vendor", le.Uint32(b[264:]), 0x051d},
		{"product", le.Uint32(b[268:]), 2},
		{"version", le.Uint32(b[272:]), 7},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if len(b) != 4380-4 || create2DescOffset != 280 {
		t.Errorf("event %d bytes, descriptor at %d; want 4376 and 280", len(b), create2DescOffset)
	}
	if !bytes.Equal(b[280:284], desc) || string(b[4:7]) != "UPS" || string(b[196:199]) != "SN1" {
		t.Error("name, uniq or descriptor misplaced")
	}
	if _, err := create2(Config{}); err == nil {
		t.Error("empty descriptor accepted")
	}
	if _, err := create2(Config{Descriptor: desc, Uniq: string(make([]byte, 64))}); err == nil {
		t.Error("64-byte uniq accepted (no room for the NUL)")
	}
}

func TestDecodeEvent(t *testing.T) {
	le := binary.LittleEndian
	get := make([]byte, eventSize)
	le.PutUint32(get, evGetReport)
	le.PutUint32(get[4:], 77)
	get[8], get[9] = 0x0c, byte(Feature)
	ev, err := decodeEvent(get)
	if err != nil || ev.typ != evGetReport || ev.id != 77 || ev.rnum != 0x0c || ev.rtype != Feature {
		t.Errorf("GET_REPORT decoded as %+v, %v", ev, err)
	}
	set := make([]byte, eventSize)
	le.PutUint32(set, evSetReport)
	le.PutUint32(set[4:], 78)
	set[8], set[9] = 0x14, byte(Feature)
	le.PutUint16(set[10:], 2)
	set[12], set[13] = 0x14, 0x01
	ev, err = decodeEvent(set)
	if err != nil || ev.id != 78 || !bytes.Equal(ev.data, []byte{0x14, 0x01}) {
		t.Errorf("SET_REPORT decoded as %+v, %v", ev, err)
	}
	le.PutUint16(set[10:], 5000)
	if _, err := decodeEvent(set); err == nil {
		t.Error("SET_REPORT with 5000 data bytes accepted")
	}
	for _, n := range []int{0, 3, 9} {
		b := append([]byte(nil), get[:n]...)
		if _, err := decodeEvent(b); err == nil {
			t.Errorf("%d-byte GET_REPORT accepted", n)
		}
	}
	r := getReportReply(77, 0, []byte{0x0c, 0x64})
	if le.Uint32(r) != evGetReportReply || le.Uint32(r[4:]) != 77 || le.Uint16(r[10:]) != 2 || r[12] != 0x0c {
		t.Errorf("GET_REPORT_REPLY = % x", r[:14])
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte{9, 0, 0, 0, 1, 0, 0, 0, 0x0c, 0})
	f.Add([]byte{13, 0, 0, 0, 1, 0, 0, 0, 0x0c, 0, 2, 0, 0x0c, 1})
	f.Add([]byte{6, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := decodeEvent(b)
		if err == nil && len(ev.data) > dataMax {
			t.Fatalf("%d data bytes", len(ev.data))
		}
	})
}
