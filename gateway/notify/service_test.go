package notify_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/notify"
	"github.com/praxisgate/praxisgate/gateway/notify/modemsim"
)

// subCore adds the event feed to core, as the gateway's Subscribe will.
type subCore struct {
	core
	smu    sync.Mutex
	subs   []func(drivers.Event)
	active []alarm.Alarm
}

func (c *subCore) Alarms() []alarm.Alarm { return c.active }

func (c *subCore) Subscribe(f func(drivers.Event)) func() {
	c.smu.Lock()
	defer c.smu.Unlock()
	c.subs = append(c.subs, f)
	i := len(c.subs) - 1
	return func() { c.smu.Lock(); c.subs[i] = nil; c.smu.Unlock() }
}

func (c *subCore) publish(ev drivers.Event) {
	c.smu.Lock()
	defer c.smu.Unlock()
	for _, f := range c.subs {
		if f != nil {
			f(ev)
		}
	}
}

// TestServiceWiring runs Start as the daemon does: the real clock, the
// modem opened from the config, alarms through Subscribe, the reply
// through the modem, the test command with JSON arguments.
func TestServiceWiring(t *testing.T) {
	sim, err := modemsim.New(modemsim.Options{PIN: "4711"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cfg := baseConfig()
	cfg.Modem = config.NotifyModem{Port: sim.Path(), Baud: 115200, Mode: "pdu", PIN: "4711", HealthInterval: time.Second}
	ch := cfg.Chains["critical"]
	ch.When = "always"
	cfg.Chains["critical"] = ch
	v, lim := 2.1, 3.0
	c := &subCore{core: core{up: true}, active: []alarm.Alarm{
		{ID: "usv/battery.charge", Device: "usv", Severity: drivers.Critical, Metric: "battery.charge", Value: &v, Limit: &lim, Since: time.Now().Add(-time.Hour)},
		{ID: "old", Device: "x", Severity: drivers.Critical, Acked: true, Since: time.Now()},
	}}
	svc, err := notify.Start(context.Background(), cfg, c, notify.Options{Site: "praxis-a", Log: logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	waitFor(t, "modem ready", func() bool { return svc.Modem.Health().SIM == "READY" })

	waitFor(t, "SMS for the alarm active before the start", func() bool { return len(textsTo(sim, numA)) == 1 })
	if got := textsTo(sim, numA)[0]; !strings.Contains(got, "usv: USV-Akku 2,1 unter Grenze 3.") {
		t.Errorf("resumed alarm text %q", got)
	}
	c.publish(fridgeAlarm(time.Now()))
	waitFor(t, "alarm SMS", func() bool { return len(textsTo(sim, numA)) == 2 })
	code := codeRE.FindStringSubmatch(textsTo(sim, numA)[1])
	sim.Deliver(numA, "OK "+code[1], time.Now())
	waitFor(t, "ack", func() bool { return len(c.ofType(notify.EventAcked)) == 1 })

	res, err := svc.Notifier.TestEach(context.Background(), "Chefin")
	if err != nil || len(res) != 1 || res[0].Contact != "Chefin" || res[0].Err != nil || res[0].Parts != 1 {
		t.Fatalf("test to Chefin: %+v, %v", res, err)
	}
	if len(textsTo(sim, numB)) != 1 || len(textsTo(sim, numA)) != 2 {
		t.Errorf("test SMS not sent")
	}
	if _, err := svc.Notifier.TestEach(context.Background(), "x"); !errors.Is(err, notify.ErrNoContact) {
		t.Errorf("unknown contact: %v", err)
	}
	if got := svc.Notifier.Contacts(); strings.Join(got, ",") != "Praxis,Chefin" {
		t.Errorf("Contacts() = %v", got)
	}
	s, _ := svc.Modem.Poll(context.Background())
	if len(s.Conditions) != 0 {
		t.Errorf("healthy modem has conditions %+v", s.Conditions)
	}
}
