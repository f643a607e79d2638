package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
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
	// gctrace=1 makes the runtime print the heap size at every collection
	// to stderr: the Go heap's share of the resident memory, without a
	// profiling endpoint in the daemon.
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	heap := &heapWatch{w: os.Stderr}
	cmd.Stderr = heap
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid

	// The first seconds are sampled often: badger replays and compacts the
	// backlog there, and that is where the peak is.
	start := sampleRSS(pid, 10*time.Second, 50*time.Millisecond)
	startHeap := heap.takeMax()
	offline := sampleRSS(pid, 5*time.Second, 250*time.Millisecond)
	offlineHeap := heap.takeMax()
	offlineMaps := residentByMapping(pid)
	mq.Restart()
	drainStart := time.Now()
	var drain rss
	left.Store(-1)
	// Done when a report taken after the restart shows an empty buffer
	// (100 live devices keep adding a few records between reports).
	for (left.Load() < 0 || left.Load() > 200) && time.Since(drainStart) < 3*time.Minute {
		drain = drain.max(sampleRSS(pid, time.Second, 50*time.Millisecond))
	}
	drainTime := time.Since(drainStart)
	drainHeap := heap.takeMax()
	steady := sampleRSS(pid, 10*time.Second, 250*time.Millisecond)
	steadyHeap := heap.takeMax()
	steadyMaps := residentByMapping(pid)
	hwm := readStatusKB(pid, "VmHWM:")
	if l := left.Load(); l < 0 || l > 200 {
		b.Fatalf("backlog not drained within 3 minutes: the gateway reports %d records left", l)
	}
	mib := func(kb float64) float64 { return kb / 1024 }
	b.ReportMetric(mib(start.total), "MiB-rss-start")
	b.ReportMetric(mib(start.anon), "MiB-anon-start")
	b.ReportMetric(mib(start.file), "MiB-file-start")
	b.ReportMetric(mib(offline.total), "MiB-rss-offline")
	b.ReportMetric(mib(drain.total), "MiB-rss-draining")
	b.ReportMetric(mib(drain.anon), "MiB-anon-draining")
	b.ReportMetric(mib(steady.total), "MiB-rss-steady")
	b.ReportMetric(mib(hwm), "MiB-rss-peak")
	b.ReportMetric(drainTime.Seconds(), "s-drain-100k")
	fmt.Printf("praxisgate run, 100 sim devices, 100k backlog (target ≤ 48 MiB RSS); highest sample per phase, MiB:\n")
	fmt.Printf("  %-22s %6s %6s %6s %6s\n", "phase", "RSS", "anon", "file", "heap")
	for _, p := range []struct {
		name string
		r    rss
		heap float64
	}{
		{"start (0-10 s)", start, startHeap},
		{"offline (10-15 s)", offline, offlineHeap},
		{"draining", drain, drainHeap},
		{"steady (10 s)", steady, steadyHeap},
	} {
		fmt.Printf("  %-22s %6.1f %6.1f %6.1f %6.1f\n", p.name, mib(p.r.total), mib(p.r.anon), mib(p.r.file), p.heap)
	}
	fmt.Printf("  peak RSS (VmHWM) %.1f MiB; backlog drained in %.1f s\n", mib(hwm), drainTime.Seconds())
	fmt.Printf("  resident by mapping, offline: %s\n  resident by mapping, steady:  %s\n", offlineMaps, steadyMaps)
	fmt.Printf("  (anon: heap, stacks, runtime; file: mmapped badger tables and logs, page cache the kernel can drop; heap: Go heap at GC start, gctrace)\n")
}

// rss is the highest resident memory seen by sampleRSS, in kB, each field
// on its own (the highest total and the highest anon need not coincide).
type rss struct{ total, anon, file float64 }

func (r rss) max(o rss) rss {
	return rss{max(r.total, o.total), max(r.anon, o.anon), max(r.file, o.file)}
}

// sampleRSS reads /proc/PID/status every step for d. RssAnon and RssFile are
// reported apart because they mean different things for a 1 GiB box:
// anonymous memory (Go heap, stacks) is what the daemon really holds, while
// file pages (badger's mmapped tables and logs) are page cache the kernel
// reclaims under pressure.
func sampleRSS(pid int, d, step time.Duration) (m rss) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		m = m.max(rss{
			total: readStatusKB(pid, "VmRSS:"),
			anon:  readStatusKB(pid, "RssAnon:"),
			file:  readStatusKB(pid, "RssFile:") + readStatusKB(pid, "RssShmem:"),
		})
		time.Sleep(step)
	}
	return m
}

// residentByMapping sums the resident kB of a process's mappings by what
// they map (the binary, badger's tables, memtable logs, value logs, other
// files, anonymous), from /proc/PID/smaps, to say what RssFile is made of.
func residentByMapping(pid int) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	kinds := []string{"binary", "sst", "mem", "vlog", "other-file", "anon"}
	kb := map[string]float64{}
	kind := "anon"
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if !strings.HasSuffix(fs[0], ":") {
			// A mapping's header: address range, perms, offset, dev, inode, path.
			kind = "anon"
			if len(fs) >= 6 && strings.HasPrefix(fs[5], "/") {
				switch path := fs[5]; {
				case path == exe:
					kind = "binary"
				case strings.HasSuffix(path, ".sst"):
					kind = "sst"
				case strings.HasSuffix(path, ".mem"):
					kind = "mem"
				case strings.HasSuffix(path, ".vlog"):
					kind = "vlog"
				default:
					kind = "other-file"
				}
			}
			continue
		}
		if fs[0] == "Rss:" && len(fs) > 1 {
			v, _ := strconv.ParseFloat(fs[1], 64)
			kb[kind] += v
		}
	}
	var out []string
	for _, k := range kinds {
		out = append(out, fmt.Sprintf("%s %.1f", k, kb[k]/1024))
	}
	return strings.Join(out, ", ") + " MiB"
}

// heapWatch passes the daemon's stderr through and keeps the largest heap
// that a gctrace line reports ("gc 7 @1.2s 3%: ... 21->23->9 MB, 24 MB goal").
type heapWatch struct {
	w    io.Writer
	mu   sync.Mutex
	part []byte
	max  float64
}

func (h *heapWatch) Write(p []byte) (int, error) {
	h.mu.Lock()
	h.part = append(h.part, p...)
	for {
		i := bytes.IndexByte(h.part, '\n')
		if i < 0 {
			break
		}
		line := string(h.part[:i])
		h.part = h.part[i+1:]
		if !strings.HasPrefix(line, "gc ") {
			h.mu.Unlock()
			h.w.Write([]byte(line + "\n"))
			h.mu.Lock()
			continue
		}
		if m := gcHeap.FindStringSubmatch(line); m != nil {
			for _, s := range m[1:3] {
				v, _ := strconv.ParseFloat(s, 64)
				h.max = max(h.max, v)
			}
		}
	}
	h.mu.Unlock()
	return len(p), nil
}

// takeMax returns the largest heap seen since the last call, in MiB.
func (h *heapWatch) takeMax() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.max
	h.max = 0
	return m
}

var gcHeap = regexp.MustCompile(`: [^:]* (\d+)->(\d+)->\d+ MB`)

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
