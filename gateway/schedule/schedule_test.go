package schedule

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

type funcDriver func(ctx context.Context) (drivers.Sample, error)

func (f funcDriver) Poll(ctx context.Context) (drivers.Sample, error) { return f(ctx) }

type collector struct {
	mu  sync.Mutex
	res map[string][]Result
	ch  chan struct{}
}

func newCollector() *collector {
	return &collector{res: map[string][]Result{}, ch: make(chan struct{}, 1000)}
}

func (c *collector) handle(r Result) {
	c.mu.Lock()
	c.res[r.Sample.Device] = append(c.res[r.Sample.Device], r)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

func (c *collector) get(dev string) []Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Result(nil), c.res[dev]...)
}

// waitFor waits (bounded) until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ok(ctx context.Context) (drivers.Sample, error) {
	return drivers.Sample{Metrics: []drivers.Metric{drivers.Num("temperature", 5, "°C")}}, nil
}

func TestHangingDeviceDoesNotDelayOthers(t *testing.T) {
	c := newCollector()
	s := New(c.handle, nil, nil)
	release := make(chan struct{})
	var hangCalls atomic.Int32
	s.Add(Job{Device: "hang", Interval: 20 * time.Millisecond, Timeout: 10 * time.Millisecond, Driver: funcDriver(func(ctx context.Context) (drivers.Sample, error) {
		hangCalls.Add(1)
		<-release // ignores ctx on purpose
		return drivers.Sample{}, nil
	})})
	s.Add(Job{Device: "fast", Interval: 10 * time.Millisecond, Driver: funcDriver(ok)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()

	waitFor(t, "20 polls of the fast device", func() bool { return len(c.get("fast")) >= 20 })
	waitFor(t, "the hung poll to be reported", func() bool { return len(c.get("hang")) >= 1 })
	if n := hangCalls.Load(); n != 1 {
		t.Fatalf("hung device polled %d times while its first poll was still running", n)
	}
	r := c.get("hang")[0]
	if !errors.Is(r.Err, drivers.ErrUnreachable) {
		t.Fatalf("hung poll: err %v, want ErrUnreachable", r.Err)
	}
	close(release)
	waitFor(t, "the hung device to be polled again", func() bool { return hangCalls.Load() >= 2 })
	cancel()
	<-done
}

func TestNeverTwoPollsAtOnce(t *testing.T) {
	c := newCollector()
	s := New(c.handle, nil, nil)
	var inPoll, maxIn atomic.Int32
	slow := funcDriver(func(ctx context.Context) (drivers.Sample, error) {
		n := inPoll.Add(1)
		for {
			m := maxIn.Load()
			if n <= m || maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(3 * time.Millisecond)
		inPoll.Add(-1)
		return ok(ctx)
	})
	s.Add(Job{Device: "d", Interval: time.Millisecond, Driver: slow})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	// On-demand polls race with the schedule.
	for i := 0; i < 10; i++ {
		if _, err := s.PollNow(ctx, "d"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "30 polls", func() bool { return len(c.get("d")) >= 30 })
	cancel()
	<-done
	if m := maxIn.Load(); m != 1 {
		t.Fatalf("%d polls of one device ran at once", m)
	}
}

func TestUnreachableAndReachableEvents(t *testing.T) {
	c := newCollector()
	s := New(c.handle, nil, nil)
	var calls atomic.Int32
	// Fails polls 2..5, then recovers.
	flaky := funcDriver(func(ctx context.Context) (drivers.Sample, error) {
		n := calls.Add(1)
		if n >= 2 && n <= 5 {
			return drivers.Sample{}, errors.New("connection refused")
		}
		if n == 7 {
			panic("driver bug")
		}
		return ok(ctx)
	})
	s.Add(Job{Device: "f", Kind: "fridge", Interval: time.Millisecond, UnreachableAfter: 3, Driver: flaky})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	waitFor(t, "8 polls", func() bool { return len(c.get("f")) >= 8 })
	cancel()
	<-done
	res := c.get("f")
	var events []string
	for i, r := range res[:8] {
		for _, e := range r.Sample.Events {
			events = append(events, e.Type)
			if e.Device != "f" || e.Time.IsZero() {
				t.Errorf("poll %d: event without device or time: %+v", i+1, e)
			}
		}
		reach := -1.0
		for _, m := range r.Sample.Metrics {
			if m.Name == "device.reachable" {
				reach, _ = m.Float()
			}
		}
		wantFail := (i >= 1 && i <= 4) || i == 6
		if (r.Err != nil) != wantFail || (reach == 0) != wantFail {
			t.Errorf("poll %d: err=%v reachable=%v, want failure=%v", i+1, r.Err, reach, wantFail)
		}
		if r.Sample.Kind != "fridge" || r.Sample.Device != "f" || r.Sample.Time.IsZero() {
			t.Errorf("poll %d: sample not filled in: %+v", i+1, r.Sample)
		}
	}
	want := []string{"device.unreachable", "device.reachable"}
	if len(events) != 2 || events[0] != want[0] || events[1] != want[1] {
		t.Fatalf("events %v, want %v", events, want)
	}
	if res[3].Failures != 3 || res[3].Sample.Events[0].Severity != drivers.Major {
		t.Errorf("4th poll: failures %d, want 3 with a major event", res[3].Failures)
	}
}

func TestInvalidSampleIsAnError(t *testing.T) {
	c := newCollector()
	s := New(c.handle, nil, nil)
	bad := funcDriver(func(ctx context.Context) (drivers.Sample, error) {
		return drivers.Sample{Metrics: []drivers.Metric{{Name: "x", Value: []int{1}}}}, nil
	})
	s.Add(Job{Device: "b", Interval: time.Hour, Driver: bad})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	r, err := s.PollNow(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if r.Err == nil {
		t.Fatal("a sample with an unsupported value type was accepted")
	}
	if _, err := s.PollNow(ctx, "nope"); !errors.Is(err, ErrUnknownDevice) {
		t.Fatalf("PollNow of unknown device: %v", err)
	}
}

func status(s drivers.Sample) string {
	for _, m := range s.Metrics {
		if m.Name == "ups.status" {
			v, _ := m.Value.(string)
			return v
		}
	}
	return ""
}

// A pushed sample is handled at once, but never before (or during) a poll
// that was already running: that poll's reading is the older one.
func TestPushAfterRunningPoll(t *testing.T) {
	c := newCollector()
	s := New(c.handle, nil, nil)
	inPoll := make(chan struct{}, 1)
	release := make(chan struct{})
	var polls atomic.Int32
	s.Add(Job{Device: "ups", Interval: time.Hour, Driver: funcDriver(func(ctx context.Context) (drivers.Sample, error) {
		if polls.Add(1) == 1 {
			return drivers.Sample{}, errors.New("first poll fails")
		}
		inPoll <- struct{}{}
		<-release
		return drivers.Sample{Metrics: []drivers.Metric{drivers.Text("ups.status", "OL")}}, nil
	})})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "the failed first poll", func() bool { return len(c.get("ups")) == 1 })
	go s.PollNow(ctx, "ups")
	<-inPoll
	pushed := make(chan error, 1)
	go func() {
		_, err := s.Push(ctx, "ups", drivers.Sample{Metrics: []drivers.Metric{drivers.Text("ups.status", "OB DISCHRG")},
			Events: []drivers.Event{{Type: "ups.power_lost", Severity: drivers.Major}}})
		pushed <- err
	}()
	select {
	case err := <-pushed:
		t.Fatalf("push handled while a poll ran (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-pushed; err != nil {
		t.Fatal(err)
	}
	res := c.get("ups")
	if len(res) != 3 || status(res[1].Sample) != "OL" || status(res[2].Sample) != "OB DISCHRG" {
		t.Fatalf("results %+v, want the failure, the poll's OL, then the pushed OB", res)
	}
	p := res[2]
	if p.Err != nil || p.Sample.Device != "ups" || p.Sample.Time.IsZero() {
		t.Fatalf("pushed result not filled in: %+v", p)
	}
	if len(p.Sample.Events) != 1 || p.Sample.Events[0].Device != "ups" || p.Sample.Events[0].Time.IsZero() {
		t.Fatalf("pushed events not filled in: %+v", p.Sample.Events)
	}
	if status := p.Sample.Metrics[len(p.Sample.Metrics)-1]; status.Name != "device.reachable" {
		t.Fatalf("pushed sample lacks device.reachable: %v", p.Sample.Metrics)
	}
	if n := polls.Load(); n != 2 {
		t.Fatalf("%d polls: a push must not poll", n)
	}
}

func TestPushRefused(t *testing.T) {
	c := newCollector()
	s := New(c.handle, nil, nil)
	s.Add(Job{Device: "ups", Interval: time.Hour, Driver: funcDriver(ok)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if _, err := s.Push(ctx, "nope", drivers.Sample{}); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("unknown device: %v", err)
	}
	if _, err := s.Push(ctx, "ups", drivers.Sample{Metrics: []drivers.Metric{{Name: ""}}}); err == nil {
		t.Errorf("invalid sample accepted")
	}
	if err := s.Remove(ctx, "ups"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(ctx, "ups", drivers.Sample{}); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("removed device: %v", err)
	}
}

// Run returns when its context ends even while a driver that ignores the
// context is still inside Poll; Drain then names that device until its
// poll returns, so the gateway does not close a driver under a running
// poll (found by the race detector in the power-cut night under qemu).
func TestDrainWaitsForAbandonedPoll(t *testing.T) {
	c := newCollector()
	s := New(c.handle, nil, nil)
	inPoll := make(chan struct{}, 1)
	release := make(chan struct{})
	s.Add(Job{Device: "slow", Interval: time.Hour, Timeout: time.Hour, Driver: funcDriver(func(ctx context.Context) (drivers.Sample, error) {
		inPoll <- struct{}{}
		<-release // ignores ctx on purpose
		return drivers.Sample{}, nil
	})})
	s.Add(Job{Device: "quick", Interval: time.Hour, Driver: funcDriver(ok)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-inPoll
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	short, stop := context.WithTimeout(context.Background(), 20*time.Millisecond)
	busy := s.Drain(short)
	stop()
	if len(busy) != 1 || busy[0] != "slow" {
		t.Fatalf("Drain with the slow poll running: busy %v, want [slow]", busy)
	}
	close(release)
	long, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	if busy := s.Drain(long); len(busy) != 0 {
		t.Fatalf("Drain after the poll returned: busy %v", busy)
	}
}
