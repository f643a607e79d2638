package fleetwatch

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// The watcher's Prometheus series, written in the Prometheus text format
// (version 0.0.4) by this file. It used client_golang before; that library
// and what it pulls in (client_model, common, procfs, a second YAML
// library) cost 0.7 MB of the one binary that also runs on every box, for
// twelve counters and gauges. A registry per watcher keeps several watchers
// in one process (tests) apart.

// value is one series: a counter or a gauge, safe for concurrent use.
type value struct{ bits atomic.Uint64 }

func (v *value) Inc() { v.Add(1) }

func (v *value) Add(d float64) {
	for {
		old := v.bits.Load()
		if v.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

func (v *value) Set(f float64) { v.bits.Store(math.Float64bits(f)) }

func (v *value) get() float64 { return math.Float64frombits(v.bits.Load()) }

// family is a metric name with its help, type and series; a family without
// label names has exactly one series.
type family struct {
	name, help, typ string
	labels          []string
	one             value
	mu              sync.Mutex
	series          map[string]*value // key: the label pairs as written
}

// WithLabelValues returns the series for the values of the family's
// labels, in their order, creating it at its first use.
func (f *family) WithLabelValues(vals ...string) *value {
	if len(vals) != len(f.labels) {
		panic(fmt.Sprintf("fleetwatch: metric %s has %d labels, got %d values", f.name, len(f.labels), len(vals)))
	}
	var b strings.Builder
	for i, l := range f.labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(vals[i]))
		b.WriteByte('"')
	}
	key := b.String()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.series == nil {
		f.series = map[string]*value{}
	}
	v := f.series[key]
	if v == nil {
		v = new(value)
		f.series[key] = v
	}
	return v
}

func (f *family) Inc()          { f.one.Inc() }
func (f *family) Add(d float64) { f.one.Add(d) }
func (f *family) Set(x float64) { f.one.Set(x) }

// write appends the family in the text format; series sorted by labels.
func (f *family) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
	if len(f.labels) == 0 {
		fmt.Fprintf(w, "%s %s\n", f.name, formatFloat(f.one.get()))
		return
	}
	f.mu.Lock()
	keys := make([]string, 0, len(f.series))
	for k := range f.series {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := make([]float64, len(keys))
	for i, k := range keys {
		vals[i] = f.series[k].get()
	}
	f.mu.Unlock()
	for i, k := range keys {
		fmt.Fprintf(w, "%s{%s} %s\n", f.name, k, formatFloat(vals[i]))
	}
}

type metrics struct {
	families     []*family
	messages     *family
	invalid      *family
	members      *family
	owned        *family
	offline      *family
	unsynced     *family
	gaps         *family
	missing      *family
	reboots      *family
	alerts       *family
	webhookFails *family
	digests      *family
}

func newMetrics() *metrics {
	m := &metrics{}
	f := func(typ, name, help string, labels ...string) *family {
		fam := &family{name: "praxisgate_watch_" + name, help: help, typ: typ, labels: labels}
		m.families = append(m.families, fam)
		return fam
	}
	m.messages = f("counter", "messages_total", "Box messages received, by topic kind.", "kind")
	m.invalid = f("counter", "invalid_messages_total", "Messages that did not parse (topic or JSON).")
	m.members = f("gauge", "members", "Live watcher instances of the group, this one included.")
	m.owned = f("gauge", "boxes_owned", "Boxes this instance is responsible for.")
	m.offline = f("gauge", "boxes_offline", "Owned boxes that are offline (Last Will or silent).")
	m.unsynced = f("gauge", "boxes_clock_unsynced", "Owned boxes whose last message said clock unsynced.")
	m.gaps = f("counter", "seq_gaps_total", "Seq ranges reported missing.")
	m.missing = f("counter", "seq_missing_total", "Seqs reported missing.")
	m.reboots = f("counter", "reboots_total", "Reboots (new boot id) of owned boxes.")
	m.alerts = f("counter", "alerts_total", "Alerts queued for the webhook, by alertname and state.", "alertname", "state")
	m.webhookFails = f("counter", "webhook_errors_total", "Failed webhook posts (retried).")
	m.digests = f("counter", "digests_sent_total", "Digests passed to other instances.")
	return m
}

// ServeHTTP answers a scrape: the watcher's families, then the Go runtime's
// and the process's series under the names client_golang's collectors use
// (go_*, process_*), so dashboards built on those keep working.
func (m *metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	for _, f := range m.families {
		f.write(bw)
	}
	writeGo(bw)
	writeProcess(bw)
	_ = bw.Flush()
}

func sample(w io.Writer, typ, name, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, typ, name, formatFloat(v))
}

