package gateway

import (
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	_ "github.com/praxisgate/praxisgate/drivers/all"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// applyDevices rebuilds a device whose config is not sameDevice. A driver
// config that does not equal itself when made twice (a func, a cache)
// would rebuild that device on every save of the page.
func TestSameDeviceEveryDriver(t *testing.T) {
	names := drivers.Names()
	if len(names) < 5 {
		t.Fatalf("only %d drivers registered: %v", len(names), names)
	}
	for _, name := range names {
		f, _ := drivers.Lookup(name)
		dev := func(interval time.Duration) config.Device {
			return config.Device{ID: "d", Driver: name, Interval: interval, DriverConfig: f.NewConfig()}
		}
		running := dev(time.Second)
		running.Kind, running.Line = f.Kind, 7 // filled in by BuildDrivers; where it stood in the file
		if !sameDevice(running, dev(time.Second)) {
			t.Errorf("%s: the same config counts as changed", name)
		}
		if sameDevice(running, dev(2*time.Second)) {
			t.Errorf("%s: a changed interval counts as the same", name)
		}
	}
}
