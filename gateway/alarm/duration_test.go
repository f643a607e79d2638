package alarm

import (
	"context"
	"io"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/mqttsensor"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// TestDurationByTime: a threshold's duration (for) passes with time, not
// with readings. A report-on-change sensor sends one reading above the
// limit and then nothing new; its driver keeps returning that reading with
// its own time. The alarm is raised at the Tick when the duration has
// passed, as long as that reading still holds. The clock is the Tick
// argument; nothing here waits.
func TestDurationByTime(t *testing.T) {
	rule := config.AlarmRule{Device: "fridge", Metric: "temperature", Above: f(8), For: 15 * time.Minute, Severity: drivers.Critical}
	stale := rule
	stale.StaleAfter = 10 * time.Minute
	temp := func(v float64) drivers.Metric { return drivers.Num("temperature", v, "°C") }
	// reading is the sensor's one report at 0, as its driver repeats it.
	reading := func(v float64) drivers.Sample { return metricSample("fridge", 0, temp(v)) }
	type step struct {
		at     time.Duration
		tick   bool
		sample *drivers.Sample
		failed bool
		want   []string
	}
	s := func(smp drivers.Sample) *drivers.Sample { return &smp }
	cases := []struct {
		name string
		rule config.AlarmRule
		// active: the threshold alarm is active at the end, since the
		// report.
		active bool
		steps  []step
	}{
		{"one report above the limit raises when the duration has passed", rule, true, []step{
			{at: 0, sample: s(reading(9))},
			{at: 5 * time.Minute, sample: s(reading(9))},
			{at: 14 * time.Minute, tick: true},
			{at: 14*time.Minute + 59*time.Second, tick: true},
			{at: 15 * time.Minute, tick: true, want: []string{Raised}},
			{at: 16 * time.Minute, sample: s(reading(9))},
			{at: 17 * time.Minute, tick: true},
		}},
		{"a reading back below the limit stops the duration", rule, false, []step{
			{at: 0, sample: s(reading(9))},
			{at: 5 * time.Minute, sample: s(metricSample("fridge", 5*time.Minute, temp(7)))},
			{at: 20 * time.Minute, tick: true},
		}},
		{"a reading withheld (stale in the driver) no longer holds", rule, true, []step{
			{at: 0, sample: s(reading(9))},
			{at: 10 * time.Minute, sample: s(metricSample("fridge", 10*time.Minute))},
			{at: 20 * time.Minute, tick: true},
			{at: 21 * time.Minute, sample: s(reading(9))},
			{at: 22 * time.Minute, tick: true, want: []string{Raised}},
		}},
		{"a failed poll holds nothing until the device answers", rule, true, []step{
			{at: 0, sample: s(reading(9))},
			{at: 10 * time.Minute, sample: s(metricSample("fridge", 10*time.Minute)), failed: true},
			{at: 20 * time.Minute, tick: true},
			{at: 21 * time.Minute, sample: s(reading(9))},
			{at: 22 * time.Minute, tick: true, want: []string{Raised}},
		}},
		{"a reading older than stale_after does not complete the duration", stale, false, []step{
			{at: 0, sample: s(reading(9))},
			{at: 9 * time.Minute, tick: true},
			{at: 15 * time.Minute, tick: true, want: []string{Raised}}, // the stale alarm
			{at: 16 * time.Minute, tick: true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New([]config.AlarmRule{c.rule}, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range c.steps {
				var evs []drivers.Event
				if st.tick {
					evs = e.Tick(t0.Add(st.at))
				} else {
					evs = e.Observe(*st.sample, st.failed)
				}
				var got []string
				for _, ev := range evs {
					got = append(got, ev.Type)
				}
				if len(got) != len(st.want) {
					t.Fatalf("step %d (%v): events %+v, want %v", i, st.at, evs, st.want)
				}
				for j := range got {
					if got[j] != st.want[j] {
						t.Fatalf("step %d: events %v, want %v", i, got, st.want)
					}
				}
			}
			if c.active {
				act := e.Active()
				if len(act) != 1 || act[0].ID != "fridge/temperature.above" || !act[0].Since.Equal(t0) || act[0].Severity != drivers.Critical {
					t.Fatalf("active = %+v", act)
				}
			}
		})
	}
	// The stale case raised the offline alarm, not the threshold.
	e, _ := New([]config.AlarmRule{stale}, "", nil)
	e.Observe(reading(9), false)
	for _, ev := range e.Tick(t0.Add(15 * time.Minute)) {
		if ev.Attrs["alarm"] != "fridge/temperature.stale" {
			t.Fatalf("raised %v on a stale reading", ev.Attrs["alarm"])
		}
	}
}

// TestRepeatedReadingDoesNotClearStale: a driver that returns its last
// reading with the reading's own time does not tell the engine anything
// new; the offline alarm is raised once and stays, instead of being raised
// and cleared at every poll. A new reading clears it at its own time.
func TestRepeatedReadingDoesNotClearStale(t *testing.T) {
	rule := config.AlarmRule{Device: "fridge", Metric: "temperature", Above: f(8), StaleAfter: 5 * time.Second}
	e, err := New([]config.AlarmRule{rule}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	old := metricSample("fridge", 0, drivers.Num("temperature", 5, "°C"))
	var evs []drivers.Event
	for sec := 0; sec <= 20; sec++ {
		evs = append(evs, e.Observe(old, false)...)
		evs = append(evs, e.Tick(t0.Add(time.Duration(sec)*time.Second))...)
	}
	if len(evs) != 1 || evs[0].Type != Raised {
		t.Fatalf("events over 20 s of one repeated reading: %+v", evs)
	}
	fresh := metricSample("fridge", 21*time.Second, drivers.Num("temperature", 5, "°C"))
	evs = e.Observe(fresh, false)
	if len(evs) != 1 || evs[0].Type != Cleared || !evs[0].Time.Equal(fresh.Time) {
		t.Fatalf("new reading: %+v", evs)
	}
}

// TestSilentMQTTSensorAgainstMosquitto plays the silent sensor with the
// real driver and a real Mosquitto: one Tasmota reading, then silence. The
// driver keeps returning that reading (its own stale_after is 30 minutes);
// the alarm rule's stale_after is 5 s. Polled and ticked every second for
// 20 s on the engine's clock, the offline alarm is raised once and not
// cleared; it used to flap at every poll. The next reading clears it, with
// that reading's time.
func TestSilentMQTTSensorAgainstMosquitto(t *testing.T) {
	broker := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	drv, err := mqttsensor.New(drivers.Device{ID: "fridge"}, mqttsensor.Config{Broker: broker.URL(), Source: "tasmota",
		Topic: "tasmota_fridge", BaseTopic: "zigbee2mqtt", StaleAfter: 30 * time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer drv.(io.Closer).Close()
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL()).SetClientID("alarm-test-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(50)
	payload := []byte(`{"Time":"2026-12-06T20:00:00","DS18B20":{"Id":"3C01D607C2F4","Temperature":4.8},"TempUnit":"C"}`)
	poll := func() drivers.Sample {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := drv.Poll(ctx)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		s.Device = "fridge"
		return s
	}
	// waitReading publishes one reading and polls until the driver has
	// it. The first is retained, so it arrives however late the driver's
	// subscription is in place; once it has arrived the subscription is.
	waitReading := func(after time.Time, retained bool) drivers.Sample {
		t.Helper()
		if tok := pub.Publish("tele/tasmota_fridge/SENSOR", 1, retained, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
		for range 200 {
			if s := poll(); len(s.Metrics) > 0 && s.Time.After(after) {
				return s
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("no reading from the broker within 10 s")
		return drivers.Sample{}
	}
	rule := config.AlarmRule{Device: "fridge", Metric: "temperature", Above: f(8), StaleAfter: 5 * time.Second}
	e, err := New([]config.AlarmRule{rule}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	first := waitReading(time.Time{}, true)
	var evs []drivers.Event
	for sec := 0; sec <= 20; sec++ {
		s := poll()
		if !s.Time.Equal(first.Time) {
			t.Fatalf("the silent sensor's reading changed time: %v, was %v", s.Time, first.Time)
		}
		evs = append(evs, e.Observe(s, false)...)
		evs = append(evs, e.Tick(first.Time.Add(time.Duration(sec)*time.Second))...)
	}
	if len(evs) != 1 || evs[0].Type != Raised || evs[0].Attrs["alarm"] != "fridge/temperature.stale" {
		t.Fatalf("events over 20 s of silence: %+v", evs)
	}
	next := waitReading(first.Time, false)
	evs = e.Observe(next, false)
	if len(evs) != 1 || evs[0].Type != Cleared || !evs[0].Time.Equal(next.Time) {
		t.Fatalf("events for the next reading: %+v", evs)
	}
}
