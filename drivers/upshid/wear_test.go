package upshid

import (
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
	"github.com/praxisgate/praxisgate/drivers/upshid/upshidsim"
)

// TestWearTrend feeds readings of a unit whose runtime at 20 % load falls
// from 3000 s to 1200 s: the ratio follows, the condition appears below the
// threshold, and the history survives a restart (state directory).
func TestWearTrend(t *testing.T) {
	m := NewMap(loadDescriptor(t, "eaton-3s-700"))
	dir := t.TempDir()
	w := &wear{ratio: 0.5, dir: dir, log: discard()}
	st := m.NewState()
	set := func(runtime, load int64) {
		st.Set("battery.runtime", runtime)
		st.Set("ups.load", load)
		st.Set("battery.charge", 100)
		st.Set("flag.ACPresent", 1)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 60; i++ {
		set(3000, 20)
		if _, ok := w.observe(st, st.Flags(), now); ok {
			t.Fatal("condition on a healthy battery")
		}
	}
	if r, ok := w.ratioNow(); !ok || r < 0.99 {
		t.Fatalf("healthy ratio %v %v", r, ok)
	}
	// On battery or at low load nothing is learnt.
	st.Set("flag.ACPresent", 0)
	st.Set("flag.Discharging", 1)
	st.Set("battery.runtime", 10)
	w.observe(st, st.Flags(), now)
	st.Set("flag.Discharging", 0)
	if r, _ := w.ratioNow(); r < 0.99 {
		t.Fatalf("an outage counted as wear: %v", r)
	}
	var got bool
	for i := 0; i < 200 && !got; i++ {
		set(1200, 20)
		c, ok := w.observe(st, st.Flags(), now)
		if ok && c.Name == "ups.battery_worn" {
			got = true
		}
	}
	if !got {
		r, _ := w.ratioNow()
		t.Fatalf("no wear condition at 40 %% of the best (ratio %v)", r)
	}
	if err := w.save(); err != nil {
		t.Fatal(err)
	}
	w2 := &wear{ratio: 0.5, dir: dir, log: discard()}
	w2.load()
	if r, ok := w2.ratioNow(); !ok || r >= 0.5 {
		t.Errorf("history after restart: %v %v", r, ok)
	}
	off := &wear{ratio: 0, log: discard()}
	if _, ok := off.observe(st, st.Flags(), now); ok {
		t.Error("wear_ratio 0 still warns")
	}
}

// TestBatteryAge: the age comes from the battery's date; APC's unset
// 2001-01-01 gives none.
func TestBatteryAge(t *testing.T) {
	bus := newBus(t)
	u := simUPS(t, "apc-back-ups-bx1600mi", "AGE1")
	bus.Attach(u)
	d := newTestDriver(t, bus, Config{})
	d.now = func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) }
	s := pollOK(t, d)
	if metricOf(s, "battery.date") != "2001-01-01" || metricOf(s, "battery.age") != nil {
		t.Errorf("unset date: battery.date %v, battery.age %v", metricOf(s, "battery.date"), metricOf(s, "battery.age"))
	}
	// 2023-05-10 in the Battery System date format.
	if err := u.Set(hidreport.Usage(0x00850085), 43<<9|5<<5|10); err != nil {
		t.Fatal(err)
	}
	s = pollOK(t, d)
	if metricOf(s, "battery.date") != "2023-05-10" || metricOf(s, "battery.age") != 1307.0 {
		t.Errorf("battery.date %v, battery.age %v (want 2023-05-10, 1307 d)", metricOf(s, "battery.date"), metricOf(s, "battery.age"))
	}
}

// TestWearThroughPolls: the runtime at the same load falls from 3320 s to
// 1000 s over the polls; the ratio follows and ups.battery_worn appears
// in the polled sample, and in the sample an interrupt report pushes.
func TestWearThroughPolls(t *testing.T) {
	bus := newBus(t)
	u := simUPS(t, "apc-back-ups-bx1600mi", "WEAR1")
	bus.Attach(u)
	d := newTestDriver(t, bus, Config{})
	for i := 0; i < wearMinSamples; i++ {
		if s := pollOK(t, d); hasCondition(s, "ups.battery_worn") {
			t.Fatal("worn on the first readings")
		}
	}
	if r := metricOf(pollOK(t, d), "battery.runtime.ratio"); r != 1.0 {
		t.Fatalf("ratio of a steady battery %v", r)
	}
	if err := u.Set(upshidsim.RunTimeToEmpty, 1000); err != nil {
		t.Fatal(err)
	}
	worn := 0
	var s drivers.Sample
	for i := 0; i < 100 && worn == 0; i++ {
		s = pollOK(t, d)
		if hasCondition(s, "ups.battery_worn") {
			worn = i + 1
		}
	}
	if worn == 0 {
		t.Fatalf("no ups.battery_worn at 30 %% of the best runtime; ratio %v", metricOf(s, "battery.runtime.ratio"))
	}
	if r, _ := metricOf(s, "battery.runtime.ratio").(float64); r >= 0.5 || r < 0.3 {
		t.Errorf("ratio when worn %v", r)
	}
	d.mu.Lock()
	pushed := d.pushSampleLocked()
	d.mu.Unlock()
	if !hasCondition(pushed, "ups.battery_worn") {
		t.Errorf("a pushed reading drops the wear condition (the alarm would clear): %v", pushed.Conditions)
	}
}
