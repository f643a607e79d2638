package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/notify"
)

// engineCore acknowledges in the real alarm engine and hands the engine's
// events back to the notifier, as the gateway's Subscribe will.
type engineCore struct {
	core
	e *alarm.Engine
	n *notify.Notifier
}

func (c *engineCore) AckAlarm(_ context.Context, id, by string) error {
	ev, err := c.e.Ack(id, by, time.Date(2026, 12, 4, 12, 5, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	c.Emit(context.Background(), []drivers.Event{ev})
	c.n.Observe(ev)
	return nil
}

// TestWithAlarmEngine reads the events of the real alarm engine rather
// than hand-made ones: the attributes the texts use (alarm, metric,
// value, limit, since) and the id an SMS acknowledgement hands back.
func TestWithAlarmEngine(t *testing.T) {
	limit := 8.0
	e, err := alarm.NewEngine(alarm.Options{Rules: []config.AlarmRule{
		{Device: "kuehlschrank-impf", Metric: "temperature", Above: &limit, Severity: drivers.Critical},
	}})
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	s := &fakeSender{}
	c := &engineCore{core: core{up: false}, e: e}
	n, err := notify.New(baseConfig(), c, s, notify.Options{Now: clk.Now, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	c.n = n
	n.Step(context.Background())
	clk.Add(2 * time.Minute)
	evs := e.Observe(drivers.Sample{Device: "kuehlschrank-impf", Kind: "fridge", Time: clk.Now().Add(-time.Minute),
		Metrics: []drivers.Metric{drivers.Num("temperature", 9.14, "°C")}}, false)
	if len(evs) != 1 || evs[0].Type != alarm.Raised {
		t.Fatalf("engine events %+v", evs)
	}
	n.Observe(evs[0])
	n.Step(context.Background())
	if s.count() != 1 || !strings.Contains(s.sms[0], "kuehlschrank-impf: Temperatur 9,1 über Grenze 8. Seit 12:01.") {
		t.Fatalf("SMS %q", s.sms)
	}
	code := codeRE.FindStringSubmatch(s.sms[0])
	n.HandleSMS(context.Background(), numA, "OK "+code[1])
	act := e.Active()
	if len(act) != 1 || !act[0].Acked || act[0].AckedBy != "sms:Praxis" {
		t.Fatalf("engine's alarm after the SMS ack: %+v", act)
	}
	if acked := c.ofType(alarm.Acked); len(acked) != 1 || acked[0].Attrs["by"] != "sms:Praxis" {
		t.Errorf("alarm.acked for the provider: %+v", acked)
	}
	step(n, clk, time.Hour, time.Minute)
	if s.count() != 1 {
		t.Errorf("%d SMS after the ack", s.count())
	}
}
