package gateway

import (
	"testing"
	"time"

	_ "github.com/praxisgate/praxisgate/drivers/discover"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// A driver's own default interval wins over defaults: (a network sweep
// must not run at a sensor's pace); the device's own value wins over both.
func TestDriverDefaultInterval(t *testing.T) {
	cfg, err := config.Parse([]byte(`site: s
gateway: g
uplink: {broker: "tcp://127.0.0.1:1883"}
defaults: {interval: 30s}
devices:
  - {id: netz, driver: discover}
  - {id: netz2, driver: discover, interval: 1h}
  - {id: f, driver: sim}
`), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ interval, timeout time.Duration }{{15 * time.Minute, 2 * time.Minute}, {time.Hour, 2 * time.Minute}, {30 * time.Second, 30 * time.Second}}
	for i, w := range want {
		d := cfg.Devices[i]
		if d.Interval != w.interval || d.Timeout != w.timeout {
			t.Errorf("%s: interval %s timeout %s, want %s %s", d.ID, d.Interval, d.Timeout, w.interval, w.timeout)
		}
	}
}
