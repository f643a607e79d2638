package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/fleetwatch"
)

// watchSink is the provider's Alertmanager stand-in: an httptest server
// on loopback keeping every alert posted.
type watchSink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []fleetwatch.Alert
	bad    int
}

func newWatchSink(t testing.TB) *watchSink {
	s := &watchSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []fleetwatch.Alert
		err := json.NewDecoder(r.Body).Decode(&batch)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.bad++
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.alerts = append(s.alerts, batch...)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// firing returns, per box, the watchers that posted a firing alert of name.
func (s *watchSink) firing(name string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for _, a := range s.alerts {
		if a.Labels["alertname"] == name && (a.EndsAt == "" || name == fleetwatch.AlertSeqGap) {
			box := a.Labels["site"] + "/" + a.Labels["gateway"]
			out[box] = append(out[box], a.Annotations["watcher"])
		}
	}
	return out
}

// watchProc is one `praxisgate watch` process.
type watchProc struct {
	id, listen string
	cmd        *exec.Cmd
	out        *bytes.Buffer
	done       chan struct{}
}

func startWatch(t *testing.T, id, broker, webhook string) *watchProc {
	t.Helper()
	port, err := testpeer.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	w := &watchProc{id: id, listen: "127.0.0.1:" + strconv.Itoa(port), out: &bytes.Buffer{}, done: make(chan struct{})}
	w.cmd = execWatch(broker, w.listen, webhook, "-instance", id,
		"-interval", "1s", "-silence-factor", "30", "-gap-grace", "5s", "-tick", "250ms", "-resend", "0", "-sla", "")
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
		if t.Failed() {
			t.Logf("watch %s output (tail):\n%s", id, tail(w.out.String(), 3000))
		}
	})
	return w
}

