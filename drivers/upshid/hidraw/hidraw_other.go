//go:build !linux

package hidraw

import (
	"context"
	"errors"
)

// Device is an open hidraw node; hidraw exists only on Linux.
type Device struct{}

// Open fails: hidraw exists only on Linux.
func Open(path string) (*Device, error) { return nil, errors.ErrUnsupported }

func (d *Device) Path() string                       { return "" }
func (d *Device) Close() error                       { return errors.ErrUnsupported }
func (d *Device) Descriptor() ([]byte, error)        { return nil, errors.ErrUnsupported }
func (d *Device) Name() (string, error)              { return "", errors.ErrUnsupported }
func (d *Device) Uniq() (string, error)              { return "", errors.ErrUnsupported }
func (d *Device) GetFeature(buf []byte) (int, error) { return 0, errors.ErrUnsupported }
func (d *Device) GetInput(buf []byte) (int, error)   { return 0, errors.ErrUnsupported }
func (d *Device) SetFeature(buf []byte) error        { return errors.ErrUnsupported }
func (d *Device) ReadInput(ctx context.Context, buf []byte) (int, error) {
	return 0, errors.ErrUnsupported
}
