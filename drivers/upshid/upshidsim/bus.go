package upshidsim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/praxisgate/praxisgate/drivers/upshid/hidraw"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
)

// Bus is an in-memory USB bus with a sysfs tree under a directory: each
// attached UPS gets /sys/class/hidraw/hidrawN (uevent, report_descriptor,
// USB manufacturer/product/serial files two levels up, as on a real
// system) and a /dev/hidrawN that Open serves from memory.
type Bus struct {
	Roots hidraw.Roots

	mu    sync.Mutex
	next  int
	nodes map[string]*node // by device path
}

type node struct {
	ups  *UPS
	name string
	gone chan struct{}
}

// NewBus makes an empty bus under dir.
func NewBus(dir string) (*Bus, error) {
	r := hidraw.Roots{Sys: filepath.Join(dir, "sys"), Dev: filepath.Join(dir, "dev")}
	for _, d := range []string{filepath.Join(r.Sys, "class", "hidraw"), filepath.Join(r.Sys, "devices"), r.Dev} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return &Bus{Roots: r, nodes: map[string]*node{}}, nil
}

// Attach plugs a UPS in; it appears as the next free hidraw number, like
// after a USB re-enumeration. It returns the node path.
func (b *Bus) Attach(u *UPS) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	name := fmt.Sprintf("hidraw%d", b.next)
	usbDev := filepath.Join(b.Roots.Sys, "devices", fmt.Sprintf("usb1-%d", b.next))
	hidDev := filepath.Join(usbDev, "1-1:1.0", fmt.Sprintf("0003:%04X:%04X.%04X", u.Vendor, u.Product, b.next+1))
	b.next++
	if err := os.MkdirAll(hidDev, 0o755); err != nil {
		return "", err
	}
	files := map[string]string{
		filepath.Join(usbDev, "serial"):       u.Serial + "\n",
		filepath.Join(usbDev, "manufacturer"): "Simulated\n",
		filepath.Join(usbDev, "product"):      u.Name + "\n",
		filepath.Join(hidDev, "uevent"): fmt.Sprintf("DRIVER=hid-generic\nHID_ID=0003:%08X:%08X\nHID_NAME=Simulated %s\nHID_PHYS=usb-sim-1/input0\nHID_UNIQ=%s\nMODALIAS=hid:b0003g0001v%08Xp%08X\n",
			u.Vendor, u.Product, u.Name, u.Serial, u.Vendor, u.Product),
		filepath.Join(hidDev, "report_descriptor"): string(u.Desc),
	}
	for p, s := range files {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			return "", err
		}
	}
	cls := filepath.Join(b.Roots.Sys, "class", "hidraw", name)
	if err := os.MkdirAll(cls, 0o755); err != nil {
		return "", err
	}
	if err := os.Symlink(hidDev, filepath.Join(cls, "device")); err != nil {
		return "", err
	}
	path := filepath.Join(b.Roots.Dev, name)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return "", err
	}
	b.nodes[path] = &node{ups: u, name: name, gone: make(chan struct{})}
	return path, nil
}

// Detach unplugs the UPS at path: its sysfs entries vanish and open
// connections fail with ENODEV, as hidraw does.
func (b *Bus) Detach(path string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, ok := b.nodes[path]
	if !ok {
		return fmt.Errorf("upshidsim: nothing attached at %s", path)
	}
	delete(b.nodes, path)
	close(n.gone)
	_ = os.Remove(path)
	return os.RemoveAll(filepath.Join(b.Roots.Sys, "class", "hidraw", n.name))
}

// Open opens an attached node; it has the signature the driver's opener
// takes.
func (b *Bus) Open(path string) (*Conn, error) {
	b.mu.Lock()
	n, ok := b.nodes[path]
	b.mu.Unlock()
	if !ok {
		return nil, &os.PathError{Op: "open", Path: path, Err: syscall.ENOENT}
	}
	return &Conn{n: n, in: n.ups.subscribe(), done: make(chan struct{})}, nil
}

// Conn is an open simulated hidraw node.
type Conn struct {
	n      *node
	in     chan []byte
	done   chan struct{}
	mu     sync.Mutex
	closed bool
}

var errGone = fmt.Errorf("simulated hidraw: %w", syscall.ENODEV)

func (c *Conn) alive() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return os.ErrClosed
	}
	select {
	case <-c.n.gone:
		return errGone
	default:
		return nil
	}
}

// Descriptor returns the report descriptor.
func (c *Conn) Descriptor() ([]byte, error) {
	if err := c.alive(); err != nil {
		return nil, err
	}
	return append([]byte(nil), c.n.ups.Desc...), nil
}

// GetFeature answers GET_REPORT(Feature).
func (c *Conn) GetFeature(buf []byte) (int, error) {
	if err := c.alive(); err != nil {
		return 0, err
	}
	n, err := c.n.ups.getReport(hidreport.Feature, buf)
	if errors.Is(err, errSilent) {
		return 0, fmt.Errorf("%w: %w", err, syscall.EIO)
	}
	return n, err
}

// GetInput answers GET_REPORT(Input).
func (c *Conn) GetInput(buf []byte) (int, error) {
	if err := c.alive(); err != nil {
		return 0, err
	}
	return c.n.ups.getReport(hidreport.Input, buf)
}

// SetFeature takes SET_REPORT(Feature).
func (c *Conn) SetFeature(buf []byte) error {
	if err := c.alive(); err != nil {
		return err
	}
	return c.n.ups.setReport(buf)
}

// ReadInput waits for the next interrupt report.
func (c *Conn) ReadInput(ctx context.Context, buf []byte) (int, error) {
	if err := c.alive(); err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-c.n.gone:
		return 0, errGone
	case <-c.done:
		return 0, os.ErrClosed
	case r := <-c.in:
		return copy(buf, r), nil
	}
}

// Close closes the connection.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.done)
		c.n.ups.unsubscribe(c.in)
	}
	return nil
}
