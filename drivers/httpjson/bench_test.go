package httpjson

import (
	"context"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPoll500Shelly drives the load directly: one iteration
// polls 500 Shelly Plus H&T (three RPC calls each, digest auth with nonce
// reuse) once, i.e. one 10 s round; six rounds make a minute. The replaying
// server runs in the same process, so the CPU figure includes it and is an
// upper bound for the gateway. Target (issue 6): at most 5 % of one core.
func BenchmarkPoll500Shelly(b *testing.B) {
	const sensors, workers = 500, 8
	srv := httptest.NewServer(newShellyServer(b, "geheim", true))
	defer srv.Close()
	ds := make([]drivers.Driver, sensors)
	for i := range ds {
		cfg := plusHT(srv.URL)
		cfg.Password = "geheim"
		d, err := New(drivers.Device{ID: "s"}, cfg, nil)
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
					if s, err := d.Poll(context.Background()); err != nil || len(s.Metrics) != 5 {
						b.Errorf("poll: %v, %d metrics", err, len(s.Metrics))
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
	round() // connect and authenticate outside the measurement
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
