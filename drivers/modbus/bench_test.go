package modbus

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// cpuTime is the CPU time (user+system) this process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPoll500Sensors drives the load directly instead of
// waiting real minutes: one iteration polls 500 fridge controllers once,
// which is one 10 s round; six rounds make a minute. The simulated units
// run in the same process, so the CPU figure includes the server side and
// is an upper bound for the gateway. Target (issue 6): at most 5 % of one
// core, i.e. 3 CPU-seconds per minute.
func BenchmarkPoll500Sensors(b *testing.B) {
	const sensors, workers = 500, 8
	u, addr := startSimB(b)
	loadFridge(simSetter(u))
	ds := make([]drivers.Driver, sensors)
	for i := range ds {
		c := defaults()
		c.Address = addr
		c.Registers = fridgeMap()
		d, err := New(drivers.Device{ID: "s"}, c, nil)
		if err != nil {
			b.Fatal(err)
		}
		ds[i] = d
		defer d.(*Driver).Close()
	}
	round := func() {
		var wg sync.WaitGroup
		next := make(chan drivers.Driver)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for d := range next {
					if _, err := d.Poll(context.Background()); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		for _, d := range ds {
			next <- d
		}
		close(next)
		wg.Wait()
	}
	round() // connect everything outside the measurement
	b.ResetTimer()
	start := cpuTime(b)
	for i := 0; i < b.N; i++ {
		round()
	}
	cpu := cpuTime(b) - start
	perMinute := cpu.Seconds() / float64(b.N) * 6
	b.ReportMetric(perMinute, "cpu-s/min")
	b.ReportMetric(perMinute/60*100, "%core")
}

func startSimB(b *testing.B) (*modbussimUnit, string) {
	b.Helper()
	u := newSimUnit()
	addr, err := u.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { u.Stop() })
	return u, addr
}
