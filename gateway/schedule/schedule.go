// Package schedule polls devices: one goroutine per device, an interval
// with jitter, a timeout per poll, and never two polls of one device at
// once. A slow or hanging device only delays itself. Poll errors become
// results the gateway turns into device.unreachable / device.reachable
// events and a device.reachable metric, never a crash.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Job is one device to poll.
type Job struct {
	Device string
	Kind   string
	Driver drivers.Driver
	// Interval between poll starts; Timeout of one poll (≤ Interval);
	// Jitter: each wait is Interval ± up to Jitter.
	Interval, Timeout, Jitter time.Duration
	// UnreachableAfter consecutive failures make the device unreachable.
	UnreachableAfter int
}

// Result is the outcome of one poll, already filled in: Sample.Device,
// Kind and Time are set, a device.reachable metric is appended, and state
// changes come as events in Sample.Events.
type Result struct {
	Sample drivers.Sample
	// Err is the poll's error; Sample then carries only the reachability
	// metrics and events, and Conditions must be taken as unknown.
	Err error
	// Duration is how long Poll took (up to the timeout).
	Duration time.Duration
	// Failures is the number of consecutive failed polls, this one included.
	Failures int
}

// Handler receives every result. It is called from the device's goroutine;
// a slow handler delays only that device.
type Handler func(Result)

// health is what a job remembers between polls: the failures in a row
// and whether it reported the device unreachable.
type health struct {
	consecutive int
	reachable   bool
}

// Scheduler runs the jobs.
type Scheduler struct {
	handler Handler
	log     *slog.Logger
	now     func() time.Time
	stamp   func() time.Time

	mu    sync.Mutex
	jobs  map[string]*job
	order []string
	// runCtx is Run's context while Run runs (nil before and after): a
	// job added then starts at once. loops counts the running job loops.
	runCtx context.Context
	loops  sync.WaitGroup
}

type job struct {
	Job
	now  chan nowReq
	mu   sync.Mutex
	st   health
	rng  *rand.Rand
	busy bool
	// cancel stops the job's loop (nil until it runs); done is closed
	// when the loop has returned; polls counts Poll calls still running,
	// including one that outlived its timeout.
	cancel context.CancelFunc
	done   chan struct{}
	polls  atomic.Int32
}

// waitIdle waits until no Poll call of the job is running, or ctx ends;
// it reports whether the job is idle. A job already idle is idle even
// when ctx has ended.
func (j *job) waitIdle(ctx context.Context) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for j.polls.Load() > 0 {
		select {
		case <-ctx.Done():
			return j.polls.Load() == 0
		case <-tick.C:
		}
	}
	return true
}

type nowReq struct {
	reply chan Result
	// pushed is a sample the driver sent on its own (Push); nil means
	// poll now.
	pushed *drivers.Sample
}

// New returns a Scheduler. stamp gives the time of measurement for samples
// that carry none (the gateway's clock); nil means time.Now.
func New(h Handler, stamp func() time.Time, log *slog.Logger) *Scheduler {
	if stamp == nil {
		stamp = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{handler: h, log: log, now: time.Now, stamp: stamp, jobs: map[string]*job{}}
}

// Add registers a job. While Run runs, the job starts at once, so a device
// adopted on the web page polls without a restart. It panics on a
// duplicate device, which config validation rules out (a changed device is
// removed before it is added again).
func (s *Scheduler) Add(j Job) {
	if j.Interval <= 0 {
		j.Interval = 30 * time.Second
	}
	if j.Timeout <= 0 || j.Timeout > j.Interval {
		j.Timeout = j.Interval
	}
	if j.Jitter < 0 || j.Jitter > j.Interval/2 {
		j.Jitter = j.Interval / 2
	}
	if j.UnreachableAfter < 1 {
		j.UnreachableAfter = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[j.Device]; dup {
		panic("schedule: device " + j.Device + " added twice")
	}
	var seed uint64
	for _, c := range j.Device {
		seed = seed*131 + uint64(c)
	}
	nj := &job{Job: j, now: make(chan nowReq), rng: rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano()))), st: health{reachable: true},
		done: make(chan struct{})}
	s.jobs[j.Device] = nj
	s.order = append(s.order, j.Device)
	if s.runCtx != nil {
		s.startLocked(nj)
	}
}

// startLocked starts a job's loop under Run's context; s.mu is held.
func (s *Scheduler) startLocked(j *job) {
	ctx, cancel := context.WithCancel(s.runCtx)
	j.cancel = cancel
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		defer close(j.done)
		defer cancel()
		s.loop(ctx, j)
	}()
}

