//go:build unix

package buffer

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTrickle is the buffer's side of issue 6 (500 sensors at 10 s):
// lone appends arriving at 50 a second, each from its own goroutine as the
// scheduler's device goroutines do, none waiting for another. It reports
// how many appends shared one fsync and the process's CPU time per append
// (getrusage, so it includes badger's background goroutines), for the
// default commit window and for 5 ms, the default before appends lingered.
//
//	go test -run '^$' -bench Trickle -benchtime 500x ./buffer/
func BenchmarkTrickle(b *testing.B) {
	const rate = 50 // appends per second
	for _, window := range []time.Duration{DefaultCommitWindow, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("window=%s", window), func(b *testing.B) {
			d, err := Open(b.TempDir(), Options{Logger: quietLogger(), CommitWindow: window})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			syncs0, cpu0 := d.syncs.Load(), processCPU(b)
			b.ResetTimer()
			tick := time.NewTicker(time.Second / rate)
			defer tick.Stop()
			var wg sync.WaitGroup
			for range b.N {
				<-tick.C
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := []Record{{Class: Telemetry, Topic: "telemetry/sensor", Payload: samplePayload}}
					if err := d.Append(context.Background(), r); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			syncs, cpu := d.syncs.Load()-syncs0, processCPU(b)-cpu0
			b.ReportMetric(float64(b.N)/float64(max(syncs, 1)), "samples/fsync")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/sample")
			b.ReportMetric(100*cpu.Seconds()/b.Elapsed().Seconds(), "%core")
		})
	}
}

// processCPU is the user plus system time of this process so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
