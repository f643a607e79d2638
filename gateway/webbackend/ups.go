package webbackend

import (
	"context"
	"fmt"
	"github.com/praxisgate/praxisgate/gateway/config"

	"github.com/praxisgate/praxisgate/drivers"
)

// Attached lists the devices plugged into the box that a driver can read
// (a USB UPS, drivers.FindAttached), each with the configured device
// that reads it already, for the web page's adoption list.
func (b *Backend) Attached() []drivers.Attached {
	got, err := config.FindAttached(b.Config())
	if err != nil {
		b.log.Warn("web: looking for devices attached to the box", "err", err)
	}
	return got
}

// selfTester returns the running driver of device when it can start a
// battery self-test.
func (b *Backend) selfTester(device string) (drivers.SelfTester, bool) {
	for _, d := range b.core.Devices() {
		if d.Config.ID == device {
			st, ok := d.Driver.(drivers.SelfTester)
			return st, ok
		}
	}
	return nil, false
}

// SelfTest starts a UPS's battery self-test from the web page, as the
// signed ups-selftest command does; the result comes later as the
// driver's ups.self_test event.
func (b *Backend) SelfTest(ctx context.Context, device string, deep bool) error {
	st, ok := b.selfTester(device)
	if !ok {
		return fmt.Errorf("device %s is not running or cannot start a battery self-test", device)
	}
	if err := st.SelfTest(ctx, deep); err != nil {
		return fmt.Errorf("self-test of %s: %w", device, err)
	}
	return nil
}