// Run polls every job, and every job added while it runs, until ctx ends
// and all polls have returned.
func (s *Scheduler) Run(ctx context.Context) {
	s.mu.Lock()
	if s.runCtx != nil {
		s.mu.Unlock()
		panic("schedule: Run called twice")
	}
	s.runCtx = ctx
	for _, d := range s.order {
		s.startLocked(s.jobs[d])
	}
	s.mu.Unlock()
	<-ctx.Done()
	// No job starts after this, so waiting on the loops is safe.
	s.mu.Lock()
	s.runCtx = nil
	s.mu.Unlock()
	s.loops.Wait()
}

// Drain waits, after Run has returned, until the Poll calls that Run left
// behind have returned too (a driver slow to notice its cancelled context
// is still inside Poll), or ctx ends. It returns the devices whose poll is
// still running: their drivers must not be closed under them.
func (s *Scheduler) Drain(ctx context.Context) []string {
	s.mu.Lock()
	jobs := make([]*job, 0, len(s.jobs))
	for _, d := range s.order {
		jobs = append(jobs, s.jobs[d])
	}
	s.mu.Unlock()
	var busy []string
	for _, j := range jobs {
		if !j.waitIdle(ctx) {
			busy = append(busy, j.Device)
		}
	}
	return busy
}

// ErrStillPolling is returned by Remove when the device's last poll did not
// return before the caller's context ended; the poll's goroutine ends when
// the driver returns.
var ErrStillPolling = errors.New("poll still running")

// Remove stops polling a device: its job is gone at once (PollNow then
// answers ErrUnknownDevice), its loop is cancelled, and Remove waits until
// the loop and every Poll call of the device have returned, or ctx ends.
// Only then may the caller close the device's driver. Remove of a device
// without a job returns ErrUnknownDevice.
func (s *Scheduler) Remove(ctx context.Context, device string) error {
	s.mu.Lock()
	j, ok := s.jobs[device]
	if ok {
		delete(s.jobs, device)
		for i, d := range s.order {
			if d == device {
				s.order = append(s.order[:i:i], s.order[i+1:]...)
				break
			}
		}
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("remove %s: %w", device, ErrUnknownDevice)
	}
	if j.cancel == nil {
		return nil // never ran
	}
	j.cancel()
	select {
	case <-j.done:
	case <-ctx.Done():
		return fmt.Errorf("remove %s: %w: %w", device, ErrStillPolling, ctx.Err())
	}
	if !j.waitIdle(ctx) {
		return fmt.Errorf("remove %s: %w: %w", device, ErrStillPolling, ctx.Err())
	}
	return nil
}

// ErrUnknownDevice is returned by PollNow for a device without a job.
var ErrUnknownDevice = errors.New("unknown device")

// PollNow polls a device out of schedule (a technician's test poll, the
// poll-now command) and returns its result, which also goes to the handler.
// It waits for a running poll of that device to finish first.
func (s *Scheduler) PollNow(ctx context.Context, device string) (Result, error) {
	return s.request(ctx, device, nowReq{reply: make(chan Result, 1)})
}

// Push hands the handler a sample the device's driver produced on its own
// (drivers.SampleWatcher: a UPS's interrupt report at mains loss), filled
// in and counted as a successful poll. It goes through the device's own
// loop, so it is never handled at the same time as a poll of the device,
// nor before a poll that was already running (whose reading is older).
// It does not move the poll schedule. An invalid sample is refused.
func (s *Scheduler) Push(ctx context.Context, device string, smp drivers.Sample) (Result, error) {
	if err := smp.Validate(); err != nil {
		return Result{}, fmt.Errorf("push %s: invalid sample: %w", device, err)
	}
	return s.request(ctx, device, nowReq{reply: make(chan Result, 1), pushed: &smp})
}

func (s *Scheduler) request(ctx context.Context, device string, req nowReq) (Result, error) {
	s.mu.Lock()
	j, ok := s.jobs[device]
	s.mu.Unlock()
	if !ok {
		return Result{}, fmt.Errorf("poll %s: %w", device, ErrUnknownDevice)
	}
	select {
	case j.now <- req:
	case <-j.done:
		return Result{}, fmt.Errorf("poll %s: %w", device, ErrUnknownDevice)
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case r := <-req.reply:
		return r, nil
	case <-j.done:
		return Result{}, fmt.Errorf("poll %s: removed while polling: %w", device, ErrUnknownDevice)
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Devices lists the scheduled devices in the order they were added.
func (s *Scheduler) Devices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

func (s *Scheduler) loop(ctx context.Context, j *job) {
	// Spread the first polls so devices do not all start in the same
	// instant, but keep the first reading quick.
	first := min(j.Interval/2, 3*time.Second)
	next := s.now().Add(time.Duration(j.rng.Int64N(int64(first) + 1)))
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		var req *nowReq
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case r := <-j.now:
			req = &r
		}
		if req != nil && req.pushed != nil {
			res := s.finish(j, pollOutcome{smp: *req.pushed}, 0)
			s.handler(res)
			req.reply <- res
			continue
		}
		res, ok := s.pollOnce(ctx, j)
		if !ok {
			return // shutting down while a poll hung
		}
		if req != nil {
			req.reply <- res
			// An on-demand poll does not move the schedule.
			continue
		}
		// Next start: interval ± jitter after the planned start; if the
		// poll overran, start again right away but never in a burst.
		next = next.Add(j.Interval + s.jitter(j))
		if now := s.now(); next.Before(now) {
			next = now.Add(s.jitter(j) / 2).Add(j.Interval / 10)
		}
		timer.Reset(time.Until(next))
	}
}