// writeGo writes the Go runtime's series under the names Prometheus users
// know from other Go programs (go_*, go_memstats_*), so existing
// dashboards and alerts on a watcher's memory keep working.
func writeGo(w io.Writer) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "# HELP go_info The Go version the watcher was built with (label version).\n# TYPE go_info gauge\ngo_info{version=\"%s\"} 1\n", escapeLabel(runtime.Version()))
	for _, x := range []struct {
		typ, name, help string
		v               float64
	}{
		{"gauge", "go_goroutines", "Goroutines running now.", float64(runtime.NumGoroutine())},
		{"gauge", "go_sched_gomaxprocs_threads", "GOMAXPROCS: how many threads may run Go code at once.", float64(runtime.GOMAXPROCS(0))},
		{"gauge", "go_memstats_alloc_bytes", "Heap bytes held by live and not yet collected objects.", float64(ms.HeapAlloc)},
		{"counter", "go_memstats_alloc_bytes_total", "Heap bytes ever allocated, freed ones included.", float64(ms.TotalAlloc)},
		{"gauge", "go_memstats_sys_bytes", "Bytes of memory the runtime has taken from the operating system.", float64(ms.Sys)},
		{"counter", "go_memstats_mallocs_total", "Heap objects ever allocated.", float64(ms.Mallocs)},
		{"counter", "go_memstats_frees_total", "Heap objects ever freed.", float64(ms.Frees)},
		{"gauge", "go_memstats_heap_alloc_bytes", "Heap bytes held by live and not yet collected objects.", float64(ms.HeapAlloc)},
		{"gauge", "go_memstats_heap_sys_bytes", "Heap bytes taken from the operating system.", float64(ms.HeapSys)},
		{"gauge", "go_memstats_heap_idle_bytes", "Heap bytes in spans holding no object.", float64(ms.HeapIdle)},
		{"gauge", "go_memstats_heap_inuse_bytes", "Heap bytes in spans holding at least one object.", float64(ms.HeapInuse)},
		{"gauge", "go_memstats_heap_released_bytes", "Idle heap bytes given back to the operating system.", float64(ms.HeapReleased)},
		{"gauge", "go_memstats_heap_objects", "Heap objects live or not yet collected.", float64(ms.HeapObjects)},
		{"gauge", "go_memstats_stack_inuse_bytes", "Bytes in goroutine stack spans.", float64(ms.StackInuse)},
		{"gauge", "go_memstats_next_gc_bytes", "Heap size at which the next garbage collection starts.", float64(ms.NextGC)},
		{"gauge", "go_memstats_last_gc_time_seconds", "Unix time of the last garbage collection's end.", float64(ms.LastGC) / 1e9},
	} {
		sample(w, x.typ, x.name, x.help, x.v)
	}
}

// Linux's clock tick for /proc times: USER_HZ is 100 on every architecture
// the box and the provider's servers use.
const userHZ = 100

// writeProcess writes the process's series from /proc (as client_golang's
// process collector does on Linux); where /proc is unreadable it writes
// none of them, which Prometheus takes as absent series.
func writeProcess(w io.Writer) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// the fields after the last ')' start with field 3 (state).
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return
	}
	f := strings.Fields(s[i+1:])
	field := func(n int) float64 { // n: the field's number in proc(5)
		if n-3 >= len(f) {
			return 0
		}
		x, _ := strconv.ParseFloat(f[n-3], 64)
		return x
	}
	sample(w, "counter", "process_cpu_seconds_total", "CPU time in user and kernel mode, in seconds.", (field(14)+field(15))/userHZ)
	sample(w, "gauge", "process_virtual_memory_bytes", "Address space the process has mapped, in bytes.", field(23))
	sample(w, "gauge", "process_resident_memory_bytes", "Memory the process holds in RAM, in bytes.", field(24)*float64(os.Getpagesize()))
	if bt := bootTime(); bt > 0 {
		sample(w, "gauge", "process_start_time_seconds", "Unix time the process started.", bt+field(22)/userHZ)
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		sample(w, "gauge", "process_open_fds", "File descriptors the process has open.", float64(len(fds)))
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		sample(w, "gauge", "process_max_fds", "The limit on open file descriptors (RLIMIT_NOFILE, soft).", float64(rl.Cur))
	}
}

var bootOnce = sync.OnceValue(func() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			x, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return x
		}
	}
	return 0
})

// bootTime is the kernel's boot time (Unix seconds), which the start time
// in /proc/self/stat counts from.
func bootTime() float64 { return bootOnce() }

// formatFloat writes a sample value as the text format wants it.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
