package uplink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// The crash test re-executes the test binary as the gateway: these
// variables tell the child what to do.
const (
	envCrashChild  = "PRAXISGATE_UPLINK_CRASH_CHILD" // "load" or "drain"
	envCrashDir    = "PRAXISGATE_UPLINK_CRASH_DIR"
	envCrashBroker = "PRAXISGATE_UPLINK_CRASH_BROKER"
	envCrashRun    = "PRAXISGATE_UPLINK_CRASH_RUN"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envCrashChild); mode != "" {
		os.Exit(crashChild(mode))
	}
	os.Exit(m.Run())
}

// crashChild is the gateway process of TestCrashSafetyEndToEnd: it opens
// the buffer, runs the uplink and, in "load" mode, appends records from
// four goroutines until it is killed, printing "APPENDED seq run counter"
// after each Append returned nil. In "drain" mode it appends nothing and
// exits cleanly once the buffer is empty.
func crashChild(mode string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	run, _ := strconv.Atoi(os.Getenv(envCrashRun))
	q, err := buffer.Open(os.Getenv(envCrashDir), buffer.Options{Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open buffer:", err)
		return 2
	}
	var out sync.Mutex
	say := func(format string, a ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", a...)
	}
	say("OPENED %d last_seq=%d records=%d", run, q.Stats().LastSeq, q.Stats().Records)
	u, err := New(Options{Config: testConfig(os.Getenv(envCrashBroker)), Site: testSite, Gateway: testGateway,
		Origin: contract.Origin{Gateway: testGateway, Boot: fmt.Sprintf("run-%d", run)}, Version: "crash-test", Logger: log}, q)
	if err != nil {
		fmt.Fprintln(os.Stderr, "uplink:", err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- u.Run(ctx) }()
	switch mode {
	case "load":
		var counter sync.Mutex
		next := 0
		for w := range 4 {
			go func() {
				for {
					counter.Lock()
					n := next
					next++
					counter.Unlock()
					rec := crashRecord(run, n, w)
					recs := []buffer.Record{rec}
					if err := q.Append(ctx, recs); err != nil {
						fmt.Fprintln(os.Stderr, "append:", err)
						os.Exit(3)
					}
					say("APPENDED %d %d %d", recs[0].Seq, run, n)
				}
			}()
		}
		select {} // until SIGKILL
	case "drain":
		deadline := time.Now().Add(2 * time.Minute)
		for q.Stats().Records > 0 {
			if time.Now().After(deadline) {
				fmt.Fprintln(os.Stderr, "drain: buffer not empty after 2 minutes:", q.Stats().Records)
				return 4
			}
			time.Sleep(10 * time.Millisecond)
		}
		say("EMPTY")
	}
	cancel()
	if err := <-ran; err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 5
	}
	if err := q.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		return 6
	}
	return 0
}

// crashRecord carries run and counter in its payload, so the parent can
// tell whether one seq was ever given to two different records. Every
// tenth record is an event, to exercise both classes.
func crashRecord(run, n, worker int) buffer.Record {
	dev := fmt.Sprintf("dev-%d", worker)
	st := contract.Stamp{Time: time.Now(), Synced: true}
	if n%10 == 9 {
		b, _ := testOrigin.EncodeEvent(drivers.Event{Device: dev, Type: "test.tick", Severity: drivers.Info, Message: "tick",
			Attrs: map[string]any{"run": run, "counter": n}}, st)
		return buffer.Record{Class: buffer.Event, Topic: contract.EventTopic(dev), Payload: b}
	}
	b, _ := testOrigin.EncodeTelemetry(drivers.Sample{Device: dev, Kind: "test", Metrics: []drivers.Metric{
		drivers.Num("test.run", float64(run), ""), drivers.Num("test.counter", float64(n), ""),
	}}, st)
	return buffer.Record{Class: buffer.Telemetry, Topic: contract.TelemetryTopic(dev), Payload: b}
}