func (s *Scheduler) jitter(j *job) time.Duration {
	if j.Jitter <= 0 {
		return 0
	}
	return time.Duration(j.rng.Int64N(2*int64(j.Jitter)+1)) - j.Jitter
}

type pollOutcome struct {
	smp drivers.Sample
	err error
}

// pollOnce runs one poll with the device's timeout. If the driver ignores
// its context and hangs, the result is reported as a timeout at the
// deadline, but the next poll waits until the hung call has returned, so a
// device is never polled twice at once. ok is false when ctx ended first.
func (s *Scheduler) pollOnce(ctx context.Context, j *job) (Result, bool) {
	start := s.now()
	pctx, cancel := context.WithTimeout(ctx, j.Timeout)
	done := make(chan pollOutcome, 1)
	j.polls.Add(1)
	go func() {
		defer j.polls.Add(-1)
		defer func() {
			if p := recover(); p != nil {
				done <- pollOutcome{err: fmt.Errorf("driver panicked: %v\n%s", p, debug.Stack())}
			}
		}()
		smp, err := j.Driver.Poll(pctx)
		done <- pollOutcome{smp, err}
	}()
	var out pollOutcome
	hung := false
	select {
	case out = <-done:
	case <-pctx.Done():
		// Give a well-behaved driver a moment to return its own error.
		grace := time.NewTimer(50 * time.Millisecond)
		select {
		case out = <-done:
		case <-grace.C:
			hung = true
			out.err = fmt.Errorf("no result within %s: %w", j.Timeout, drivers.ErrUnreachable)
		}
		grace.Stop()
	}
	cancel()
	dur := s.now().Sub(start)
	if ctx.Err() != nil && (hung || out.err != nil) {
		return Result{}, false
	}
	res := s.finish(j, out, dur)
	s.handler(res)
	if hung {
		select {
		case <-done:
			s.log.Info("device poll returned after its timeout", "device", j.Device, "took", s.now().Sub(start))
		case <-ctx.Done():
			return res, false
		}
	}
	return res, true
}

func (s *Scheduler) finish(j *job, out pollOutcome, dur time.Duration) Result {
	smp := out.smp
	err := out.err
	if err == nil {
		if verr := smp.Validate(); verr != nil {
			err = fmt.Errorf("invalid sample: %w", verr)
		}
	}
	if smp.Time.IsZero() || err != nil {
		smp.Time = s.stamp()
	}
	smp.Device = j.Device
	if smp.Kind == "" || err != nil {
		smp.Kind = j.Kind
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	res := Result{Duration: dur}
	if err != nil {
		j.st.consecutive++
		res.Err = err
		res.Failures = j.st.consecutive
		smp = drivers.Sample{Device: j.Device, Kind: smp.Kind, Time: smp.Time, Metrics: []drivers.Metric{
			drivers.Num("device.reachable", 0, ""),
			drivers.Num("device.poll_failures", float64(j.st.consecutive), ""),
		}}
		if j.st.reachable && j.st.consecutive >= j.UnreachableAfter {
			j.st.reachable = false
			s.log.Warn("device unreachable", "device", j.Device, "failures", j.st.consecutive, "err", err)
			smp.Events = append(smp.Events, drivers.Event{Device: j.Device, Time: smp.Time, Type: "device.unreachable", Severity: drivers.Major,
				Message: fmt.Sprintf("%s does not answer (%d polls failed): %v", j.Device, j.st.consecutive, err),
				Attrs:   map[string]any{"failures": j.st.consecutive, "error": err.Error()}})
		}
	} else {
		if !j.st.reachable {
			s.log.Info("device reachable again", "device", j.Device)
			smp.Events = append(smp.Events, drivers.Event{Device: j.Device, Time: smp.Time, Type: "device.reachable", Severity: drivers.Info,
				Message: fmt.Sprintf("%s answers again", j.Device)})
		}
		j.st.reachable = true
		j.st.consecutive = 0
		smp.Metrics = append(smp.Metrics, drivers.Num("device.reachable", 1, ""))
	}
	res.Sample = smp
	for i := range res.Sample.Events {
		if res.Sample.Events[i].Device == "" {
			res.Sample.Events[i].Device = j.Device
		}
		if res.Sample.Events[i].Time.IsZero() {
			res.Sample.Events[i].Time = smp.Time
		}
	}
	return res
}
