package schedule

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Jobs added while Run runs start polling at once, and Remove stops a job
// for good: no handler call of the device after Remove returned, and its
// PollNow answers ErrUnknownDevice.
func TestScheduleAddAndRemoveWhileRunning(t *testing.T) {
	tests := []struct {
		name string
		// driver of the device added live; release unblocks it.
		driver  func(release <-chan struct{}) funcDriver
		timeout time.Duration
		// wantRemoveErr: Remove's context ends before the poll returns.
		wantRemoveErr error
	}{
		{"well-behaved device", func(<-chan struct{}) funcDriver { return ok }, 0, nil},
		{"device whose poll honours its context", func(<-chan struct{}) funcDriver {
			return func(ctx context.Context) (drivers.Sample, error) {
				<-ctx.Done()
				return drivers.Sample{}, ctx.Err()
			}
		}, time.Hour, nil},
		{"device whose poll hangs past Remove's deadline", func(release <-chan struct{}) funcDriver {
			return func(ctx context.Context) (drivers.Sample, error) {
				<-release // ignores ctx on purpose
				return drivers.Sample{}, nil
			}
		}, time.Hour, ErrStillPolling},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCollector()
			s := New(c.handle, nil, nil)
			s.Add(Job{Device: "old", Interval: 10 * time.Millisecond, Driver: funcDriver(ok)})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { s.Run(ctx); close(done) }()
			defer func() {
				cancel()
				<-done
			}()
			waitFor(t, "polls of the device added before Run", func() bool { return len(c.get("old")) >= 2 })

			release := make(chan struct{})
			defer close(release)
			var calls atomic.Int32
			drv := tc.driver(release)
			s.Add(Job{Device: "new", Interval: 10 * time.Millisecond, Timeout: tc.timeout, Driver: funcDriver(func(ctx context.Context) (drivers.Sample, error) {
				calls.Add(1)
				return drv(ctx)
			})})
			if tc.timeout == 0 {
				waitFor(t, "polls of the device added while running", func() bool { return len(c.get("new")) >= 2 })
			} else {
				waitFor(t, "a poll of the device added while running", func() bool { return calls.Load() >= 1 })
			}

			rctx, rcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			err := s.Remove(rctx, "new")
			rcancel()
			if !errors.Is(err, tc.wantRemoveErr) || (tc.wantRemoveErr == nil) != (err == nil) {
				t.Fatalf("Remove: %v, want %v", err, tc.wantRemoveErr)
			}
			handled, polled := len(c.get("new")), calls.Load()
			if _, err := s.PollNow(context.Background(), "new"); !errors.Is(err, ErrUnknownDevice) {
				t.Fatalf("PollNow of a removed device: %v", err)
			}
			for _, d := range s.Devices() {
				if d == "new" {
					t.Fatalf("Devices() still lists the removed device: %v", s.Devices())
				}
			}
			// Other devices keep polling, the removed one never again.
			n := len(c.get("old"))
			waitFor(t, "more polls of the remaining device", func() bool { return len(c.get("old")) >= n+5 })
			if h, p := len(c.get("new")), calls.Load(); h != handled || p != polled {
				t.Fatalf("removed device: %d→%d results, %d→%d polls after Remove", handled, h, polled, p)
			}
			if err := s.Remove(context.Background(), "new"); !errors.Is(err, ErrUnknownDevice) {
				t.Fatalf("second Remove: %v", err)
			}
			// The device can come back (a changed config is remove + add).
			s.Add(Job{Device: "new", Interval: 10 * time.Millisecond, Driver: funcDriver(ok)})
			waitFor(t, "polls of the device added again", func() bool { return len(c.get("new")) >= handled+2 })
		})
	}
}

// Remove before Run: the job never starts.
func TestScheduleRemoveBeforeRun(t *testing.T) {
	c := newCollector()
	s := New(c.handle, nil, nil)
	var calls atomic.Int32
	s.Add(Job{Device: "gone", Interval: 10 * time.Millisecond, Driver: funcDriver(func(ctx context.Context) (drivers.Sample, error) {
		calls.Add(1)
		return ok(ctx)
	})})
	s.Add(Job{Device: "stays", Interval: 10 * time.Millisecond, Driver: funcDriver(ok)})
	if err := s.Remove(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	waitFor(t, "polls of the remaining device", func() bool { return len(c.get("stays")) >= 3 })
	cancel()
	<-done
	if n := calls.Load(); n != 0 {
		t.Fatalf("removed device polled %d times", n)
	}
}

// A job added after Run has returned does not start a goroutine that
// nobody waits for.
func TestScheduleAddAfterRunDoesNotStart(t *testing.T) {
	c := newCollector()
	s := New(c.handle, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Run(ctx)
	var calls atomic.Int32
	s.Add(Job{Device: "late", Interval: 10 * time.Millisecond, Driver: funcDriver(func(ctx context.Context) (drivers.Sample, error) {
		calls.Add(1)
		return ok(ctx)
	})})
	time.Sleep(50 * time.Millisecond)
	if n := calls.Load(); n != 0 {
		t.Fatalf("job added after Run polled %d times", n)
	}
}
