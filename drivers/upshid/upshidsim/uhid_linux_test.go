//go:build linux

package upshidsim

import (
	"encoding/binary"
	"testing"
)

// TestCreate2Layout pins the packed struct uhid_create2_req offsets of
// linux/uhid.h (name 128, phys 64, uniq 64, rd_size, bus, vendor, product,
// version, country, rd_data 4096): a wrong offset would create a device
// with a garbled descriptor, which only a VM test could notice.
func TestCreate2Layout(t *testing.T) {
	u, err := New([]byte{0x05, 0x84, 0x09, 0x04, 0xa1, 0x01, 0xc0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	u.Name, u.Serial, u.Vendor, u.Product = "APC Back-UPS", "SER1", 0x051d, 0x0002
	ev, err := create2Event(u)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(ev) != 4376 {
		t.Errorf("event is %d bytes; sizeof(struct uhid_event) is 4376", len(ev))
	}
	if le.Uint32(ev) != 11 || string(ev[4:16]) != "APC Back-UPS" || string(ev[4+192:4+196]) != "SER1" ||
		le.Uint16(ev[4+256:]) != 7 || le.Uint16(ev[4+258:]) != 3 || le.Uint32(ev[4+260:]) != 0x051d ||
		le.Uint32(ev[4+264:]) != 2 || ev[4+276] != 0x05 || ev[4+282] != 0xc0 {
		t.Errorf("layout wrong: % x", ev[:300])
	}
}