func execWatch(broker, listen, webhook string, args ...string) *exec.Cmd {
	return exec.Command(binary, append([]string{"watch", "-broker", broker, "-listen", listen, "-webhook", webhook}, args...)...)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// metric reads one unlabelled series of the instance's /metrics (-1: none).
func (w *watchProc) metric(name string) float64 {
	resp, err := http.Get("http://" + w.listen + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// waitFor polls cond until it holds; the limit is a hang guard only.
func watchWait(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("hang guard: %s not reached within %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Three watch instances against a fleetsim fleet on Mosquitto (issue 21):
// stopped boxes are reported offline once by exactly one instance, a seq
// gap is reported, and after one instance is killed (kill -9) the others
// take its share without missing a box.
func TestWatchFleet(t *testing.T) {
	raiseFileLimit(t)
	n := 500 // issue 21: 500 fleetsim gateways (copes under -race too: about 15 s)
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{Extra: []string{"max_connections -1"}})
	sink := newWatchSink(t)
	ids := []string{"w1", "w2", "w3"}
	watchers := map[string]*watchProc{}
	for _, id := range ids {
		watchers[id] = startWatch(t, id, mq.URL(), sink.srv.URL)
	}
	watchWait(t, "three members", 60*time.Second, func() bool {
		for _, w := range watchers {
			if w.metric("praxisgate_watch_members") != 3 {
				return false
			}
		}
		return true
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fleet := make([]*fleetGateway, n)
	stops := make([]func(), n)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	o := fleetOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), BackoffMin: time.Second, BackoffMax: 5 * time.Second, ReconnectSpread: time.Second}
	for i := range fleet {
		fg, err := newFleetGateway(i, mq.URL(), o)
		if err != nil {
			t.Fatal(err)
		}
		fleet[i] = fg
		gctx, gcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		stops[i] = func() { gcancel(); <-done }
		wg.Add(2)
		go func() { defer wg.Done(); defer close(done); fg.up.Run(gctx) }()
		go func() { defer wg.Done(); fg.produce(gctx, time.Second) }()
		if i%50 == 49 {
			time.Sleep(500 * time.Millisecond) // ramp: 100 connects a second
		}
	}
	watchWait(t, "all gateways connected", 3*time.Minute, func() bool { return countConnected(fleet) == n })

	// A box with a seq gap: a light publisher speaking the contract.
	gap := connectPub(t, mq.URL(), "gap-box")
	pub := func(topic, body string) {
		if tok := gap.Publish(topic, 1, strings.HasSuffix(topic, "/status"), body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	pub("praxisgate/v1/fleet/gap-box/status", `{"schema":1,"gateway":"gap-box","boot":"g1","ts":"2026-11-22T13:05:07.123Z","clock":"synced","state":"online","version":"t","started":"2026-11-22T12:58:40.000Z"}`)
	gapStop := make(chan struct{})
	gapDone := make(chan struct{})
	go func() {
		defer close(gapDone)
		for seq := 1; ; seq++ {
			if seq == 4 {
				seq = 7 // 4-6 lost
			}
			pub("praxisgate/v1/fleet/gap-box/telemetry/sim", fmt.Sprintf(`{"seq":%d,"schema":1,"gateway":"gap-box","boot":"g1","ts":"2026-11-22T13:05:07.123Z","clock":"synced","device":"sim","kind":"sim","metrics":[]}`, seq))
			select {
			case <-gapStop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	defer func() { close(gapStop); <-gapDone }()

	watchWait(t, "every box owned by one instance", 2*time.Minute, func() bool {
		sum := 0.0
		for _, w := range watchers {
			sum += w.metric("praxisgate_watch_boxes_owned")
		}
		return sum == float64(n+1)
	})

	// Stop 20 gateways.
	first := map[string]bool{}
	for i := 0; i < 20; i++ {
		stops[i*(n/20)]()
		first["fleet/"+fleet[i*(n/20)].name] = true
	}
	watchWait(t, "20 offline alerts and the seq gap", 3*time.Minute, func() bool {
		return len(sink.firing(fleetwatch.AlertOffline)) >= 20 && len(sink.firing(fleetwatch.AlertSeqGap)) >= 1
	})

	// Kill one instance; stop 20 boxes of its share.
	victim := watchers["w3"]
	_ = victim.cmd.Process.Kill()
	<-victim.done
	watchWait(t, "two members left", time.Minute, func() bool {
		return watchers["w1"].metric("praxisgate_watch_members") == 2 && watchers["w2"].metric("praxisgate_watch_members") == 2
	})
	second := map[string]bool{}
	for i, fg := range fleet {
		box := "fleet/" + fg.name
		if first[box] || fleetwatch.Owner(ids, box) != "w3" {
			continue
		}
		stops[i]()
		second[box] = true
		if len(second) == 20 {
			break
		}
	}
	if len(second) < 20 {
		t.Fatalf("w3 owned only %d running boxes", len(second))
	}
	watchWait(t, "40 offline alerts", 3*time.Minute, func() bool { return len(sink.firing(fleetwatch.AlertOffline)) >= 40 })
	// Give duplicates a chance to show: a few more ticks of both survivors.
	time.Sleep(3 * time.Second)

	off := sink.firing(fleetwatch.AlertOffline)
	for box := range first {
		if len(off[box]) != 1 {
			t.Errorf("%s (stopped before the kill) reported offline %d times by %v", box, len(off[box]), off[box])
		}
	}
	for box := range second {
		if len(off[box]) != 1 || off[box][0] == "w3" {
			t.Errorf("%s (w3's share, stopped after the kill) reported offline by %v, want once by w1 or w2", box, off[box])
		}
	}
	for box, by := range off {
		if !first[box] && !second[box] {
			t.Errorf("running box %s reported offline by %v", box, by)
		}
	}
	gaps := sink.firing(fleetwatch.AlertSeqGap)
	if len(gaps["fleet/gap-box"]) != 1 || len(gaps) != 1 {
		t.Errorf("seq gap alerts %v, want one for fleet/gap-box", gaps)
	}
	if sink.bad != 0 {
		t.Errorf("%d malformed webhook posts", sink.bad)
	}
	by := map[string]int{}
	for _, ws := range off {
		for _, w := range ws {
			by[w]++
		}
	}
	t.Logf("%d gateways, 3 watchers: offline alerts by instance %v; seq gap alerts %v", n, by, gaps)
}

func connectPub(t testing.TB, broker, id string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// The command refuses a bad configuration with every problem named, and
// explicit flags override the YAML file.
func TestWatchCommandConfig(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no broker", []string{"-listen", ""}, "broker is required"},
		{"bad sla", []string{"-broker", "tcp://127.0.0.1:1", "-sla", "critical"}, "want severity=duration"},
		{"unknown severity", []string{"-broker", "tcp://127.0.0.1:1", "-sla", "urgent=1m"}, `unknown severity "urgent"`},
		{"unknown yaml key", []string{"-config", writeFile(t, dir, "a.yaml", "broker: tcp://127.0.0.1:1\nsilence: 3\n")}, "field silence not found"},
		{"flag overrides file", []string{"-config", writeFile(t, dir, "b.yaml", "broker: tcp://127.0.0.1:1\nsilence_factor: 2\n"), "-silence-factor", "0.5"}, "silence_factor 0.5"},
		{"tls file with plain url", []string{"-broker", "tcp://127.0.0.1:1", "-ca-file", "/nonexistent", "-listen", ""}, "ca_file given with a plain tcp://"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out, errb bytes.Buffer
			err := watchCmd(ctx, c.args, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("watch %v: %v, want an error with %q", c.args, err, c.want)
			}
		})
	}
}
