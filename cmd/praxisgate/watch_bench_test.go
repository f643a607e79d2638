package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/fleetwatch"
)

// procCPU is the user+system CPU time of a process so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100, nil // USER_HZ is 100 on Linux
}

// BenchmarkWatch5000 runs one `praxisgate watch` process against 5,000
// simulated gateways, each sending one telemetry message every 10 s (500
// messages/s, from one light publisher rather than 5,000 uplinks), on
// loopback Mosquitto. It reports the watcher's CPU as % of one core
// (target ≤ 25) and, for one box that falls silent, the time from its last
// message to the offline alert at the webhook (target ≤ silence + 5 s).
func BenchmarkWatch5000(b *testing.B) {
	const boxes, every, silence = 5000, 10 * time.Second, 20 * time.Second
	raiseFileLimit(b)
	for range b.N {
		mq := testpeer.StartMosquitto(b, testpeer.MosquittoOptions{Extra: []string{"max_connections -1"}})
		sink := newWatchSink(b)
		port, err := testpeer.FreePort()
		if err != nil {
			b.Fatal(err)
		}
		listen := "127.0.0.1:" + strconv.Itoa(port)
		w := &watchProc{id: "bench", listen: listen, done: make(chan struct{})}
		w.cmd = execWatch(mq.URL(), listen, sink.srv.URL, "-interval", every.String(), "-silence-factor", "2", "-resend", "0")
		if err := w.cmd.Start(); err != nil {
			b.Fatal(err)
		}
		go func() { _ = w.cmd.Wait(); close(w.done) }()
		pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq.URL()).SetClientID("bench-fleet").SetMaxResumePubInFlight(1000))
		if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatal(tok.Error())
		}
		name := func(i int) string { return fmt.Sprintf("gw-%05d", i) }
		for i := range boxes {
			pub.Publish("praxisgate/v1/bench/"+name(i)+"/status", 1, true,
				fmt.Sprintf(`{"schema":1,"gateway":%q,"boot":"b1","ts":"2026-11-22T13:05:07.123Z","clock":"synced","state":"online","version":"t","started":"2026-11-22T12:58:40.000Z"}`, name(i)))
		}
		const silent = 1234
		var silencedAt, lastSilent atomic.Int64
		stop := make(chan struct{})
		published := make(chan int64)
		go func() {
			var n int64
			defer func() { published <- n }()
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			per := boxes * int(10*time.Millisecond) / int(every)
			next, seq := 0, make([]int, boxes)
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				for range per {
					i := next
					next = (next + 1) % boxes
					if i == silent && silencedAt.Load() != 0 {
						continue
					}
					seq[i]++
					if i == silent {
						lastSilent.Store(time.Now().UnixNano())
					}
					pub.Publish("praxisgate/v1/bench/"+name(i)+"/telemetry/fridge", 1, false,
						fmt.Sprintf(`{"seq":%d,"schema":1,"gateway":%q,"boot":"b1","ts":%q,"clock":"synced","device":"fridge","kind":"fridge","metrics":[{"name":"temperature","value":5.1,"unit":"°C"}]}`,
							seq[i], name(i), time.Now().UTC().Format("2006-01-02T15:04:05.000Z")))
					n++
				}
			}
		}()
		// Warm up: every box known and one full round of messages.
		deadline := time.Now().Add(2 * time.Minute)
		for w.metric("praxisgate_watch_boxes_owned") != boxes {
			if time.Now().After(deadline) {
				b.Fatalf("hang guard: watcher owns %v of %d boxes", w.metric("praxisgate_watch_boxes_owned"), boxes)
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(every)
		// The silent box: its last message is whatever went out before now.
		silencedAt.Store(time.Now().UnixNano())
		cpu0, err := procCPU(w.cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		var alertAt time.Time
		for alertAt.IsZero() && time.Since(t0) < silence+2*time.Minute {
			if len(sink.firing(fleetwatch.AlertOffline)["bench/"+name(silent)]) > 0 {
				alertAt = time.Now()
			}
			time.Sleep(50 * time.Millisecond)
		}
		cpu1, _ := procCPU(w.cmd.Process.Pid)
		wall := time.Since(t0)
		close(stop)
		n := <-published
		msgs := w.metric(`praxisgate_watch_messages_total{kind="telemetry"}`)
		_ = w.cmd.Process.Kill()
		<-w.done
		pub.Disconnect(100)
		if alertAt.IsZero() {
			b.Fatalf("no offline alert for the silent box within %s", silence+2*time.Minute)
		}
		// From the silent box's last message to the alert at the webhook.
		lat := alertAt.Sub(time.Unix(0, lastSilent.Load()))
		others := len(sink.firing(fleetwatch.AlertOffline)) - 1
		b.ReportMetric(100*float64(cpu1-cpu0)/float64(wall), "cpu-%-of-core")
		b.ReportMetric(lat.Seconds(), "silence-to-alert-s")
		b.ReportMetric((lat - silence).Seconds(), "over-silence-s")
		b.ReportMetric(float64(others), "false-offline")
		b.Logf("%d boxes, %d messages published, %v telemetry received by the watcher; CPU %s over %s; silence %s → alert %s after the box's last message",
			boxes, n, msgs, cpu1-cpu0, wall.Round(time.Millisecond), silence, lat.Round(time.Millisecond))
	}
}
