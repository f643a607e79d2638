package buffer

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"
)

// openChildEnv makes the test binary a child that opens the buffer in the
// named directory, holds it for openChildHold and prints the largest Go heap
// it saw; the parent samples the child's resident memory meanwhile. A child
// process keeps the prefill's memory out of the figures.
const openChildEnv = "PRAXISGATE_BUFFER_OPEN_CHILD"

// openChildDebugEnv, set to anything, sends the child's logs, badger's
// compaction lines included, to stderr: they show which compaction made a
// peak.
const openChildDebugEnv = "PRAXISGATE_BUFFER_OPEN_DEBUG"

// openChildHold covers badger's replay and the compactions that follow
// opening a backlog (a few seconds on a 2-core box).
const openChildHold = 8 * time.Second

// daemonMemoryLimit mirrors the soft memory limit `praxisgate run` sets
// (cmd/praxisgate/runcmd.go), so the child's heap behaves like the daemon's.
const daemonMemoryLimit = 28 << 20

// BenchmarkOpenBacklog opens a buffer holding a 100k-record backlog written
// like the gateway writes it, and reports the peak resident memory of the
// process while badger opens and compacts it: total, anonymous (Go heap,
// stacks) and file-backed (mmapped tables and logs, reclaimable page cache),
// plus the Go heap's peak. This is the start-up peak of BenchmarkRSS in
// cmd/praxisgate without the daemon around it. Run it with -benchtime 5x
// or more: only some backlogs leave level 0 ready to compact.
func BenchmarkOpenBacklog(b *testing.B) {
	var peak rssSample
	var heap float64
	for i := range b.N {
		// A fresh backlog per run: whether level 0 holds enough tables to
		// compact right after the open depends on where the writer's
		// compactions stood when it closed, so runs differ; the figures
		// are the worst run.
		dir := filepath.Join(b.TempDir(), fmt.Sprintf("buf%d", i))
		prefillBacklog(b, dir, 100_000)
		p, h := runOpenChild(b, dir)
		peak, heap = peak.max(p), max(heap, h)
		os.RemoveAll(dir)
	}
	mib := func(kb float64) float64 { return kb / 1024 }
	b.ReportMetric(mib(peak.total), "MiB-rss-peak")
	b.ReportMetric(mib(peak.anon), "MiB-anon-peak")
	b.ReportMetric(mib(peak.file), "MiB-file-peak")
	b.ReportMetric(heap/(1<<20), "MiB-heap-peak")
	fmt.Printf("open 100k backlog: peak RSS %.1f MiB (anon %.1f, file %.1f), Go heap peak %.1f MiB\n",
		mib(peak.total), mib(peak.anon), mib(peak.file), heap/(1<<20))
}

// prefillBacklog writes n telemetry records like the gateway's and closes.
func prefillBacklog(tb testing.TB, dir string, n int) {
	q, err := Open(dir, Options{Logger: testLogger(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	payload := []byte(`{"schema":1,"gateway":"rss","boot":"0123456789ab","ts":"2026-11-22T10:00:00.000Z","clock":"synced","device":"sensor-000","kind":"fridge","metrics":[{"name":"temperature","value":5.21,"unit":"°C"},{"name":"door.open","value":0},{"name":"device.reachable","value":1}]}`)
	const batch = 1000
	for i := 0; i < n; i += batch {
		recs := make([]Record, batch)
		for j := range recs {
			recs[j] = Record{Class: Telemetry, Topic: "telemetry/sensor-000", Payload: payload}
		}
		if err := q.Append(context.Background(), recs); err != nil {
			tb.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		tb.Fatal(err)
	}
}

// rssSample is resident memory in kB, each field the highest seen on its own.
type rssSample struct{ total, anon, file float64 }

func (r rssSample) max(o rssSample) rssSample {
	return rssSample{max(r.total, o.total), max(r.anon, o.anon), max(r.file, o.file)}
}

// runOpenChild starts the child on dir, samples its /proc status every
// 20 ms until it exits and returns the peaks and the heap it reported.
func runOpenChild(tb testing.TB, dir string) (rssSample, float64) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), openChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	heapc := make(chan float64, 1)
	go func() {
		var h float64
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "heap-peak "); ok {
				h, _ = strconv.ParseFloat(v, 64)
			}
		}
		heapc <- h
	}()
	var peak rssSample
	deadline := time.Now().Add(openChildHold + time.Minute)
	for time.Now().Before(deadline) {
		s, ok := readRSS(cmd.Process.Pid)
		if !ok {
			break
		}
		peak = peak.max(s)
		time.Sleep(20 * time.Millisecond)
	}
	h := <-heapc
	if err := cmd.Wait(); err != nil {
		tb.Fatalf("open child: %v", err)
	}
	if h == 0 {
		tb.Fatal("open child reported no heap figure")
	}
	return peak, h
}

// readRSS reads VmRSS, RssAnon and RssFile+RssShmem of a live process; it
// returns false once the process has exited (a zombie has no VmRSS line).
func readRSS(pid int) (rssSample, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return rssSample{}, false
	}
	defer f.Close()
	var s rssSample
	seen := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, _ := strings.Cut(sc.Text(), ":")
		fs := strings.Fields(rest)
		if len(fs) == 0 {
			continue
		}
		v, _ := strconv.ParseFloat(fs[0], 64)
		switch key {
		case "VmRSS":
			s.total, seen = v, true
		case "RssAnon":
			s.anon = v
		case "RssFile", "RssShmem":
			s.file += v
		}
	}
	return s, seen
}

// openChild is the child's side: open, watch the heap, hold, close.
func openChild(dir string) int {
	debug.SetMemoryLimit(daemonMemoryLimit)
	stop := make(chan struct{})
	peakc := make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		var peak uint64
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64()+s[1].Value.Uint64())
			select {
			case <-stop:
				peakc <- peak
				return
			case <-t.C:
			}
		}
	}()
	lg := slog.New(slog.DiscardHandler)
	if os.Getenv(openChildDebugEnv) != "" {
		lg = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
	}
	d, err := Open(dir, Options{Logger: lg})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	time.Sleep(openChildHold)
	if err := d.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	close(stop)
	fmt.Printf("heap-peak %d\n", <-peakc)
	return 0
}
