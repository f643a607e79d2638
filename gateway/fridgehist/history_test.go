package fridgehist

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	_ "github.com/praxisgate/praxisgate/drivers/sim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/internal/gwtest"
)

func fridgeSample(at time.Time, v float64) drivers.Sample {
	return drivers.Sample{Device: "fridge", Kind: config.FridgeKind, Time: at,
		Metrics: []drivers.Metric{drivers.Num("temperature", v, "°C"), drivers.Num("humidity", 40, "%")}}
}

func TestTempHistory(t *testing.T) {
	cfg := &config.Config{}
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		samples []drivers.Sample
		now     time.Time
		want    []TempPoint
	}{
		{"one point per minute, the one furthest from 5 °C",
			[]drivers.Sample{fridgeSample(t0, 5.2), fridgeSample(t0.Add(10*time.Second), 8.5), fridgeSample(t0.Add(50*time.Second), 5.1),
				fridgeSample(t0.Add(time.Minute), 4.9)},
			t0.Add(2 * time.Minute),
			[]TempPoint{{t0.Add(10 * time.Second), 8.5, 5.1, 8.5}, {t0.Add(time.Minute), 4.9, 4.9, 4.9}}},
		{"both extremes of a minute kept: a cold and a warm reading",
			[]drivers.Sample{fridgeSample(t0, 1.5), fridgeSample(t0.Add(20*time.Second), 12), fridgeSample(t0.Add(40*time.Second), 5)},
			t0.Add(time.Minute),
			[]TempPoint{{t0.Add(20 * time.Second), 12, 1.5, 12}}},
		{"other kinds and metrics ignored",
			[]drivers.Sample{{Device: "fridge", Kind: "room", Time: t0, Metrics: []drivers.Metric{drivers.Num("temperature", 21, "°C")}},
				{Device: "fridge", Kind: config.FridgeKind, Time: t0, Metrics: []drivers.Metric{drivers.Num("humidity", 40, "%")}}},
			t0.Add(time.Minute), nil},
		{"only the last 24 h",
			[]drivers.Sample{fridgeSample(t0, 5), fridgeSample(t0.Add(23*time.Hour), 6)},
			t0.Add(24*time.Hour + time.Minute),
			[]TempPoint{{t0.Add(23 * time.Hour), 6, 6, 6}}},
		{"clock stepped back: older reading skipped",
			[]drivers.Sample{fridgeSample(t0.Add(time.Hour), 5), fridgeSample(t0, 7)},
			t0.Add(2 * time.Hour),
			[]TempPoint{{t0.Add(time.Hour), 5, 5, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(func() *config.Config { return cfg })
			for _, s := range tt.samples {
				h.Observe(s)
			}
			got := h.Points("fridge", tt.now)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("points %v, want %v", got, tt.want)
			}
		})
	}
}

// Two days of readings every 30 s: the ring keeps exactly the last
// historyCap minutes, in order.
func TestTempHistoryBounded(t *testing.T) {
	h := New(func() *config.Config { return &config.Config{} })
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	end := t0.Add(48 * time.Hour)
	for at := t0; at.Before(end); at = at.Add(30 * time.Second) {
		h.Observe(fridgeSample(at, 5))
	}
	if n := h.rings["fridge"].n; n != historyCap {
		t.Fatalf("ring holds %d points, want %d", n, historyCap)
	}
	pts := h.Points("fridge", end)
	if len(pts) != historyCap-1 { // the oldest minute is exactly 24 h old
		t.Fatalf("%d points in the last 24 h, want %d", len(pts), historyCap-1)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].At.Sub(pts[i-1].At) != time.Minute {
			t.Fatalf("points %d and %d are %v apart", i-1, i, pts[i].At.Sub(pts[i-1].At))
		}
	}
}

// The sparkline follows the fridge profile in effect: a metric changed on
// the web page is drawn from the next reading on, not the one the daemon
// started with.
func TestTempHistoryFollowsLiveProfile(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	yaml := func(fridge string) string {
		return fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q}
devices:
  - {id: fridge, driver: sim, kind: fridge, interval: 1s, sim: {scenario: fridge}}
fridge: %s
`, dir, mq.URL(), fridge)
	}
	g := gwtest.New(t, gwtest.Load(t, dir, yaml("{metric: no.such.metric}")), "test")
	h := New(g.Config)
	g.OnSample(h.Observe)
	gwtest.Run(t, g)
	gwtest.WaitFor(t, "a fridge reading", func() bool {
		for _, l := range g.Latest() {
			if l.Sample.Device == "fridge" && l.Err == "" {
				return true
			}
		}
		return false
	})
	if pts := h.Points("fridge", time.Now()); len(pts) != 0 {
		t.Fatalf("points of a metric the fridge does not have: %v", pts)
	}
	g.Apply(context.Background(), gwtest.Load(t, dir, yaml("{metric: temperature}")))
	gwtest.WaitFor(t, "points of the metric applied live", func() bool { return len(h.Points("fridge", time.Now())) > 0 })
}
