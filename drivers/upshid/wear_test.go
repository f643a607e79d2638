package upshid

import (
	"testing"
	"time"
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
