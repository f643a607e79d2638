package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/update"
)

// updateConfig is a daemon that checks the loopback repository right
// after it starts and may install at any hour.
const updateConfig = `site: praxis-test
gateway: %s
state_dir: %s
uplink:
  broker: %s
  backoff_min: 100ms
  backoff_max: 1s
self: {interval: 2s}
web: {listen: "off", redirect_listen: "off"}
update:
  repo: %s
  insecure_http: true
  root_file: %s
  window: "00:00-24:00"
  interval: 1h
  random_delay: 1s
  trial_timeout: 60s
`

// TestDaemonUpdatesItself is the self-update end to end with real
// binaries: praxisgate 1.0.0 and 2.0.0 are built with -ldflags, 2.0.0 is
// published with "praxisgate release" and served over HTTP on loopback,
// and the running 1.0.0 daemon installs it, restarts into it, and 2.0.0
// passes its trial (uplink connected) and commits. The provider sees the
// update events and the status of 2.0.0 on a real Mosquitto. Both restart
// paths without systemd are covered: "update supervise" and the daemon
// re-executing itself through "update boot -exec".
func TestDaemonUpdatesItself(t *testing.T) {
	f := newUpdateFixture(t)
	for _, mode := range []string{"supervise", "reexec"} {
		t.Run(mode, func(t *testing.T) {
			took := f.updateOnce(t, "gw-"+mode, mode)
			t.Logf("%s: available → committed in %s (event timestamps)", mode, took)
		})
	}
}

// BenchmarkDaemonUpdate measures "update available" to "committed new
// version" with the real daemon on loopback (the issue's target: ≤ 30 s
// plus the download).
func BenchmarkDaemonUpdate(b *testing.B) {
	f := newUpdateFixture(b)
	for _, mode := range []string{"supervise", "reexec"} {
		b.Run(mode, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				// A new id each time: the subscriber keeps earlier runs' messages.
				total += f.updateOnce(b, fmt.Sprintf("gw-bench-%s-%d", mode, benchRuns.Add(1)), mode)
			}
			s := total.Seconds() / float64(b.N)
			b.ReportMetric(s, "s/available-to-committed")
			fmt.Printf("BenchmarkDaemonUpdate/%s: available → committed %.2f s (mean of %d)\n", mode, s, b.N)
		})
	}
}

// updateFixture is what every update run shares: the broker, the
// provider's repository with 2.0.0, and the two builds.
type updateFixture struct {
	mq       *testpeer.Mosquitto
	repoURL  string
	rootFile string
	bins     map[string]string
	sub      *eventLog
}

var (
	benchRuns  atomic.Int64
	buildsOnce sync.Once
	builds     map[string]string
	buildErr   error
)

