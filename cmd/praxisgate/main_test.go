package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers/snmp/snmpsim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/image/vmtest"
)

// Black-box tests of the built binary: what a technician and the provider
// see, exit codes included.

var binary string

func TestMain(m *testing.M) {
	// snmpd runs this binary as the pass_persist helper of the night's
	// SNMP agents (night_test.go).
	if snmpsim.HelperMain() {
		os.Exit(0)
	}
	// In a qemu guest (night_vm_test.go) there is no Go toolchain; the
	// guest half needs no build of its own.
	if vmtest.InGuest() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "praxisgate-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "praxisgate")
	out, err := exec.Command("go", goBuild("-ldflags", "-X main.version=9.9.9-test", "-o", binary, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func runBin(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("praxisgate %v did not finish within %s\nstdout:\n%s\nstderr:\n%s", args, timeout, so.String(), se.String())
	}
	return result{so.String(), se.String(), cmd.ProcessState.ExitCode()}
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersionAndHelp(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version"}, 0, "praxisgate 9.9.9-test\n"},
		{[]string{"--help"}, 0, ""},
		{[]string{}, 2, ""},
		{[]string{"frobnicate"}, 2, ""},
		{[]string{"run", "--help"}, 0, ""},
		{[]string{"demo", "--help"}, 0, ""},
		{[]string{"check-config", "--help"}, 0, ""},
		{[]string{"poll", "--help"}, 0, ""},
		{[]string{"version", "--help"}, 0, ""},
		{[]string{"run", "--no-such-flag"}, 2, ""},
		{[]string{"check-config"}, 2, ""},
	}
	for _, c := range cases {
		r := runBin(t, time.Minute, c.args...)
		if r.code != c.code {
			t.Errorf("praxisgate %v: exit %d, want %d\n%s", c.args, r.code, c.code, r.stderr)
		}
		if c.out != "" && r.stdout != c.out {
			t.Errorf("praxisgate %v: stdout %q, want %q", c.args, r.stdout, c.out)
		}
	}
	if r := runBin(t, time.Minute, "--help"); !strings.Contains(r.stderr, "check-config") {
		t.Errorf("help does not list the commands:\n%s", r.stderr)
	}
}

const goodConfig = `site: praxis-test
gateway: gw-01
state_dir: %s
uplink:
  broker: %s
  backoff_min: 100ms
  backoff_max: 1s
self: {interval: 2s}
web: {listen: "off", redirect_listen: "off"}
devices:
  - id: kuehlschrank
    driver: sim
    kind: fridge
    interval: 1s
    sim: {scenario: fridge}
  - id: usv
    driver: sim
    interval: 1s
    sim: {scenario: ups, episodes: [{at: 0s, for: 1h}]}
  - id: haengt
    driver: sim
    interval: 1s
    timeout: 300ms
    unreachable_after: 1
    sim: {scenario: room, failures: [{at: 0s, for: 1h, mode: hang}]}
alarms:
  - {device: kuehlschrank, metric: temperature, above: 3, severity: critical}
`

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", fmt.Sprintf(goodConfig, dir, "tcp://127.0.0.1:1883"))
	r := runBin(t, time.Minute, "check-config", good)
	if r.code != 0 || !strings.Contains(r.stdout, "OK (site praxis-test, gateway gw-01, 3 device(s), 1 alarm rule(s))") {
		t.Fatalf("good config: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	bad := writeFile(t, dir, "bad.yaml", `site: Praxis Test
gateway: gw-01
uplink: {broker: "tcp://127.0.0.1:1883", keepalive: often}
devices:
  - id: a
    driver: sim
    intervall: 5s
  - id: a
    driver: toaster
`)
	r = runBin(t, time.Minute, "check-config", bad)
	if r.code != 1 {
		t.Fatalf("bad config: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`bad.yaml:1:1: site: must be a slug`,
		`bad.yaml:3:53: uplink.keepalive: want a duration like 30s, got "often"`,
		`bad.yaml:7:5: devices[0].intervall: unknown key (did you mean "interval"?)`,
		`bad.yaml:8:5: devices[1].id: duplicate device id "a" (first at line 5)`,
		`bad.yaml:9:5: devices[1].driver: unknown driver "toaster"`,
		"5 problem(s) in",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, r.stdout)
		}
	}
	// The daemon refuses the same file with the same lines.
	r = runBin(t, time.Minute, "run", "-config", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "devices[0].intervall: unknown key") {
		t.Fatalf("run with a bad config: exit %d\n%s", r.code, r.stderr)
	}
}

func TestPollOnceJSON(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", fmt.Sprintf(goodConfig, dir, "tcp://127.0.0.1:1883"))
	r := runBin(t, time.Minute, "poll", "-config", cfg, "-once", "-json")
	if r.code != 1 { // the hanging device fails
		t.Fatalf("exit %d, want 1 (one device hangs)\n%s%s", r.code, r.stdout, r.stderr)
	}
	got := map[string]pollResult{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var pr pollResult
		if err := json.Unmarshal(sc.Bytes(), &pr); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got[pr.Device] = pr
	}
	if len(got) != 3 {
		t.Fatalf("%d devices polled, want 3:\n%s", len(got), r.stdout)
	}
	if f := got["kuehlschrank"]; !f.OK || f.Kind != "fridge" || len(f.Metrics) == 0 || f.Metrics[0].Name != "temperature" {
		t.Errorf("fridge: %+v", f)
	}
	if u := got["usv"]; !u.OK || len(u.Conditions) != 1 || u.Conditions[0].Name != "ups.on_battery" {
		t.Errorf("ups on battery: %+v", u)
	}
	if h := got["haengt"]; h.OK || !strings.Contains(h.Error, "no answer") && !strings.Contains(h.Error, "no result") {
		t.Errorf("hanging device: %+v", h)
	}
}

// collector subscribes to a broker and keeps every message by topic.
type collector struct {
	mu   sync.Mutex
	msgs map[string][][]byte
}

func subscribe(t *testing.T, url, topic string) *collector {
	t.Helper()
	c := &collector{msgs: map[string][][]byte{}}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID("test-provider").SetCleanSession(true)
	cl := mqtt.NewClient(opts)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	tok := cl.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		c.mu.Lock()
		c.msgs[m.Topic()] = append(c.msgs[m.Topic()], append([]byte(nil), m.Payload()...))
		c.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return c
}

func (c *collector) find(topic, contains string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs[topic] {
		if strings.Contains(string(m), contains) {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRunPublishes runs the daemon against a real Mosquitto: a hanging
// device is reported unreachable while the others keep publishing, a
// driver condition becomes an alarm, and SIGTERM leaves "offline" retained.
func TestRunPublishes(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", fmt.Sprintf(goodConfig, dir, mq.URL()))
	sub := subscribe(t, mq.URL(), "praxisgate/v1/#")

	cmd := exec.Command(binary, "run", "-config", cfg)
	var se bytes.Buffer
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	root := "praxisgate/v1/praxis-test/gw-01/"
	waitFor(t, "status online", 30*time.Second, func() bool { return sub.find(root+"status", `"state":"online"`) })
	waitFor(t, "fridge telemetry", 30*time.Second, func() bool { return sub.find(root+"telemetry/kuehlschrank", `"name":"temperature"`) })
	waitFor(t, "hanging device unreachable", 30*time.Second, func() bool {
		return sub.find(root+"event/haengt", `"type":"device.unreachable"`)
	})
	waitFor(t, "UPS on-battery alarm", 30*time.Second, func() bool {
		return sub.find(root+"event/usv", `"type":"alarm.raised"`) && sub.find(root+"alarms", `"usv/ups.on_battery"`)
	})
	waitFor(t, "self-telemetry", 30*time.Second, func() bool { return sub.find(root+"telemetry/gateway", `"buffer.records"`) })
	// The fridge keeps publishing while "haengt" hangs.
	n := func() int { sub.mu.Lock(); defer sub.mu.Unlock(); return len(sub.msgs[root+"telemetry/kuehlschrank"]) }
	before := n()
	waitFor(t, "more fridge readings", 30*time.Second, func() bool { return n() >= before+3 })

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, se.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon did not stop after SIGTERM\n%s", se.String())
	}
	waitFor(t, "status offline", 10*time.Second, func() bool { return sub.find(root+"status", `"state":"offline"`) })
}

// TestDemo runs a short demo: the embedded broker, a link outage, and no
// seq gaps at the provider.
func TestDemo(t *testing.T) {
	r := runBin(t, 2*time.Minute, "demo", "--duration", "14s", "--outage-at", "4s", "--outage-for", "4s", "--listen", "127.0.0.1:0")
	if r.code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"internet down", "internet back", "no gaps", "mosquitto_sub -h 127.0.0.1", "[provider]", "status: online"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// goBuild returns the arguments of `go build` for a test binary: with the
// race detector when the tests themselves run under it.
func goBuild(args ...string) []string {
	b := []string{"build"}
	if raceEnabled {
		b = append(b, "-race")
	}
	return append(b, args...)
}
