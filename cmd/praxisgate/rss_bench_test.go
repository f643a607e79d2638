package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// BenchmarkRSS measures the resident memory of `praxisgate run` (a normal,
// non-race build) with 100 sim devices polled every second and a backlog of
// 100,000 messages: first while the broker is down (the backlog waits on
// disk), then while it drains. Target: ≤ 48 MiB.
func BenchmarkRSS(b *testing.B) {
	for range b.N {
		benchRSS(b)
	}
}

func benchRSS(b *testing.B) {
	tmp := b.TempDir()
	bin := filepath.Join(tmp, "praxisgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	state := filepath.Join(tmp, "state")
	const backlog = 100_000
	prefill(b, filepath.Join(state, "buffer"), backlog)

	mq := testpeer.StartMosquitto(b, testpeer.MosquittoOptions{})
	// The gateway's own telemetry says when the backlog has drained: its
	// buffer.records falls to 0.
	var left atomic.Int64
	left.Store(-1)
	opts := mqtt.NewClientOptions().AddBroker(mq.URL()).SetClientID("rss-watcher").SetAutoReconnect(true).
		SetMaxReconnectInterval(time.Second)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe("praxisgate/v1/+/+/telemetry/gateway", 1, func(_ mqtt.Client, m mqtt.Message) {
			var p struct {
				Metrics []struct {
					Name  string `json:"name"`
					Value any    `json:"value"`
				} `json:"metrics"`
			}
			if json.Unmarshal(m.Payload(), &p) != nil {
				return
			}
			for _, x := range p.Metrics {
				if v, ok := x.Value.(float64); ok && x.Name == "buffer.records" {
					left.Store(int64(v))
				}
			}
		})
	})
	cl := mqtt.NewClient(opts)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("watcher: %v", tok.Error())
	}
	defer cl.Disconnect(100)
	mq.Stop() // offline first: the backlog waits

	var devs strings.Builder
	for i := range 100 {
		fmt.Fprintf(&devs, "  - {id: sensor-%03d, driver: sim, interval: 1s, sim: {scenario: %s}}\n", i, []string{"fridge", "room", "ups"}[i%3])
	}
	cfg := writeFile(b, tmp, "c.yaml", fmt.Sprintf(`site: bench
gateway: rss
state_dir: %s
log: {level: warn}
uplink: {broker: %q, backoff_min: 200ms, backoff_max: 1s}
self: {interval: 5s}
web: {listen: "off", redirect_listen: "off"}
devices:
%s`, state, mq.URL(), devs.String()))
	cmd := exec.Command(bin, "run", "-config", cfg)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid

	sample := func(d time.Duration) (max float64) {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			if r := readStatusKB(pid, "VmRSS:"); r > max {
				max = r
			}
			time.Sleep(250 * time.Millisecond)
		}
		return max
	}
	offline := sample(15 * time.Second)
	mq.Restart()
	drainStart := time.Now()
	var drain float64
	left.Store(-1)
	// Done when a report taken after the restart shows an empty buffer
	// (100 live devices keep adding a few records between reports).
	for (left.Load() < 0 || left.Load() > 200) && time.Since(drainStart) < 3*time.Minute {
		if r := sample(time.Second); r > drain {
			drain = r
		}
	}
	drainTime := time.Since(drainStart)
	steady := sample(10 * time.Second)
	hwm := readStatusKB(pid, "VmHWM:")
	if l := left.Load(); l < 0 || l > 200 {
		b.Fatalf("backlog not drained within 3 minutes: the gateway reports %d records left", l)
	}
	mib := func(kb float64) float64 { return kb / 1024 }
	b.ReportMetric(mib(offline), "MiB-rss-offline")
	b.ReportMetric(mib(drain), "MiB-rss-draining")
	b.ReportMetric(mib(steady), "MiB-rss-steady")
	b.ReportMetric(mib(hwm), "MiB-rss-peak")
	b.ReportMetric(drainTime.Seconds(), "s-drain-100k")
	fmt.Printf("praxisgate run, 100 sim devices, 100k backlog: RSS offline %.1f MiB, draining %.1f MiB, steady %.1f MiB, peak (VmHWM) %.1f MiB (target ≤ 48 MiB); backlog drained in %.1f s\n",
		mib(offline), mib(drain), mib(steady), mib(hwm), drainTime.Seconds())
}

// prefill writes a backlog into the buffer directory the daemon will open,
// in the format the gateway itself writes.
func prefill(b testing.TB, dir string, n int) {
	q, err := buffer.Open(dir, buffer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	payload := []byte(`{"schema":1,"gateway":"rss","boot":"0123456789ab","ts":"2026-11-22T10:00:00.000Z","clock":"synced","device":"sensor-000","kind":"fridge","metrics":[{"name":"temperature","value":5.21,"unit":"°C"},{"name":"door.open","value":0},{"name":"device.reachable","value":1}]}`)
	const batch = 1000
	for i := 0; i < n; i += batch {
		recs := make([]buffer.Record, batch)
		for j := range recs {
			recs[j] = buffer.Record{Class: buffer.Telemetry, Topic: "telemetry/sensor-000", Payload: payload}
		}
		if err := q.Append(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
	}
}

// readStatusKB reads a "Vm...:" line of /proc/PID/status in kB.
func readStatusKB(pid int, key string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			fs := strings.Fields(rest)
			if len(fs) > 0 {
				v, _ := strconv.ParseFloat(fs[0], 64)
				return v
			}
		}
	}
	return 0
}
