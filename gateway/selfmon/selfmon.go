// Package selfmon is the box reporting on itself as device "gateway" (kind
// "gateway"): buffer depth and age, uplink state, CPU, memory, disk, SoC
// temperature, clock state. The provider sees a box in trouble (a filling
// disk, a backlog that will not drain, an overheating Pi) before it goes
// silent.
package selfmon

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers"
)

// UplinkState is what selfmon needs to know of the uplink.
type UplinkState struct {
	Connected   bool
	Reconnects  int64
	Published   int64
	PublishRate float64 // messages per second, recent average
	Inflight    int
}

// Sources feed the monitor.
type Sources struct {
	Buffer      func() buffer.Stats
	Uplink      func() UplinkState
	ClockSynced func() bool
	Version     string
	// StateDir is measured for free space.
	StateDir string
	// ProcRoot and SysRoot default to /proc and /sys (tests point them at
	// fixture trees).
	ProcRoot, SysRoot string
	Now               func() time.Time
}

// Monitor is a drivers.Driver for the gateway itself.
type Monitor struct {
	src     Sources
	started time.Time

	mu       sync.Mutex
	lastCPU  time.Duration // process CPU time at last poll
	lastWall time.Time
	lastSys  cpuTimes
}

// New returns a Monitor; the process start is now.
func New(src Sources) *Monitor {
	if src.ProcRoot == "" {
		src.ProcRoot = "/proc"
	}
	if src.SysRoot == "" {
		src.SysRoot = "/sys"
	}
	if src.Now == nil {
		src.Now = time.Now
	}
	m := &Monitor{src: src, started: src.Now()}
	m.lastCPU = processCPU()
	m.lastWall = m.started
	m.lastSys, _ = readCPUTimes(filepath.Join(src.ProcRoot, "stat"))
	return m
}

// Poll gathers one sample. Parts that cannot be read on this system (no
// thermal zone in a VM) are left out rather than failing the whole sample.
func (m *Monitor) Poll(ctx context.Context) (drivers.Sample, error) {
	now := m.src.Now()
	var ms []drivers.Metric
	var conds []drivers.Condition
	add := func(name string, v float64, unit string) { ms = append(ms, drivers.Num(name, v, unit)) }

	if m.src.Buffer != nil {
		b := m.src.Buffer()
		add("buffer.records", float64(b.Records), "")
		add("buffer.events", float64(b.EventRecords), "")
		add("buffer.bytes", float64(b.Bytes), "B")
		add("buffer.disk_bytes", float64(b.DiskBytes), "B")
		age := 0.0
		if !b.Oldest.IsZero() {
			age = now.Sub(b.Oldest).Seconds()
		}
		add("buffer.oldest_age", round1(age), "s")
		add("buffer.evicted", float64(b.EvictedTelemetry+b.EvictedEvents), "")
		add("buffer.evicted_events", float64(b.EvictedEvents), "")
		if b.DiskFull {
			// The buffer dropped telemetry to keep its free-space reserve
			// (buffer.Stats.DiskFull); the alarm engine raises it.
			conds = append(conds, drivers.Condition{Name: "buffer.disk_full", Severity: drivers.Major,
				Message: fmt.Sprintf("the data partition is below the buffer's free-space reserve (%d MiB free, %d MiB reserved): the oldest readings are being dropped", b.DiskAvail>>20, b.DiskReserve>>20)})
		}
		if m.src.Uplink != nil {
			u := m.src.Uplink()
			// Estimated time to drain: -1 while nothing is moving.
			eta := -1.0
			if b.Records == 0 {
				eta = 0
			} else if u.Connected && u.PublishRate > 0 {
				eta = round1(float64(b.Records) / u.PublishRate)
			}
			add("buffer.drain_eta", eta, "s")
		}
	}
	if m.src.Uplink != nil {
		u := m.src.Uplink()
		ms = append(ms, drivers.Flag("uplink.connected", u.Connected))
		add("uplink.reconnects", float64(u.Reconnects), "")
		add("uplink.published", float64(u.Published), "")
		add("uplink.publish_rate", round1(u.PublishRate), "1/s")
		add("uplink.inflight", float64(u.Inflight), "")
	}

	m.mu.Lock()
	cpu := processCPU()
	if wall := now.Sub(m.lastWall); wall > 0 {
		add("process.cpu", round1(100*(cpu-m.lastCPU).Seconds()/wall.Seconds()), "%")
	}
	m.lastCPU, m.lastWall = cpu, now
	if cur, err := readCPUTimes(filepath.Join(m.src.ProcRoot, "stat")); err == nil {
		if busy, ok := cur.busySince(m.lastSys); ok {
			add("system.cpu", round1(busy), "%")
		}
		m.lastSys = cur
	}
	m.mu.Unlock()

	if rss, err := readRSS(filepath.Join(m.src.ProcRoot, "self", "status")); err == nil {
		add("process.rss", float64(rss), "B")
	}
	add("process.goroutines", float64(runtime.NumGoroutine()), "")
	if mem, err := readMeminfo(filepath.Join(m.src.ProcRoot, "meminfo")); err == nil {
		add("system.memory.total", float64(mem.total), "B")
		add("system.memory.available", float64(mem.available), "B")
	}
	if m.src.StateDir != "" {
		var st unix.Statfs_t
		if err := unix.Statfs(m.src.StateDir, &st); err == nil && st.Blocks > 0 {
			size := float64(st.Blocks) * float64(st.Bsize)
			free := float64(st.Bavail) * float64(st.Bsize)
			add("disk.size", size, "B")
			add("disk.free", free, "B")
			if pct, ok := usedPercent(st.Blocks, st.Bfree, st.Bavail); ok {
				add("disk.used", round1(pct), "%")
			}
		}
	}
	if temp, ok := readSoCTemp(filepath.Join(m.src.SysRoot, "class", "thermal")); ok {
		add("system.temperature", round1(temp), "°C")
	}
	if up, err := readUptime(filepath.Join(m.src.ProcRoot, "uptime")); err == nil {
		add("system.uptime", round1(up), "s")
	}
	add("process.uptime", round1(now.Sub(m.started).Seconds()), "s")
	if m.src.ClockSynced != nil {
		ms = append(ms, drivers.Flag("clock.synced", m.src.ClockSynced()))
	}
	ms = append(ms, drivers.Text("version", m.src.Version))
	return drivers.Sample{Kind: "gateway", Time: time.Time{}, Metrics: ms, Conditions: conds}, nil
}

