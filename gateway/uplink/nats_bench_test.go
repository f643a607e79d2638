package uplink

import (
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// BenchmarkNATSLoss measures how many acknowledged records a persistent
// subscriber never receives when nats-server is restarted (SIGTERM) or
// killed (SIGKILL) under load, for Debian's nats-server with the test's
// default configuration, and a current nats-server with that default and
// with the durable configuration shipped in docs/integrations/nats/. The
// figures are in docs/integrations/nats.md:
//
//	go test -run '^$' -bench NATSLoss -benchtime 1x -timeout 30m ./gateway/uplink/
func BenchmarkNATSLoss(b *testing.B) {
	current := testpeer.CurrentNATS(b)
	for _, srv := range []struct {
		name string
		opts func(testing.TB) testpeer.NATSOptions
		// redeliver is the configuration's ack_wait with a margin.
		redeliver time.Duration
	}{
		{"debian-2.9.10-default", func(testing.TB) testpeer.NATSOptions { return testpeer.NATSOptions{} }, 10 * time.Second},
		{testpeer.CurrentNATSVersion + "-default", func(testing.TB) testpeer.NATSOptions { return testpeer.NATSOptions{Bin: current} }, 10 * time.Second},
		{testpeer.CurrentNATSVersion + "-durable", func(tb testing.TB) testpeer.NATSOptions {
			return testpeer.NATSOptions{Bin: current, Config: shippedNATSConfig(tb)}
		}, 40 * time.Second},
	} {
		for _, crash := range []string{"restart", "kill-9"} {
			b.Run(srv.name+"/"+crash, func(b *testing.B) {
				var lost, acked int
				for range b.N {
					n := testpeer.StartNATSWith(b, srv.opts(b))
					stop := n.Stop
					if crash == "kill-9" {
						stop = n.Kill
					}
					l, last, _ := natsCrashRun(b, n, stop, srv.redeliver)
					lost += l
					acked += int(last)
					n.Stop()
				}
				b.ReportMetric(float64(lost)/float64(b.N), "lost/run")
				b.ReportMetric(float64(acked)/float64(b.N), "acked/run")
			})
		}
	}
}