// identity extracts "run/counter" from a crash record's payload.
func identity(payload []byte) (string, error) {
	var p struct {
		Metrics []contract.MetricJSON `json:"metrics"`
		Attrs   map[string]any        `json:"attrs"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return "", err
	}
	if p.Attrs != nil {
		return fmt.Sprintf("%v/%v", p.Attrs["run"], p.Attrs["counter"]), nil
	}
	if len(p.Metrics) != 2 {
		return "", fmt.Errorf("unexpected metrics in %s", payload)
	}
	return fmt.Sprintf("%v/%v", p.Metrics[0].Value, p.Metrics[1].Value), nil
}

// child is one started gateway process.
type child struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *bytes.Buffer
	exited chan struct{}
}

func startChild(t *testing.T, mode, dir, broker string, run int) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envCrashChild+"="+mode, envCrashDir+"="+dir, envCrashBroker+"="+broker, envCrashRun+"="+strconv.Itoa(run))
	c := &child{cmd: cmd, lines: make(chan string, 1<<16), stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = c.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	go func() {
		// Wait closes the pipe, so it is called only after stdout hit EOF
		// (the child exited), when every line has been read.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		_ = cmd.Wait()
		close(c.exited)
		close(c.lines)
	}()
	return c
}

// TestCrashSafetyEndToEnd kills the gateway process with SIGKILL at random
// moments while it appends under load and publishes, at least 20 times,
// then lets it drain. Every seq reported as appended must reach the
// subscriber, no seq may carry two different records, and every restart
// must open the buffer.
func TestCrashSafetyEndToEnd(t *testing.T) {
	const kills = 20
	m := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	obs := newObserver(t, m.URL(), testRoot+"/#", false)
	dir := t.TempDir()
	appended := map[uint64]string{} // seq → run/counter, from the children
	opened := 0
	collect := func(c *child, run int, stopAfter func()) {
		t.Helper()
		for line := range c.lines {
			f := strings.Fields(line)
			switch {
			case len(f) >= 2 && f[0] == "OPENED":
				opened++
				if stopAfter != nil {
					go stopAfter()
				}
			case len(f) == 4 && f[0] == "APPENDED":
				seq, err := strconv.ParseUint(f[1], 10, 64)
				if err != nil {
					continue // a line cut by the kill
				}
				id := f[2] + "/" + f[3]
				if prev, dup := appended[seq]; dup && prev != id {
					t.Errorf("seq %d appended twice: as %s and as %s", seq, prev, id)
				}
				appended[seq] = id
			}
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for run := 0; run < kills; run++ {
		if time.Now().After(deadline) {
			t.Fatalf("only %d kills within the time bound", run)
		}
		c := startChild(t, "load", dir, m.URL(), run)
		life := time.Duration(100+rand.IntN(600)) * time.Millisecond
		killed := make(chan struct{})
		collect(c, run, func() {
			defer close(killed)
			select {
			case <-time.After(life):
				_ = c.cmd.Process.Signal(syscall.SIGKILL)
			case <-c.exited:
			}
		})
		<-c.exited
		select {
		case <-killed:
		default:
			t.Fatalf("run %d never opened the buffer; stderr:\n%s", run, c.stderr)
		}
		if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("run %d ended by itself (%v), not by the kill; stderr:\n%s", run, c.cmd.ProcessState, c.stderr)
		}
	}
	c := startChild(t, "drain", dir, m.URL(), kills)
	empty := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		for line := range c.lines {
			if line == "EMPTY" {
				empty = true
			} else if strings.HasPrefix(line, "OPENED") {
				opened++
			}
		}
	}()
	select {
	case <-c.exited:
	case <-time.After(3 * time.Minute):
		_ = c.cmd.Process.Kill()
		t.Fatalf("drain run did not finish; stderr:\n%s", c.stderr)
	}
	<-done
	if !empty || !c.cmd.ProcessState.Success() {
		t.Fatalf("drain run: empty=%v state=%v stderr:\n%s", empty, c.cmd.ProcessState, c.stderr)
	}
	if opened != kills+1 {
		t.Errorf("%d of %d runs opened the buffer", opened, kills+1)
	}
	if len(appended) < kills {
		t.Fatalf("only %d records appended in %d runs: the load did not run", len(appended), kills)
	}
	waitFor(t, 30*time.Second, "every appended seq at the subscriber", func() bool {
		for seq := range appended {
			if _, ok := obs.payload(seq); !ok {
				return false
			}
		}
		return true
	})
	// Every copy of every seq the subscriber saw (duplicates included)
	// must be the same record.
	ids := map[uint64]string{}
	for _, msg := range obs.messages() {
		if !msg.HasSeq {
			continue
		}
		id, err := identity(msg.Payload)
		if err != nil {
			t.Fatalf("seq %d: %v", msg.Seq, err)
		}
		if prev, ok := ids[msg.Seq]; ok && prev != id {
			t.Errorf("seq %d delivered as two different records: %s and %s", msg.Seq, prev, id)
		}
		ids[msg.Seq] = id
		if want, ok := appended[msg.Seq]; ok && want != id {
			t.Errorf("seq %d: child appended %s, subscriber got %s", msg.Seq, want, id)
		}
	}
	t.Logf("%d kills, %d records reported appended, %d distinct seqs delivered, %d messages in all",
		kills, len(appended), len(ids), len(obs.messages()))
}