// buildVersions builds praxisgate 1.0.0 and 2.0.0 once per test binary,
// beside TestMain's build (removed with it).
func buildVersions(tb testing.TB) map[string]string {
	buildsOnce.Do(func() {
		builds = map[string]string{}
		for _, v := range []string{"1.0.0", "2.0.0"} {
			builds[v] = filepath.Join(filepath.Dir(binary), "praxisgate-"+v)
			// -race like TestMain's binary, so only the link step is new.
			out, err := exec.Command("go", "build", "-race", "-ldflags", "-X main.version="+v, "-o", builds[v], ".").CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", v, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return builds
}

func newUpdateFixture(tb testing.TB) *updateFixture {
	f := &updateFixture{mq: testpeer.StartMosquitto(tb, testpeer.MosquittoOptions{}), bins: buildVersions(tb)}
	d := tb.TempDir()
	// The provider publishes 2.0.0.
	ctx := context.Background()
	repo, keys := filepath.Join(d, "repo"), filepath.Join(d, "keys")
	mustCall(ctx, tb, releaseCmd, "init", "-repo", repo, "-keys", keys)
	mustCall(ctx, tb, releaseCmd, "add", "-repo", repo, "-keys", keys, "-file", f.bins["2.0.0"], "-version", "2.0.0",
		"-os", runtime.GOOS, "-arch", runtime.GOARCH, "-rollout", "100")
	srv := httptest.NewServer(http.FileServer(http.Dir(repo)))
	tb.Cleanup(srv.Close)
	f.repoURL = srv.URL
	root, err := os.ReadFile(filepath.Join(repo, "root.json"))
	if err != nil {
		tb.Fatal(err)
	}
	f.rootFile = writeFile(tb, d, "update-root.json", string(root)) // provisioned on the box
	f.sub = listen(tb, f.mq.URL(), "praxisgate/v1/#")
	return f
}

// updateOnce provisions 1.0.0 for a new gateway id, runs it under
// "update supervise" or alone (re-exec), and waits until 2.0.0 has
// committed and said so. It returns the time from the available event to
// the committed event, by their timestamps.
func (f *updateFixture) updateOnce(tb testing.TB, gateway, mode string) time.Duration {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	state := filepath.Join(dir, "state")
	mustCall(ctx, tb, updateCmd, "provision", "-state", state, "-version", "1.0.0", "-binary", f.bins["1.0.0"])
	cfg := writeFile(tb, dir, "praxisgate.yaml", fmt.Sprintf(updateConfig, gateway, state, f.mq.URL(), f.repoURL, f.rootFile))
	argv := []string{filepath.Join(state, "current", "praxisgate"), "run", "-config", cfg}
	if mode == "supervise" {
		argv = []string{filepath.Join(state, "committed", "praxisgate"), "update", "supervise", "-state", state,
			"-restart-delay", "200ms", "-watchdog", "30s", "--", "run", "-config", cfg}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = withoutServiceManager(os.Environ())
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-done
		}
		if tb.Failed() || os.Getenv("PG_SHOW_LOGS") != "" {
			tb.Logf("daemon output:\n%s", logs.String())
		}
	}()

	topic := "praxisgate/v1/praxis-test/" + gateway + "/"
	events := topic + "event/gateway"
	f.sub.waitFor(tb, "1.0.0 online", topic+"status", `"state":"online","version":"1.0.0"`)
	f.sub.waitFor(tb, "update.installed 1.0.0 → 2.0.0", events,
		`"type":"update.installed"`, `"attrs":{"from":"1.0.0","reason":"restarting into the new version","state":"installed","to":"2.0.0"}`)
	f.sub.waitFor(tb, "2.0.0 online", topic+"status", `"state":"online","version":"2.0.0"`)
	f.sub.waitFor(tb, "update.trial of 2.0.0", events, `"type":"update.trial"`, `"to":"2.0.0"`)
	committed := f.sub.waitFor(tb, "update.committed 2.0.0", events, `"type":"update.committed"`, `"from":"1.0.0"`, `"to":"2.0.0"`)
	available := f.sub.waitFor(tb, "update.available", events, `"type":"update.available"`, `"to":"2.0.0"`)
	l := &update.Layout{Dir: state}
	if s, err := l.ReadState(); err != nil || s.Committed != "2.0.0" || s.Trial != nil {
		tb.Fatalf("state.json after the commit: %+v, %v", s, err)
	}
	if cur, err := l.Linked(); err != nil || cur != "2.0.0" {
		tb.Fatalf("current -> %q (%v), want 2.0.0", cur, err)
	}
	// 2.0.0 checks again and finds nothing newer.
	f.sub.waitFor(tb, "update.up_to_date from 2.0.0", events, `"type":"update.up_to_date"`, `"from":"2.0.0"`)

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			tb.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		tb.Error("did not stop within 30 s of SIGTERM")
	}
	out := logs.String()
	if strings.Contains(out, "DATA RACE") {
		tb.Error("the race detector reported a race in the daemon")
	}
	if mode == "reexec" && !strings.Contains(out, "re-executing through the boot accounting") {
		tb.Error("no re-exec in the log")
	}
	return committed.Sub(available)
}

// eventLog keeps every message a provider's subscriber received.
type eventLog struct {
	mu   sync.Mutex
	msgs map[string][]string
}

func listen(tb testing.TB, url, topic string) *eventLog {
	tb.Helper()
	e := &eventLog{msgs: map[string][]string{}}
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("provider-%d", time.Now().UnixNano())))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("subscriber connect: %v", tok.Error())
	}
	tb.Cleanup(func() { cl.Disconnect(100) })
	tok := cl.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		e.mu.Lock()
		e.msgs[m.Topic()] = append(e.msgs[m.Topic()], string(m.Payload()))
		e.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("subscribe: %v", tok.Error())
	}
	return e
}

// waitFor waits up to 60 s for a message on topic containing every part
// and returns its "ts".
func (e *eventLog) waitFor(tb testing.TB, what, topic string, parts ...string) time.Time {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		e.mu.Lock()
		msgs := e.msgs[topic]
		e.mu.Unlock()
	next:
		for _, m := range msgs {
			for _, p := range parts {
				if !strings.Contains(m, p) {
					continue next
				}
			}
			var h struct {
				TS time.Time `json:"ts"`
			}
			if err := json.Unmarshal([]byte(m), &h); err != nil {
				tb.Fatalf("%s: %v in %s", what, err, m)
			}
			return h.TS
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after 60 s waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mustCall runs a subcommand in process and fails the test on an error.
func mustCall(ctx context.Context, t testing.TB, f func(context.Context, []string, io.Writer, io.Writer) error, args ...string) {
	t.Helper()
	var out bytes.Buffer
	if err := f(ctx, args, &out, &out); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
}

// withoutServiceManager drops what would make the daemon believe systemd
// restarts it (the test itself may run inside a systemd service).
func withoutServiceManager(env []string) []string {
	var out []string
	for _, e := range env {
		name, _, _ := strings.Cut(e, "=")
		switch name {
		case "NOTIFY_SOCKET", "INVOCATION_ID", "WATCHDOG_USEC", "WATCHDOG_PID", "GOMEMLIMIT":
			continue
		}
		out = append(out, e)
	}
	return out
}

// syncBuffer collects the output of a process and its re-executions.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