// usedPercent is the share of the filesystem in use as df shows it: used
// over what the service can use at most, used + available. The blocks
// reserved for root (5 % on ext4 by default) are neither: the daemon, not
// running as root, finds the disk full when available reaches 0, so that is
// 100 % here, while used/size would still say 95 %.
func usedPercent(blocks, bfree, bavail uint64) (float64, bool) {
	if bfree > blocks {
		return 0, false
	}
	used := blocks - bfree
	if used+bavail == 0 {
		return 0, false
	}
	return 100 * float64(used) / float64(used+bavail), true
}

func round1(v float64) float64 { return float64(int64(v*10+0.5*sign(v))) / 10 }

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type cpuTimes struct{ busy, total uint64 }

func (c cpuTimes) busySince(prev cpuTimes) (float64, bool) {
	if prev.total == 0 || c.total <= prev.total {
		return 0, false
	}
	return 100 * float64(c.busy-prev.busy) / float64(c.total-prev.total), true
}

// readCPUTimes parses the aggregate "cpu" line of /proc/stat.
func readCPUTimes(path string) (cpuTimes, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return cpuTimes{}, err
	}
	return parseCPUTimes(b)
}

func parseCPUTimes(b []byte) (cpuTimes, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return cpuTimes{}, fmt.Errorf("selfmon: /proc/stat: no aggregate cpu line")
	}
	var t cpuTimes
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("selfmon: /proc/stat: field %d: %w", i+1, err)
		}
		t.total += v
		if i != 3 && i != 4 { // idle and iowait are not busy
			t.busy += v
		}
	}
	return t, nil
}

func readRSS(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return parseKB(rest)
		}
	}
	return 0, fmt.Errorf("selfmon: no VmRSS in %s", path)
}

type meminfo struct{ total, available int64 }

func readMeminfo(path string) (meminfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return meminfo{}, err
	}
	defer f.Close()
	var m meminfo
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			m.total, _ = parseKB(rest)
		} else if rest, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
			m.available, _ = parseKB(rest)
		}
	}
	if m.total == 0 {
		return m, fmt.Errorf("selfmon: no MemTotal in %s", path)
	}
	return m, nil
}

func parseKB(s string) (int64, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, fmt.Errorf("selfmon: empty size")
	}
	v, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("selfmon: size %q: %w", f[0], err)
	}
	return v * 1024, nil
}

// readSoCTemp returns the hottest thermal zone of type cpu-thermal /
// x86_pkg_temp / soc..., or of any type if none is named so. Values are
// millidegrees.
func readSoCTemp(dir string) (float64, bool) {
	zones, _ := filepath.Glob(filepath.Join(dir, "thermal_zone*"))
	best, found := -1000.0, false
	for _, z := range zones {
		b, err := os.ReadFile(filepath.Join(z, "temp"))
		if err != nil {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil || v <= -40000 || v > 150000 {
			continue
		}
		if v/1000 > best {
			best, found = v/1000, true
		}
	}
	return best, found
}

func readUptime(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("selfmon: empty %s", path)
	}
	return strconv.ParseFloat(f[0], 64)
}
