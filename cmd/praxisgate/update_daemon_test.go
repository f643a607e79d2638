package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
// after it starts and may install in the given window. Its web page is
// on, so a version on trial must have it answering. The last %s is extra
// YAML (e.g. a commands: section).
const updateConfig = `site: praxis-test
gateway: %s
state_dir: %s
uplink:
  broker: %s
  backoff_min: 100ms
  backoff_max: 1s
self: {interval: 2s}
web: {listen: "%s", redirect_listen: "off"}
update:
  repo: %s
  insecure_http: true
  root_file: %s
  window: "%s"
  interval: 1h
  random_delay: 100ms
  trial_timeout: %s
%s`

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

// TestDaemonRollsBackUnhealthyVersion: 2.0.0 is installed by the real
// 1.0.0 daemon but cannot become healthy (the broker is gone while it is
// on trial), so after trial_timeout it rolls back by itself; under
// "update supervise" 1.0.0 comes back. The broker stays down while 1.0.0
// runs the check 2.0.0 failed, so the world was down, not 2.0.0: it is
// not marked failed but planned for a retry, and once the broker is back
// 1.0.0 reports the rollback and the retry.
func TestDaemonRollsBackUnhealthyVersion(t *testing.T) {
	f := newUpdateFixtureWith(t, testpeer.MosquittoOptions{Persistence: true})
	const gateway = "gw-rollback"
	// 2 s between exit and restart: time to stop the broker before 2.0.0 starts.
	b := f.startBox(t, gateway, "supervise", "2s", "10s")
	defer b.cleanup()
	events := "praxisgate/v1/praxis-test/" + gateway + "/event/gateway"
	f.sub.waitFor(t, "update.installed", events, `"type":"update.installed"`, `"to":"2.0.0"`)
	f.mq.Stop()

	l := &update.Layout{Dir: b.state}
	waitFor(t, "2.0.0 rolled back in state.json", 90*time.Second, func() bool {
		s, err := l.ReadState()
		return err == nil && s.Committed == "1.0.0" && s.Trial == nil
	})
	waitFor(t, "1.0.0 started again", 30*time.Second, func() bool {
		return strings.Count(b.logs.String(), `version=1.0.0 devices=0`) >= 2
	})
	if !strings.Contains(b.logs.String(), `version=2.0.0 devices=0`) {
		t.Fatal("2.0.0 never ran")
	}
	if cur, err := l.Linked(); err != nil || cur != "1.0.0" {
		t.Fatalf("current -> %q (%v), want 1.0.0", cur, err)
	}
	// 1.0.0 cannot reach the broker either (trial_timeout 10s): a retry.
	waitFor(t, "a retry of 2.0.0 planned by 1.0.0", 60*time.Second, func() bool {
		s, err := l.ReadState()
		return err == nil && !s.IsFailed("2.0.0") && s.Doubt == nil && len(s.Retry) == 1 && s.Retry[0].Version == "2.0.0"
	})
	f.mq.Restart()
	f.sub.waitFor(t, "update.rolled_back (major) with the reason", events, `"type":"update.rolled_back"`, `"severity":"major"`,
		`"from":"2.0.0"`, `"to":"1.0.0"`, `not healthy within 10s: uplink: not connected to the broker`)
	f.sub.waitFor(t, "the retry, reported", events, `"type":"update.deferred"`, `"from":"1.0.0"`, `"to":"2.0.0"`,
		`2.0.0 was rolled back while the world was down: uplink failed for 1.0.0 too`)
	f.sub.waitFor(t, "2.0.0 waiting for its retry", events, `"type":"update.deferred"`, `"from":"1.0.0"`,
		`2.0.0 is tried again after`)
	b.stop()
	if strings.Contains(b.logs.String(), "DATA RACE") {
		t.Error("the race detector reported a race in the daemon")
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
			out, err := exec.Command("go", goBuild("-ldflags", "-X main.version="+v, "-o", builds[v], ".")...).CombinedOutput()
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
	return newUpdateFixtureWith(tb, testpeer.MosquittoOptions{})
}

func newUpdateFixtureWith(tb testing.TB, opts testpeer.MosquittoOptions) *updateFixture {
	f := &updateFixture{mq: testpeer.StartMosquitto(tb, opts), bins: buildVersions(tb)}
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
	// A persistent session that reconnects quickly: the provider misses
	// nothing across a Stop and Restart of a broker with persistence.
	f.sub = listen(tb, f.mq.URL(), "praxisgate/v1/#")
	return f
}

// updateOnce provisions 1.0.0 for a new gateway id, runs it under
// "update supervise" or alone (re-exec), and waits until 2.0.0 has
// committed and said so. It returns the time from the available event to
// the committed event, by their timestamps.
func (f *updateFixture) updateOnce(tb testing.TB, gateway, mode string) time.Duration {
	tb.Helper()
	b := f.startBox(tb, gateway, mode, "200ms", "60s")
	defer b.cleanup()
	state, logs := b.state, &b.logs
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
	// The provider asks over MQTT (update-check needs no signature).
	id := "uc-" + gateway
	f.sub.publish(tb, topic+"cmd/update-check", `{"id":"`+id+`"}`)
	f.sub.waitFor(tb, "update-check reply", topic+"reply/"+id, `"ok":true`, `"state":"up_to_date"`, `"from":"2.0.0"`)

	b.stop()
	out := logs.String()
	if strings.Contains(out, "DATA RACE") {
		tb.Error("the race detector reported a race in the daemon")
	}
	if mode == "reexec" && !strings.Contains(out, "re-executing through the boot accounting") {
		tb.Error("no re-exec in the log")
	}
	return committed.Sub(available)
}

// box is one gateway's install tree and its running daemon.
type box struct {
	tb      testing.TB
	state   string
	cmd     *exec.Cmd
	done    chan error
	stopped bool
	logs    syncBuffer
}

// startBox provisions 1.0.0 for a new gateway id and starts it under
// "update supervise" (restarting after restartDelay) or alone (mode
// reexec), with the given update.trial_timeout.
func (f *updateFixture) startBox(tb testing.TB, gateway, mode, restartDelay, trialTimeout string) *box {
	tb.Helper()
	return f.startBoxWith(tb, boxOptions{gateway: gateway, mode: mode, restartDelay: restartDelay, trialTimeout: trialTimeout})
}

// boxOptions describe one gateway for startBoxWith; empty fields take
// the defaults of startBox's scenario.
type boxOptions struct {
	gateway, mode, restartDelay, trialTimeout string
	first                                     string // version provisioned; default 1.0.0
	repoURL, rootFile                         string // default: the fixture's repository
	window                                    string // default: always open
	extra                                     string // YAML appended to the config
	watchdog                                  string // update supervise -watchdog; default 30s
	// startTimeout is update supervise -start-timeout; default 60s: a
	// -race build on a loaded machine may need more than the unit's 12 s
	// to say READY=1.
	startTimeout string
	env          []string
	bins         map[string]string // builds by version; default the fixture's
}

func (f *updateFixture) startBoxWith(tb testing.TB, o boxOptions) *box {
	tb.Helper()
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&o.first, "1.0.0")
	def(&o.repoURL, f.repoURL)
	def(&o.rootFile, f.rootFile)
	def(&o.window, "00:00-24:00")
	def(&o.watchdog, "30s")
	def(&o.startTimeout, "60s")
	ctx := context.Background()
	dir := tb.TempDir()
	b := &box{tb: tb, state: filepath.Join(dir, "state"), done: make(chan error, 1)}
	if o.bins == nil {
		o.bins = f.bins
	}
	bin, ok := o.bins[o.first]
	if !ok {
		tb.Fatalf("no build of %s", o.first)
	}
	mustCall(ctx, tb, updateCmd, "provision", "-state", b.state, "-version", o.first, "-binary", bin)
	cfg := writeFile(tb, dir, "praxisgate.yaml", fmt.Sprintf(updateConfig, o.gateway, b.state, f.mq.URL(), freeAddr(tb),
		o.repoURL, o.rootFile, o.window, o.trialTimeout, o.extra))
	argv := []string{filepath.Join(b.state, "current", "praxisgate"), "run", "-config", cfg}
	if o.mode == "supervise" {
		argv = []string{filepath.Join(b.state, "committed", "praxisgate"), "update", "supervise", "-state", b.state,
			"-restart-delay", o.restartDelay, "-watchdog", o.watchdog, "-start-timeout", o.startTimeout, "--", "run", "-config", cfg}
	}
	b.cmd = exec.Command(argv[0], argv[1:]...)
	b.cmd.Env = append(withoutServiceManager(os.Environ()), o.env...)
	b.cmd.Stdout, b.cmd.Stderr = &b.logs, &b.logs
	if err := b.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	return b
}

