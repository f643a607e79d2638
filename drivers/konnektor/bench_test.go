package konnektor

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/konnektor/konnektorsim"
)

// BenchmarkPoll is one full poll of a connector with 5 cards (SMC-B, HBA,
// 3 SMC-KT) and 3 terminals against the simulator: connector.sds and five
// SOAP calls over HTTPS with Basic auth. Idle connections are dropped
// before each poll, as they would be after 5 minutes, so every poll pays
// its TLS handshake. Targets: ≤ 1 s per poll and < 1 % of a core at a
// 5-minute interval. CPU is the whole process's (driver and simulator),
// so cpu-s/poll is an upper bound for the driver.
func BenchmarkPoll(b *testing.B) {
	r := startSim(b, konnektorsim.Options{Auth: "basic", Username: "praxisgate", Password: "bench-Konnektor-1"})
	d := newDriver(b, r.cfg)
	poll(b, d) // loads the TLS material once
	ctx := context.Background()
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		d.client.CloseIdleConnections()
		s, err := d.Poll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Conditions) != 0 {
			b.Fatalf("conditions: %v", s.Conditions)
		}
	}
	wall := time.Since(start).Seconds() / float64(b.N)
	cpu := (cpuTime() - cpu0).Seconds() / float64(b.N)
	b.ReportMetric(wall, "s/poll")
	b.ReportMetric(cpu, "cpu-s/poll")
	b.ReportMetric(cpu/300*100, "%core@5m")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
