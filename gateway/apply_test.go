package gateway

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// Edits saved on the web page reach a running gateway: a lower fridge
// limit raises the alarm at the next readings, a removed rule clears its
// alarm at once (and the provider hears of it), and a new broker is
// reported as waiting for the restart.
func TestApplyLive(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	s := subscribeAll(t, mq.URL())
	base := func(broker, rest string) string {
		return fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
devices:
  - {id: fridge, driver: sim, kind: fridge, interval: 1s, sim: {scenario: fridge}}
  - {id: room, driver: sim, kind: room, interval: 1s, sim: {scenario: room}}
%s`, dir, broker, rest)
	}
	cfg := load(t, dir, base(mq.URL(), "fridge: {delay: 1s}\n"))
	g, stop := start(t, cfg)
	defer stop()
	waitFor(t, "fridge readings", func() bool { return s.count("/telemetry/fridge") >= 2 })
	if a := g.Alarms(); len(a) != 0 {
		t.Fatalf("alarms before any edit: %+v", a)
	}

	steps := []struct {
		name          string
		yaml          string
		live, restart []string
	}{
		{"fridge band below the temperature", base(mq.URL(), "fridge: {delay: 1s, high: 4}\n"), []string{"fridge"}, []string{config.SectionColdChain}},
		{"same again", base(mq.URL(), "fridge: {delay: 1s, high: 4}\n"), nil, []string{config.SectionColdChain}},
		{"own rule replaces the band", base(mq.URL(), "fridge: {delay: 1s}\nalarms:\n  - {device: fridge, metric: temperature, below: 1}\n"), []string{"alarms", "fridge"}, nil},
		{"new broker", base("tls://mqtt.example.com:8883", "fridge: {delay: 1s}\nalarms:\n  - {device: fridge, metric: temperature, below: 1}\n"), nil, []string{"uplink"}},
	}
	for i, st := range steps {
		a := g.Apply(context.Background(), load(t, dir, st.yaml))
		if !slices.Equal(a.Live, st.live) || !slices.Equal(a.Restart, st.restart) {
			t.Fatalf("%s: applied %+v, want live %v restart %v", st.name, a, st.live, st.restart)
		}
		switch i {
		case 0:
			waitFor(t, "alarm raised by the lowered limit", func() bool {
				al := g.Alarms()
				return len(al) == 1 && al[0].ID == "fridge/temperature.above"
			})
			waitFor(t, "alarm.raised at the broker", func() bool { return s.count("/event/fridge", `"type":"alarm.raised"`) == 1 })
			if fp := g.Config().Fridge.Effective(); *fp.High != 4 {
				t.Fatalf("fridge band in effect %v–%v, want the new high 4", *fp.Low, *fp.High)
			}
		case 2:
			// Cleared by Apply itself, not by a reading.
			if al := g.Alarms(); len(al) != 0 {
				t.Fatalf("alarm of the removed rule still active: %+v", al)
			}
			waitFor(t, "alarm.cleared with its reason at the broker", func() bool {
				return s.count("/event/fridge", `"type":"alarm.cleared"`, `"reason":"rule removed"`) == 1
			})
			waitFor(t, "retained alarms emptied", func() bool { return s.count("/alarms", `"alarms":[]`) >= 1 })
			if r := g.Config().Alarms; len(r) != 1 || r[0].Below == nil {
				t.Fatalf("Config() alarms %+v", r)
			}
		case 3:
			if got := g.Config().Uplink.Broker; got != mq.URL() {
				t.Fatalf("Config() reports broker %q before the restart, runs with %q", got, mq.URL())
			}
		}
	}
	if n := s.count("/event/fridge", `"type":"alarm.raised"`); n != 1 {
		t.Fatalf("%d alarm.raised, want 1", n)
	}
}
