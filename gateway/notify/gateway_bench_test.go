package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/internal/gwtest"
	"github.com/praxisgate/praxisgate/gateway/notify"
	"github.com/praxisgate/praxisgate/gateway/notify/modemsim"
)

// gwCore is a running gateway as the notifier sees it, wired as
// cmd/praxisgate wires it: OnEvent feeds Subscribe.
type gwCore struct {
	g    *gateway.Gateway
	mu   sync.Mutex
	subs []func(drivers.Event)
}

func newGWCore(g *gateway.Gateway) *gwCore {
	c := &gwCore{g: g}
	g.OnEvent(func(e drivers.Event) {
		c.mu.Lock()
		fs := slices.Clone(c.subs)
		c.mu.Unlock()
		for _, f := range fs {
			f(e)
		}
	})
	return c
}

func (c *gwCore) UplinkConnected() bool { return c.g.Stats().Uplink.Connected }
func (c *gwCore) AckAlarm(ctx context.Context, id, by string) error {
	return c.g.AckAlarm(ctx, id, by)
}
func (c *gwCore) Emit(ctx context.Context, evs []drivers.Event) { c.g.Emit(ctx, evs...) }
func (c *gwCore) Alarms() []alarm.Alarm                         { return c.g.Alarms() }
func (c *gwCore) Subscribe(f func(drivers.Event)) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs = append(c.subs, f)
	return func() {}
}

// tripSource is a device whose critical condition the benchmark switches
// on and off; it notes when a poll first carried the condition, which is
// when the alarm engine raises the alarm.
type tripSource struct {
	on     atomic.Bool
	mu     sync.Mutex
	raised time.Time
}

func (s *tripSource) Poll(context.Context) (drivers.Sample, error) {
	var smp drivers.Sample
	if s.on.Load() {
		smp.Conditions = []drivers.Condition{{Name: "kuehlung.ausgefallen", Severity: drivers.Critical, Message: "cooling failed"}}
		s.mu.Lock()
		if s.raised.IsZero() {
			s.raised = time.Now()
		}
		s.mu.Unlock()
	}
	smp.Metrics = []drivers.Metric{drivers.Flag("kuehlung.ok", !s.on.Load())}
	return smp, nil
}

func (s *tripSource) trip() { s.mu.Lock(); s.raised = time.Time{}; s.mu.Unlock(); s.on.Store(true) }
func (s *tripSource) raisedAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raised
}

// BenchmarkAlarmToSMSThroughGateway: the whole path in the box, with the
// uplink down: a device's poll carries a critical condition, the
// gateway's alarm engine raises the alarm, the event reaches the notifier
// through OnEvent (as the daemon wires it), and the modem (modemsim on a
// pty) accepts the SMS. Measured from the poll that raised the alarm to
// +CMGS answered. Target ≤ 5 s.
func BenchmarkAlarmToSMSThroughGateway(b *testing.B) {
	// The gateway logs to the default logger; keep the figures readable.
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	b.Cleanup(func() { slog.SetDefault(prev) })
	sim, err := modemsim.New(modemsim.Options{})
	if err != nil {
		b.Fatalf("modemsim: %v", err)
	}
	b.Cleanup(func() { sim.Close() })
	dir := b.TempDir()
	cfg := gwtest.Load(b, dir, fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: "tcp://127.0.0.1:1"}
notify:
  modem: {port: %s, health_interval: 5s}
  contacts: [{name: Praxis, number: %q}]
  chains: {critical: {contacts: [Praxis], delay: 1h, repeat: false}}
  sms_per_hour: 1000000
  uplink_down_after: 0s
`, dir, sim.Path(), numA))
	g := gwtest.New(b, cfg, "bench")
	core := newGWCore(g)
	src := &tripSource{}
	if err := g.AddSource(gateway.Source{ID: "kuehlraum", Kind: "fridge", Driver: src, Interval: 200 * time.Millisecond}); err != nil {
		b.Fatal(err)
	}
	stop := gwtest.Run(b, g)
	svc, err := notify.Start(context.Background(), *cfg.Notify, core, notify.Options{Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close(); stop() })
	deadline := time.Now().Add(30 * time.Second)
	for h := svc.Modem.Health(); !(h.Responding && h.SIM == "READY" && h.Reg == "home"); h = svc.Modem.Health() {
		if time.Now().After(deadline) {
			b.Fatal("modem not ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var worst, total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := len(sim.Submits())
		src.trip()
		t0 := time.Now()
		for len(sim.Submits()) == before {
			if time.Since(t0) > 60*time.Second {
				b.Fatal("no SMS within 60 s of the alarm")
			}
			time.Sleep(time.Millisecond)
		}
		d := sim.Submits()[before].At.Sub(src.raisedAt())
		total += d
		worst = max(worst, d)
		src.on.Store(false)
		for t1 := time.Now(); len(svc.Notifier.Pending()) > 0 || len(g.Alarms()) > 0; {
			if time.Since(t1) > 60*time.Second {
				b.Fatal("alarm not cleared")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/alarm-to-submit")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-worst")
	b.ReportMetric(5000, "ms-target")
}

var _ notify.Core = (*gwCore)(nil)
