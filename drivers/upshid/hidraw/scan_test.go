package hidraw

import (
	"os"
	"path/filepath"
	"testing"
)

// TestScan builds the sysfs shapes of a USB UPS (serial in the USB device
// directory), a uhid device (serial only in HID_UNIQ, no USB parent) and a
// node whose uevent vanished, and reads them back.
func TestScan(t *testing.T) {
	root := t.TempDir()
	r := Roots{Sys: filepath.Join(root, "sys"), Dev: "/dev"}
	mk := func(node, devDir, uevent string, files map[string]string) {
		t.Helper()
		hid := filepath.Join(r.Sys, devDir)
		os.MkdirAll(hid, 0o755)
		if uevent != "" {
			os.WriteFile(filepath.Join(hid, "uevent"), []byte(uevent), 0o644)
		}
		os.WriteFile(filepath.Join(hid, "report_descriptor"), []byte{0x05, 0x84}, 0o644)
		for name, v := range files {
			os.WriteFile(filepath.Join(r.Sys, name), []byte(v), 0o644)
		}
		cls := filepath.Join(r.Sys, "class", "hidraw", node)
		os.MkdirAll(cls, 0o755)
		os.Symlink(hid, filepath.Join(cls, "device"))
	}
	mk("hidraw1", "devices/pci0/usb1/1-1/1-1:1.0/0003:051D:0002.0003",
		"DRIVER=hid-generic\nHID_ID=0003:0000051D:00000002\nHID_NAME=American Power Conversion Back-UPS BX1600MI FW:294201G -302201G\nHID_UNIQ=\n",
		map[string]string{
			"devices/pci0/usb1/1-1/serial":       "9B2052A12345\n",
			"devices/pci0/usb1/1-1/manufacturer": "American Power Conversion\n",
			"devices/pci0/usb1/1-1/product":      "Back-UPS BX1600MI FW:294201G -302201G \n",
		})
	mk("hidraw0", "devices/virtual/misc/uhid/0003:0463:FFFF.0001",
		"HID_ID=0003:00000463:0000FFFF\nHID_NAME=Eaton 3S\nHID_UNIQ=EATON-1\n", nil)
	mk("hidraw9", "devices/virtual/misc/uhid/gone", "", nil)

	nodes, err := Scan(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 {
		t.Fatalf("got %d nodes: %+v", len(nodes), nodes)
	}
	a, b := nodes[0], nodes[1]
	if a.Name != "hidraw0" || a.Path != "/dev/hidraw0" || a.ID() != "0463:ffff" || a.Serial != "EATON-1" ||
		a.Bus != 3 || a.Manufacturer != "" || len(a.Descriptor) != 2 {
		t.Errorf("uhid node: %+v", a)
	}
	if b.ID() != "051d:0002" || b.Serial != "9B2052A12345" || b.Manufacturer != "American Power Conversion" ||
		b.ProductName != "Back-UPS BX1600MI FW:294201G -302201G" {
		t.Errorf("USB node: %+v", b)
	}
}

func TestScanWithoutHidraw(t *testing.T) {
	nodes, err := Scan(Roots{Sys: t.TempDir(), Dev: "/dev"})
	if err != nil || nodes != nil {
		t.Errorf("%v %v", nodes, err)
	}
}
