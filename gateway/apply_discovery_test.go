package gateway

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/praxisgate/praxisgate/drivers/discover"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// Adopting a host changes the discovery device's adopted list too; that
// must not rebuild the discovery driver (its inventory lives in it) nor
// make the page say "after restart". A change of its sweep settings waits
// for the restart, and the running driver stays as it is.
func TestApplyDevicesDiscovery(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	cfgFor := func(interval, adopted, extra string) string {
		return fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
devices:
  - {id: netz, driver: discover, interval: %s, discover: {interfaces: [lo]%s}}
%s`, dir, mq.URL(), interval, adopted, extra)
	}
	g, stop := start(t, load(t, dir, cfgFor("1h", "", "")))
	defer stop()
	before, _ := deviceByID(g, "netz")

	steps := []struct {
		name          string
		yaml          string
		live, restart []string
		running       []string
	}{
		{"adopt a host", cfgFor("1h", `, adopted: {"AA:BB:CC:DD:EE:FF": drucker}`, "  - {id: drucker, driver: sim, kind: room, interval: 1s, sim: {scenario: room}}\n"),
			[]string{"devices"}, nil, []string{"netz", "drucker"}},
		{"sweep interval changed", cfgFor("2h", `, adopted: {"AA:BB:CC:DD:EE:FF": drucker}`, "  - {id: drucker, driver: sim, kind: room, interval: 1s, sim: {scenario: room}}\n"),
			nil, []string{"devices"}, []string{"netz", "drucker"}},
	}
	for _, st := range steps {
		a := g.Apply(context.Background(), load(t, dir, st.yaml))
		if !slices.Equal(a.Live, st.live) || !slices.Equal(a.Restart, st.restart) {
			t.Fatalf("%s: applied %+v, want live %v restart %v", st.name, a, st.live, st.restart)
		}
		var running []string
		for _, d := range g.Devices() {
			running = append(running, d.Config.ID)
		}
		if !slices.Equal(running, st.running) {
			t.Fatalf("%s: running %v, want %v", st.name, running, st.running)
		}
		now, _ := deviceByID(g, "netz")
		if now.Driver != before.Driver || now.Config.Interval != before.Config.Interval {
			t.Fatalf("%s: discovery driver rebuilt (%+v)", st.name, now.Config)
		}
		// The running driver was handed the new list (SetLists).
		if dc := now.Config.DriverConfig.(*discover.Config); dc.Adopted["AA:BB:CC:DD:EE:FF"] != "drucker" {
			t.Fatalf("%s: running discovery device's adopted list %v", st.name, dc.Adopted)
		}
	}
	waitFor(t, "the adopted device polled", func() bool { return polled(g, "drucker") })
}
