package alarm

import (
	"slices"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

func TestSetDevices(t *testing.T) {
	hot := config.AlarmRule{Device: "*", Metric: "temperature", Above: f(8), Severity: drivers.Major}
	unreachable := func(dev string) drivers.Sample {
		return drivers.Sample{Device: dev, Time: t0, Events: []drivers.Event{{Device: dev, Type: UnreachableEvent, Severity: drivers.Major,
			Message: dev + " does not answer", Attrs: map[string]any{"failures": 3}}}}
	}
	both := []config.Device{{ID: "a", Interval: time.Second}, {ID: "b", Interval: time.Second}}
	cases := []struct {
		name    string
		next    []config.Device
		cleared []string // alarm ids cleared, sorted
		remain  []string // alarm ids still active, sorted
	}{
		{"same devices", both, nil, []string{"a/temperature.above", "b/device.unreachable"}},
		{"interval changed", []config.Device{{ID: "a", Interval: time.Minute}, {ID: "b", Interval: time.Second}}, nil, []string{"a/temperature.above", "b/device.unreachable"}},
		{"a removed", []config.Device{{ID: "b"}}, []string{"a/temperature.above"}, []string{"b/device.unreachable"}},
		{"b disabled", []config.Device{{ID: "a"}, {ID: "b", Disabled: true}}, []string{"b/device.unreachable"}, []string{"a/temperature.above"}},
		{"all gone", nil, []string{"a/temperature.above", "b/device.unreachable"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEngine(Options{Rules: []config.AlarmRule{hot}, Devices: both})
			if err != nil {
				t.Fatal(err)
			}
			e.Observe(metricSample("a", 0, drivers.Num("temperature", 9, "°C")), false)
			e.Observe(unreachable("b"), true)
			e.Observe(metricSample(SelfDevice(), 0, drivers.Num("temperature", 9, "°C")), false)
			v := e.Version()

			evs := e.SetDevices(tc.next, t0.Add(time.Minute))
			var cleared []string
			for _, ev := range evs {
				if ev.Type != Cleared || ev.Attrs["reason"] != DeviceRemoved {
					t.Fatalf("event %+v, want alarm.cleared with reason %q", ev, DeviceRemoved)
				}
				cleared = append(cleared, ev.Attrs["alarm"].(string))
			}
			var remain []string
			for _, a := range e.Active() {
				if a.Device != SelfDevice() {
					remain = append(remain, a.ID)
				}
			}
			slices.Sort(remain)
			if !slices.Equal(cleared, tc.cleared) || !slices.Equal(remain, tc.remain) {
				t.Fatalf("cleared %v remain %v, want cleared %v remain %v", cleared, remain, tc.cleared, tc.remain)
			}
			if changed := e.Version() != v; changed != (len(tc.cleared) > 0) {
				t.Fatalf("version changed %v with %d alarms cleared", changed, len(tc.cleared))
			}
			// The box itself is no configured device and keeps its alarm.
			if n := len(e.Active()) - len(remain); n != 1 {
				t.Fatalf("%d alarms of the box itself, want 1", n)
			}
			if again := e.SetDevices(tc.next, t0.Add(2*time.Minute)); len(again) != 0 {
				t.Fatalf("the same devices again cleared %+v", again)
			}
		})
	}
}

// SelfDevice is the box's own id in the gateway; the engine does not know it.
func SelfDevice() string { return "gateway" }
