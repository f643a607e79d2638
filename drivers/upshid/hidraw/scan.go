package hidraw

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Roots are where Scan looks: sysfs (normally /sys) and the device
// directory (normally /dev). Tests and VM guests point them elsewhere.
type Roots struct {
	Sys string
	Dev string
}

// DefaultRoots are the real ones.
var DefaultRoots = Roots{Sys: "/sys", Dev: "/dev"}

// Node is one hidraw device as sysfs describes it.
type Node struct {
	// Name is the kernel name, e.g. "hidraw3"; Path is Dev/Name.
	Name, Path string
	// Bus, Vendor and Product come from the HID_ID line of the uevent.
	Bus             uint32
	Vendor, Product uint16
	// HIDName is HID_NAME (manufacturer and product as the kernel joined
	// them); Serial is HID_UNIQ, else the USB device's serial file.
	HIDName, Serial string
	// Manufacturer and ProductName are the USB string descriptors from
	// the USB device directory, when there is one (not for uhid devices).
	Manufacturer, ProductName string
	// Descriptor is the report descriptor sysfs exposes (readable by
	// everyone, unlike the /dev node).
	Descriptor []byte
	// Err says why some of the above could not be read.
	Err error
}

// ID returns "vvvv:pppp".
func (n *Node) ID() string { return fmt.Sprintf("%04x:%04x", n.Vendor, n.Product) }

// Scan lists the hidraw devices under r.Sys/class/hidraw, sorted by name.
// A device that vanishes while being read is left out.
func Scan(r Roots) ([]Node, error) {
	dir := filepath.Join(r.Sys, "class", "hidraw")
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil // no hidraw support or no HID device at all
		}
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	var out []Node
	for _, e := range ents {
		n := Node{Name: e.Name(), Path: filepath.Join(r.Dev, e.Name())}
		devDir := filepath.Join(dir, e.Name(), "device")
		ue, err := os.ReadFile(filepath.Join(devDir, "uevent"))
		if err != nil {
			continue
		}
		parseUevent(&n, ue)
		if b, err := os.ReadFile(filepath.Join(devDir, "report_descriptor")); err == nil {
			n.Descriptor = b
		} else {
			n.Err = err
		}
		if real, err := filepath.EvalSymlinks(devDir); err == nil {
			// HID device → USB interface → USB device.
			usb := filepath.Dir(filepath.Dir(real))
			n.Manufacturer = readLine(filepath.Join(usb, "manufacturer"))
			n.ProductName = readLine(filepath.Join(usb, "product"))
			if n.Serial == "" {
				n.Serial = readLine(filepath.Join(usb, "serial"))
			}
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func parseUevent(n *Node, b []byte) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "HID_ID": // 0003:0000051D:00000002
			p := strings.Split(v, ":")
			if len(p) == 3 {
				bus, _ := strconv.ParseUint(p[0], 16, 32)
				vid, _ := strconv.ParseUint(p[1], 16, 32)
				pid, _ := strconv.ParseUint(p[2], 16, 32)
				n.Bus, n.Vendor, n.Product = uint32(bus), uint16(vid), uint16(pid)
			}
		case "HID_NAME":
			n.HIDName = strings.TrimSpace(v)
		case "HID_UNIQ":
			n.Serial = strings.TrimSpace(v)
		}
	}
}

func readLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
