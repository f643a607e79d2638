//go:build linux

// Package hidraw talks to a HID device through Linux's /dev/hidrawN: report
// descriptor, device info, GET/SET_REPORT of Feature and Input reports
// through ioctls, and interrupt Input reports through read(). It uses no
// cgo. It also finds HID devices in sysfs (see Scan), with every root
// injectable so tests and VM guests can point it elsewhere.
package hidraw

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl request numbers with a length in them (linux/hidraw.h), in the
// generic _IOC encoding that amd64, arm and arm64 use.
func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 'H'<<8 | nr }

const (
	iocWrite = 1
	iocRead  = 2
)

func reqGetFeature(n int) uintptr { return ioc(iocRead|iocWrite, 0x07, uintptr(n)) }
func reqSetFeature(n int) uintptr { return ioc(iocRead|iocWrite, 0x06, uintptr(n)) }
func reqGetInput(n int) uintptr   { return ioc(iocRead|iocWrite, 0x0a, uintptr(n)) }
func reqRawName(n int) uintptr    { return ioc(iocRead, 0x04, uintptr(n)) }
func reqRawUniq(n int) uintptr    { return ioc(iocRead, 0x08, uintptr(n)) }

// Device is an open /dev/hidrawN.
type Device struct {
	f    *os.File
	path string
}

// Open opens a hidraw node for reading and writing. The file is in Go's
// poller, so ReadInput honours its context.
func Open(path string) (*Device, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &Device{f: f, path: path}, nil
}

// Path returns the node the device was opened from.
func (d *Device) Path() string { return d.path }

// Close closes the node.
func (d *Device) Close() error { return d.f.Close() }

func (d *Device) ioctl(req uintptr, arg unsafe.Pointer) (int, error) {
	rc, err := d.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n uintptr
	var errno unix.Errno
	cerr := rc.Control(func(fd uintptr) {
		n, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	})
	if cerr != nil {
		return 0, cerr
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// Descriptor returns the report descriptor (HIDIOCGRDESCSIZE, HIDIOCGRDESC).
func (d *Device) Descriptor() ([]byte, error) {
	var size int32
	if _, err := d.ioctl(unix.HIDIOCGRDESCSIZE, unsafe.Pointer(&size)); err != nil {
		return nil, fmt.Errorf("HIDIOCGRDESCSIZE %s: %w", d.path, err)
	}
	if size <= 0 || size > 4096 {
		return nil, fmt.Errorf("HIDIOCGRDESCSIZE %s: size %d", d.path, size)
	}
	var rd struct {
		Size  uint32
		Value [4096]byte
	}
	rd.Size = uint32(size)
	if _, err := d.ioctl(unix.HIDIOCGRDESC, unsafe.Pointer(&rd)); err != nil {
		return nil, fmt.Errorf("HIDIOCGRDESC %s: %w", d.path, err)
	}
	return append([]byte(nil), rd.Value[:size]...), nil
}

// RawInfo is struct hidraw_devinfo.
type RawInfo struct {
	Bus     uint32
	Vendor  uint16
	Product uint16
}

// Info returns bus, vendor and product (HIDIOCGRAWINFO).
func (d *Device) Info() (RawInfo, error) {
	var ri struct {
		Bus     uint32
		Vendor  int16
		Product int16
	}
	if _, err := d.ioctl(unix.HIDIOCGRAWINFO, unsafe.Pointer(&ri)); err != nil {
		return RawInfo{}, fmt.Errorf("HIDIOCGRAWINFO %s: %w", d.path, err)
	}
	return RawInfo{Bus: ri.Bus, Vendor: uint16(ri.Vendor), Product: uint16(ri.Product)}, nil
}

func (d *Device) str(req func(int) uintptr, what string) (string, error) {
	buf := make([]byte, 256)
	n, err := d.ioctl(req(len(buf)), unsafe.Pointer(&buf[0]))
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", what, d.path, err)
	}
	if n > len(buf) {
		n = len(buf)
	}
	b := buf[:n]
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	return string(b), nil
}

// Name returns the device name the kernel built from the USB manufacturer
// and product strings (HIDIOCGRAWNAME).
func (d *Device) Name() (string, error) { return d.str(reqRawName, "HIDIOCGRAWNAME") }

// Uniq returns the serial number (HIDIOCGRAWUNIQ, Linux 5.7 and later).
func (d *Device) Uniq() (string, error) { return d.str(reqRawUniq, "HIDIOCGRAWUNIQ") }

// GetFeature asks for Feature report buf[0] (GET_REPORT); buf must be as
// long as the report with its ID byte. It returns the length received.
func (d *Device) GetFeature(buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, errors.New("GetFeature: empty buffer")
	}
	n, err := d.ioctl(reqGetFeature(len(buf)), unsafe.Pointer(&buf[0]))
	if err != nil {
		return 0, fmt.Errorf("HIDIOCGFEATURE %#02x: %w", buf[0], err)
	}
	return n, nil
}

// GetInput asks for Input report buf[0] over the control pipe
// (HIDIOCGINPUT, Linux 5.11 and later).
func (d *Device) GetInput(buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, errors.New("GetInput: empty buffer")
	}
	n, err := d.ioctl(reqGetInput(len(buf)), unsafe.Pointer(&buf[0]))
	if err != nil {
		return 0, fmt.Errorf("HIDIOCGINPUT %#02x: %w", buf[0], err)
	}
	return n, nil
}

// SetFeature sends Feature report buf (ID first) with SET_REPORT.
func (d *Device) SetFeature(buf []byte) error {
	if len(buf) == 0 {
		return errors.New("SetFeature: empty buffer")
	}
	if _, err := d.ioctl(reqSetFeature(len(buf)), unsafe.Pointer(&buf[0])); err != nil {
		return fmt.Errorf("HIDIOCSFEATURE %#02x: %w", buf[0], err)
	}
	return nil
}

// ReadInput waits for the next interrupt Input report (ID first when the
// device uses IDs). It returns ctx.Err() when ctx ends first.
func (d *Device) ReadInput(ctx context.Context, buf []byte) (int, error) {
	stop := context.AfterFunc(ctx, func() { _ = d.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	n, err := d.f.Read(buf)
	if err != nil && ctx.Err() != nil {
		_ = d.f.SetReadDeadline(time.Time{})
		return 0, ctx.Err()
	}
	return n, err
}