// stop ends the daemon (or its supervisor) with SIGTERM and expects a
// clean exit.
func (b *box) stop() {
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-b.done:
		b.stopped = true
		if err != nil {
			b.tb.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		b.tb.Error("did not stop within 30 s of SIGTERM")
	}
}

// cleanup kills a daemon still running and shows its output on failure.
func (b *box) cleanup() {
	if !b.stopped {
		b.cmd.Process.Kill()
		<-b.done
	}
	if b.tb.Failed() || os.Getenv("PG_SHOW_LOGS") != "" {
		b.tb.Logf("daemon output:\n%s", b.logs.String())
	}
}

// eventLog keeps every message a provider's subscriber received.
type eventLog struct {
	cl   mqtt.Client
	mu   sync.Mutex
	msgs map[string][]string
}

// publish sends a message as the provider (QoS 1).
func (e *eventLog) publish(tb testing.TB, topic, payload string) {
	tb.Helper()
	if tok := e.cl.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func listen(tb testing.TB, url, topic string) *eventLog {
	tb.Helper()
	e := &eventLog{msgs: map[string][]string{}}
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("provider-%d", time.Now().UnixNano())).
		SetCleanSession(false).SetMaxReconnectInterval(300 * time.Millisecond))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("subscriber connect: %v", tok.Error())
	}
	tb.Cleanup(func() { cl.Disconnect(100) })
	e.cl = cl
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
	return e.waitForAfter(tb, what, topic, time.Time{}, parts...)
}

// waitForAfter is waitFor for a message whose "ts" is after after (a
// version that comes back says "online" again).
func (e *eventLog) waitForAfter(tb testing.TB, what, topic string, after time.Time, parts ...string) time.Time {
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
			if h.TS.After(after) {
				return h.TS
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after 60 s waiting for %s; messages on %s:\n%s", what, topic, strings.Join(msgs, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count is how many messages on topic contain every part.
func (e *eventLog) count(topic string, parts ...string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
next:
	for _, m := range e.msgs[topic] {
		for _, p := range parts {
			if !strings.Contains(m, p) {
				continue next
			}
		}
		n++
	}
	return n
}

// freeAddr is a loopback address with a port nobody listens on now.
func freeAddr(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
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
