package alarm

import (
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

const vpnDown = "konnektor.ec_no_vpn_ti_connection"

// vpnSample is a connector poll, with the VPN-down condition when down.
func vpnSample(at time.Duration, down bool) drivers.Sample {
	s := drivers.Sample{Device: "tik", Time: t0.Add(at), Metrics: []drivers.Metric{drivers.Flag("vpn.ti.online", !down)}}
	if down {
		s.Conditions = []drivers.Condition{{Name: vpnDown, Severity: drivers.Critical, Message: "Connector error state EC_No_VPN_TI_Connection.", ViaInternet: true},
			// A condition not marked ViaInternet is never held back.
			{Name: "konnektor.ec_tsl_expiring", Severity: drivers.Info, Message: "TSL expiring"}}
	}
	return s
}

func selfSample(at time.Duration, uplinkUp bool) drivers.Sample {
	return drivers.Sample{Device: "gateway", Time: t0.Add(at), Metrics: []drivers.Metric{drivers.Flag("uplink.connected", uplinkUp)}}
}

// TestVPNDownAsConsequence: a connector's VPN-down condition is held back
// while the UPS it hangs on is on battery, its router does not answer, or
// the box's own uplink is down; raised after the patience when it
// outlasts its cause; raised at once without a cause.
func TestVPNDownAsConsequence(t *testing.T) {
	devices := []config.Device{
		{ID: "usv", Interval: 5 * time.Second, UnreachableAfter: 1},
		{ID: "router", PoweredBy: "usv", Interval: 10 * time.Second, UnreachableAfter: 1},
		// Patience: 2 × 10 s.
		{ID: "tik", PoweredBy: "usv", Router: "router", Interval: 10 * time.Second, UnreachableAfter: 2},
	}
	routerOK := func(at time.Duration) drivers.Sample {
		return drivers.Sample{Device: "router", Time: t0.Add(at), Metrics: []drivers.Metric{drivers.Num("device.reachable", 1, "")}}
	}
	type step struct {
		s      drivers.Sample
		failed bool
		// want lists the event types with the alarm they concern.
		want []string
		// after is the after_cause a raised VPN alarm must carry.
		after string
	}
	ev := func(typ, id string) string { return typ + " " + id }
	vpnID := "tik/" + vpnDown
	tslID := "tik/konnektor.ec_tsl_expiring"
	cases := []struct {
		name  string
		steps []step
		cause string // the cause the suppressed event must name
	}{
		{"without a cause VPN down raises and clears", []step{
			{selfSample(0, true), false, nil, ""},
			{vpnSample(10*time.Second, true), false, []string{ev(Raised, vpnID), ev(Raised, tslID)}, ""},
			{vpnSample(20*time.Second, false), false, []string{ev(Cleared, vpnID), ev(Cleared, tslID)}, ""},
		}, ""},
		{"UPS on battery holds it back; back with the mains, released", []step{
			{upsSample(0, true), false, []string{ev(Raised, "usv/"+OnBattery)}, ""},
			{vpnSample(10*time.Second, true), false, []string{ev(Suppressed, vpnID), ev(Raised, tslID)}, ""},
			{vpnSample(20*time.Second, true), false, nil, ""},
			{upsSample(25*time.Second, false), false, []string{ev(Cleared, "usv/"+OnBattery)}, ""},
			{vpnSample(30*time.Second, false), false, []string{ev(Cleared, tslID)}, ""},
			// Released: a later VPN loss without a cause is a cause.
			{vpnSample(100*time.Second, true), false, []string{ev(Raised, vpnID), ev(Raised, tslID)}, ""},
		}, "usv/" + OnBattery},
		{"router unreachable holds it back; outlasting the patience raises it", []step{
			{unreachableSample("router", 0, true), true, []string{ev(Raised, "router/device.unreachable")}, ""},
			{vpnSample(10*time.Second, true), false, []string{ev(Suppressed, vpnID), ev(Raised, tslID)}, ""},
			{routerOK(15 * time.Second), false, []string{ev(Cleared, "router/device.unreachable")}, ""},
			{vpnSample(20*time.Second, true), false, nil, ""}, // patience starts
			{vpnSample(30*time.Second, true), false, nil, ""},
			{vpnSample(40*time.Second, true), false, []string{ev(Raised, vpnID)}, "router/device.unreachable"},
			{vpnSample(50*time.Second, false), false, []string{ev(Cleared, vpnID), ev(Cleared, tslID)}, ""},
		}, "router/device.unreachable"},
		{"router held back by the UPS names the UPS", []step{
			{upsSample(0, true), false, []string{ev(Raised, "usv/"+OnBattery)}, ""},
			{unreachableSample("router", 5*time.Second, true), true, []string{ev(Suppressed, "router/device.unreachable")}, ""},
			{vpnSample(10*time.Second, true), false, []string{ev(Suppressed, vpnID), ev(Raised, tslID)}, ""},
		}, "usv/" + OnBattery},
		{"the box's uplink not yet connected since the start is no cause", []step{
			{selfSample(0, false), false, nil, ""},
			{vpnSample(10*time.Second, true), false, []string{ev(Raised, vpnID), ev(Raised, tslID)}, ""},
		}, ""},
		{"the box's uplink down holds it back; up again, patience, raised", []step{
			{selfSample(0, true), false, nil, ""},
			{selfSample(5*time.Second, false), false, nil, ""},
			{vpnSample(10*time.Second, true), false, []string{ev(Suppressed, vpnID), ev(Raised, tslID)}, ""},
			{selfSample(15*time.Second, false), false, nil, ""},
			{vpnSample(20*time.Second, true), false, nil, ""},
			{selfSample(25*time.Second, true), false, nil, ""},
			{vpnSample(30*time.Second, true), false, nil, ""},
			{selfSample(35*time.Second, false), false, nil, ""}, // down again: patience starts over
			{vpnSample(40*time.Second, true), false, nil, ""},
			{selfSample(45*time.Second, true), false, nil, ""},
			{vpnSample(50*time.Second, true), false, nil, ""},
			{vpnSample(60*time.Second, true), false, nil, ""},
			{vpnSample(70*time.Second, true), false, []string{ev(Raised, vpnID)}, UplinkDownCause},
		}, UplinkDownCause},
		{"raised before its cause, it stays raised", []step{
			{vpnSample(0, true), false, []string{ev(Raised, vpnID), ev(Raised, tslID)}, ""},
			{upsSample(5*time.Second, true), false, []string{ev(Raised, "usv/"+OnBattery)}, ""},
			{vpnSample(10*time.Second, true), false, nil, ""},
			{vpnSample(20*time.Second, false), false, []string{ev(Cleared, vpnID), ev(Cleared, tslID)}, ""},
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewEngine(Options{Devices: devices})
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range c.steps {
				evs := e.Observe(st.s, st.failed)
				var got []string
				for _, x := range evs {
					got = append(got, ev(x.Type, x.Attrs["alarm"].(string)))
					if x.Type == Suppressed && x.Attrs["alarm"] == vpnID {
						if x.Attrs["cause"] != c.cause || x.Attrs["condition"] != vpnDown || x.Severity != drivers.Info ||
							x.Message != "tik: Connector error state EC_No_VPN_TI_Connection; held back as a consequence of "+c.cause {
							t.Fatalf("step %d: suppressed %+v, want cause %s", i, x, c.cause)
						}
					}
					if after, _ := x.Attrs["after_cause"].(string); x.Type == Raised && x.Attrs["alarm"] == vpnID && after != st.after {
						t.Fatalf("step %d: raised with after_cause %q, want %q", i, after, st.after)
					}
				}
				if len(got) != len(st.want) {
					t.Fatalf("step %d (%s at %s): events %v, want %v", i, st.s.Device, st.s.Time.Sub(t0), got, st.want)
				}
				for j := range got {
					if got[j] != st.want[j] {
						t.Fatalf("step %d (%s at %s): events %v, want %v", i, st.s.Device, st.s.Time.Sub(t0), got, st.want)
					}
				}
				if _, held := e.heldConds[vpnID]; held {
					for _, a := range e.Active() {
						if a.ID == vpnID {
							t.Fatalf("step %d: held-back condition in the active set", i)
						}
					}
				}
			}
		})
	}
}

// TestHeldConditionForgottenWithDevice: removing the device drops its held
// conditions, so a re-added device starts clean.
func TestHeldConditionForgottenWithDevice(t *testing.T) {
	devs := []config.Device{{ID: "usv"}, {ID: "tik", PoweredBy: "usv", Interval: time.Second, UnreachableAfter: 1}}
	e, err := NewEngine(Options{Devices: devs})
	if err != nil {
		t.Fatal(err)
	}
	e.Observe(upsSample(0, true), false)
	if got := types(e.Observe(vpnSample(time.Second, true), false)); len(got) == 0 || got[0] != Suppressed {
		t.Fatalf("events %v, want suppressed first", got)
	}
	e.SetDevices(devs[:1], t0.Add(2*time.Second))
	if len(e.heldConds) != 0 {
		t.Fatalf("held conditions of a removed device: %v", e.heldConds)
	}
}
