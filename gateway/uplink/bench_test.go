package uplink

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

const drainBacklog = 100_000

// BenchmarkDrain measures how fast a 100,000-record backlog in a real
// badger buffer drains to a local Mosquitto, and in the same run a bare
// paho publisher (QoS 1, same in-flight window, same payloads, same
// broker) as the yardstick. The target is ratio >= 0.70.
//
//	go test -bench Drain -run '^$' ./gateway/uplink/
func BenchmarkDrain(b *testing.B) {
	m := testpeer.StartMosquitto(b, testpeer.MosquittoOptions{})
	cfg := testConfig(m.URL())
	cfg.MaxInflight = config.DefaultMaxInflight
	recs := make([]buffer.Record, drainBacklog)
	for i := range recs {
		recs[i] = telemetry(b, fmt.Sprintf("dev-%d", i%20), i)
	}
	// Totals over all iterations; the order alternates so that noise from
	// other processes on the shared machine hits both sides alike.
	var pipeTime, bareTime time.Duration
	for i := 0; i < b.N; i++ {
		if i%2 == 1 {
			bareTime += barePublish(b, m.URL(), cfg.MaxInflight, recs)
		}
		pipeTime += drainOnce(b, cfg, recs)
		if i%2 == 0 {
			bareTime += barePublish(b, m.URL(), cfg.MaxInflight, recs)
		}
	}
	pipeRate := float64(b.N*drainBacklog) / pipeTime.Seconds()
	bareRate := float64(b.N*drainBacklog) / bareTime.Seconds()
	b.ReportMetric(pipeRate, "msgs/s")
	b.ReportMetric(bareRate, "bare-paho-msgs/s")
	b.ReportMetric(pipeRate/bareRate, "ratio")
}

// drainOnce fills a fresh badger buffer (untimed) and returns how long the
// uplink took until the broker had acknowledged every record.
func drainOnce(b *testing.B, cfg config.Uplink, recs []buffer.Record) time.Duration {
	b.Helper()
	b.StopTimer()
	q, err := buffer.Open(b.TempDir(), buffer.Options{Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	for off := 0; off < len(recs); off += 1000 {
		batch := slices.Clone(recs[off:min(off+1000, len(recs))])
		if err := q.Append(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StartTimer()
	start := time.Now()
	r := startUplink(b, cfg, q)
	deadline := start.Add(5 * time.Minute)
	// Poll the uplink's own counter: the buffer's Stats forces a commit
	// cycle per call and would slow down what is measured.
	for r.Stats().Published < int64(len(recs)) {
		if time.Now().After(deadline) {
			b.Fatalf("backlog not drained in 5 minutes: %+v", r.Stats())
		}
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	r.Stop(b)
	if n := q.Stats().Records; n != 0 {
		b.Fatalf("%d records left in the buffer after all were acknowledged", n)
	}
	if err := q.Close(); err != nil {
		b.Fatal(err)
	}
	return took
}

// barePublish is the yardstick: a plain paho client publishing the same
// payloads with the same in-flight window, waiting on tokens in order.
func barePublish(b *testing.B, url string, inflight int, recs []buffer.Record) time.Duration {
	b.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID("bare-paho").SetCleanSession(true).
		SetAutoReconnect(false).SetWriteTimeout(10 * time.Second)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("bare connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	toks := make(chan mqtt.Token, inflight)
	done := make(chan error, 1)
	go func() {
		for tok := range toks {
			tok.Wait()
			if err := tok.Error(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	start := time.Now()
	for i, r := range recs {
		toks <- c.Publish(testRoot+"/"+r.Topic, 1, false, contract.WithSeq(r.Payload, uint64(i+1)))
	}
	close(toks)
	if err := <-done; err != nil {
		b.Fatalf("bare publish: %v", err)
	}
	return time.Since(start)
}

// BenchmarkOnlineLatency appends one record at a time to an idle, running
// pipeline (badger buffer + uplink) and measures until the subscriber has
// it. The target is p99 <= 100 ms.
//
//	go test -bench OnlineLatency -run '^$' ./gateway/uplink/
func BenchmarkOnlineLatency(b *testing.B) {
	m := testpeer.StartMosquitto(b, testpeer.MosquittoOptions{})
	obs := newObserver(b, m.URL(), testRoot+"/telemetry/#", false)
	got := make(chan uint64, 16)
	f := func(msg obsMsg) { got <- msg.Seq }
	obs.onMsg.Store(&f)
	q, err := buffer.Open(b.TempDir(), buffer.Options{Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	r := startUplink(b, testConfig(m.URL()), q)
	waitFor(b, 10*time.Second, "connected", r.Connected)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		recs := []buffer.Record{telemetry(b, "dev-1", i)}
		start := time.Now()
		if err := q.Append(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
		for seq := uint64(0); seq != recs[0].Seq; {
			select {
			case seq = <-got:
			case <-time.After(10 * time.Second):
				b.Fatalf("seq %d not received within 10s", recs[0].Seq)
			}
		}
		lat = append(lat, time.Since(start))
		time.Sleep(2 * time.Millisecond) // idle between readings, as online
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	r.Stop(b)
}
