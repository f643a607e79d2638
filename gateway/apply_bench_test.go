package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// BenchmarkApplyAdopt500 is what the page's save costs the daemon with 500
// devices configured: one Apply that adopts a sim device (built,
// scheduled, polled) and one that removes it again (poll ended, driver
// closed). Reported as ms per Apply.
func BenchmarkApplyAdopt500(b *testing.B) {
	dir := b.TempDir()
	var devs strings.Builder
	for i := range 500 {
		fmt.Fprintf(&devs, "  - {id: d%03d, driver: sim, kind: room, interval: 1h, sim: {scenario: room}}\n", i)
	}
	cfgFor := func(extra string) *config.Config {
		cfg, err := config.Parse([]byte(fmt.Sprintf("site: s\ngateway: g\nstate_dir: %s\nuplink: {broker: \"tcp://127.0.0.1:1\"}\ndevices:\n%s%s", dir, devs.String(), extra)), dir+"/bench.yaml")
		if err != nil {
			b.Fatal(err)
		}
		return cfg
	}
	without, with := cfgFor(""), cfgFor("  - {id: extra, driver: sim, kind: room, interval: 1s, sim: {scenario: room}}\n")
	g, err := New(without, Options{Version: "bench", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	start := time.Now()
	for b.Loop() {
		if a := g.Apply(context.Background(), with); len(a.Live) != 1 {
			b.Fatalf("adopt: %+v", a)
		}
		if a := g.Apply(context.Background(), without); len(a.Live) != 1 {
			b.Fatalf("remove: %+v", a)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(2*b.N), "ms/apply")
}
