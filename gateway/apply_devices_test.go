package gateway

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/schedule"
)

// Devices saved on the web page run without a restart: an adopted sim
// device polls at once and its readings reach the broker, disabling it
// stops its polls, a changed interval takes effect, and removing it
// drops it from the page. The unchanged device polls throughout.
func TestApplyDevicesLive(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	s := subscribeAll(t, mq.URL())
	cfgFor := func(extra string) string {
		return fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
devices:
  - {id: room, driver: sim, kind: room, interval: 1s, sim: {scenario: room}}
%s`, dir, mq.URL(), extra)
	}
	g, stop := start(t, load(t, dir, cfgFor("")))
	defer stop()
	waitFor(t, "room readings", func() bool { return s.count("/telemetry/room") >= 1 })

	steps := []struct {
		name          string
		extra         string
		live, restart []string
		check         func(t *testing.T)
	}{
		{"adopt a fridge", "  - {id: fridge, driver: sim, kind: fridge, interval: 1s, sim: {scenario: fridge}}\n",
			[]string{"devices"}, []string{config.SectionColdChain}, func(t *testing.T) {
				waitFor(t, "the adopted fridge's readings at the broker", func() bool { return s.count("/telemetry/fridge") >= 2 })
				if _, err := os.Stat(filepath.Join(dir, "devices", "fridge")); err != nil {
					t.Fatalf("state dir of the adopted device: %v", err)
				}
				waitFor(t, "the adopted fridge's reading on the Geräte page", func() bool {
					for _, d := range shownDevices(g) {
						if d.ID == "fridge" && !d.At.IsZero() && len(d.Metrics) > 0 {
							return true
						}
					}
					return false
				})
				// The default fridge band applies to it from now on.
				var rule bool
				for _, r := range g.alarms.Rules() {
					rule = rule || r.Device == "fridge"
				}
				if !rule {
					t.Fatal("no alarm rule for the adopted fridge")
				}
			}},
		{"change its interval", "  - {id: fridge, driver: sim, kind: fridge, interval: 2s, sim: {scenario: fridge}}\n",
			[]string{"devices"}, []string{config.SectionColdChain}, func(t *testing.T) {
				d, ok := deviceByID(g, "fridge")
				if !ok || d.Config.Interval != 2*time.Second {
					t.Fatalf("running fridge %+v, want interval 2s", d.Config)
				}
				n := s.count("/telemetry/fridge")
				waitFor(t, "readings of the rebuilt fridge", func() bool { return s.count("/telemetry/fridge") > n })
			}},
		{"disable it", "  - {id: fridge, driver: sim, kind: fridge, interval: 2s, disabled: true, sim: {scenario: fridge}}\n",
			[]string{"devices"}, nil, func(t *testing.T) {
				if _, ok := deviceByID(g, "fridge"); ok {
					t.Fatal("disabled fridge still runs")
				}
				if _, err := g.PollNow(context.Background(), "fridge"); err == nil {
					t.Fatal("test poll of a disabled device worked")
				}
				n, r := s.count("/telemetry/fridge"), s.count("/telemetry/room")
				waitFor(t, "more room readings", func() bool { return s.count("/telemetry/room") >= r+3 })
				if m := s.count("/telemetry/fridge"); m != n {
					t.Fatalf("disabled fridge still published: %d → %d readings", n, m)
				}
				i := slices.IndexFunc(shownDevices(g), func(d shownDevice) bool { return d.ID == "fridge" })
				if i < 0 || !shownDevices(g)[i].Disabled {
					t.Fatalf("Geräte page: %+v", shownDevices(g))
				}
			}},
		{"enable it again", "  - {id: fridge, driver: sim, kind: fridge, interval: 1s, sim: {scenario: fridge}}\n",
			[]string{"devices"}, []string{config.SectionColdChain}, func(t *testing.T) {
				n := s.count("/telemetry/fridge")
				waitFor(t, "readings of the re-enabled fridge", func() bool { return s.count("/telemetry/fridge") > n })
			}},
		{"remove it", "", []string{"devices"}, nil, func(t *testing.T) {
			if slices.ContainsFunc(shownDevices(g), func(d shownDevice) bool { return d.ID == "fridge" }) {
				t.Fatalf("removed fridge still on the page: %+v", shownDevices(g))
			}
			if _, err := g.PollNow(context.Background(), "fridge"); !errors.Is(err, schedule.ErrUnknownDevice) {
				t.Fatalf("removed fridge still scheduled: test poll %v", err)
			}
			for _, r := range g.alarms.Rules() {
				if r.Device == "fridge" {
					t.Fatalf("rule of the removed fridge still evaluated: %+v", r)
				}
			}
		}},
		{"poll default for a device without its own interval", "  - {id: lab, driver: sim, kind: room, sim: {scenario: room}}\ndefaults: {interval: 3s}\n",
			[]string{"defaults", "devices"}, nil, func(t *testing.T) {
				d, ok := deviceByID(g, "lab")
				if !ok || d.Config.Interval != 3*time.Second {
					t.Fatalf("running lab %+v, want the default interval 3s", d.Config)
				}
				waitFor(t, "readings of the device with the default interval", func() bool { return s.count("/telemetry/lab") >= 1 })
			}},
	}
	for _, st := range steps {
		a := g.Apply(context.Background(), load(t, dir, cfgFor(st.extra)))
		if !slices.Equal(a.Live, st.live) || !slices.Equal(a.Restart, st.restart) {
			t.Fatalf("%s: applied %+v, want live %v restart %v", st.name, a, st.live, st.restart)
		}
		t.Run(st.name, st.check)
		if t.Failed() {
			return
		}
	}
	n := s.count("/telemetry/room")
	waitFor(t, "the unchanged device still polling", func() bool { return s.count("/telemetry/room") > n })
}

// A device saved while the daemon shuts down is neither built nor closed
// twice: it waits for the next start, and the page says so.
func TestApplyDevicesAfterShutdown(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	base := fmt.Sprintf("site: s\ngateway: g\nstate_dir: %s\nuplink: {broker: %q}\ndevices:\n  - {id: room, driver: sim, kind: room, interval: 1s, sim: {scenario: room}}\n", dir, mq.URL())
	g, stop := start(t, load(t, dir, base))
	stop()
	a := g.Apply(context.Background(), load(t, dir, base+"  - {id: lab, driver: sim, kind: room, interval: 1s, sim: {scenario: room}}\n"))
	if !slices.Contains(a.Restart, "devices") || slices.Contains(a.Live, "devices") {
		t.Fatalf("applied after shutdown: %+v, want devices after the restart", a)
	}
	if _, ok := deviceByID(g, "lab"); ok {
		t.Fatal("a device was built after the gateway closed its drivers")
	}
}
