package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

const (
	testSite    = "praxis-test"
	testGateway = "gw-01"
	testBoot    = "boot-test"
)

var testRoot = contract.Root("", testSite, testGateway)

// testOrigin renders payloads as the gateway would.
var testOrigin = contract.Origin{Gateway: testGateway, Boot: testBoot}

// testClock is a synced clock with millisecond steps.
func testClock() contract.Stamp { return contract.Stamp{Time: time.Now(), Synced: true} }

// logBuffer collects a test's logs and prints them only when it fails,
// so the noisy machine's test output stays readable.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func testLogger(t testing.TB) (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("uplink log:\n%s", lb.String())
		}
	})
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// testConfig is a config for a local broker with short timeouts.
func testConfig(url string) config.Uplink {
	return config.Uplink{
		Broker:         url,
		KeepAlive:      5 * time.Second,
		ConnectTimeout: 3 * time.Second,
		WriteTimeout:   3 * time.Second,
		BackoffMin:     20 * time.Millisecond,
		BackoffMax:     300 * time.Millisecond,
		MaxInflight:    64,
	}
}

// running is an Uplink started by a test; Stop cancels it and waits.
type running struct {
	*Uplink
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // Run's result, valid after done
	log    *logBuffer
}

func (r *running) Stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("Run: %v", r.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return within 20s of cancel")
	}
}

// startUplink builds and runs an uplink; it is stopped in t.Cleanup.
func startUplink(t testing.TB, cfg config.Uplink, src Source, prepare ...func(*Uplink)) *running {
	t.Helper()
	log, lb := testLogger(t)
	u, err := New(Options{
		Config: cfg, Site: testSite, Gateway: testGateway, Origin: testOrigin,
		Version: "0.0.0-test", Started: time.Now(), Now: testClock, Logger: log,
	}, src)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, p := range prepare {
		p(u)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Uplink: u, cancel: cancel, done: make(chan struct{}), log: lb}
	go func() { r.err = u.Run(ctx); close(r.done) }()
	t.Cleanup(func() { r.cancel(); <-r.done })
	return r
}

// waitFor polls cond every 10 ms until it holds or timeout passes. It is
// a bound against hangs, not a timing assertion.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// obsMsg is one message the observer received.
type obsMsg struct {
	Topic    string
	Payload  []byte
	Retained bool
	Seq      uint64
	HasSeq   bool
	At       time.Time
}

// observer is the provider's side: an independent paho client subscribed
// below the gateway's root, recording everything in arrival order.
type observer struct {
	client mqtt.Client
	mu     sync.Mutex
	msgs   []obsMsg
	seqs   map[uint64][]byte
	onMsg  atomic.Pointer[func(obsMsg)]
}

var observerN atomic.Int64

// newObserver connects to url and subscribes to filter. persistent keeps a
// broker-side session (CleanSession false) so messages published while the
// observer reconnects after a broker restart are queued for it.
func newObserver(t testing.TB, url, filter string, persistent bool) *observer {
	t.Helper()
	o := &observer{seqs: map[uint64][]byte{}}
	handler := func(_ mqtt.Client, m mqtt.Message) { o.record(m) }
	opts := mqtt.NewClientOptions().AddBroker(url).
		SetClientID(fmt.Sprintf("observer-%d-%d", time.Now().UnixNano()%1e9, observerN.Add(1))).
		SetCleanSession(!persistent).
		SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(50 * time.Millisecond).SetMaxReconnectInterval(100 * time.Millisecond).
		SetConnectTimeout(2 * time.Second).
		SetMessageChannelDepth(10000).
		SetDefaultPublishHandler(handler).
		SetOnConnectHandler(func(c mqtt.Client) { c.Subscribe(filter, 1, handler) })
	o.client = mqtt.NewClient(opts)
	tok := o.client.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("observer connect: %v", tok.Error())
	}
	// The subscription is made in the OnConnect handler; a second,
	// awaited one makes sure it is in place before the test goes on.
	st := o.client.Subscribe(filter, 1, handler)
	if !st.WaitTimeout(10*time.Second) || st.Error() != nil {
		t.Fatalf("observer subscribe: %v", st.Error())
	}
	t.Cleanup(func() { o.client.Disconnect(100) })
	return o
}

func (o *observer) record(m mqtt.Message) {
	msg := obsMsg{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), Retained: m.Retained(), At: time.Now()}
	var head struct {
		Seq *uint64 `json:"seq"`
	}
	if json.Unmarshal(msg.Payload, &head) == nil && head.Seq != nil {
		msg.Seq, msg.HasSeq = *head.Seq, true
	}
	o.mu.Lock()
	o.msgs = append(o.msgs, msg)
	if msg.HasSeq {
		if _, dup := o.seqs[msg.Seq]; !dup {
			o.seqs[msg.Seq] = msg.Payload
		}
	}
	o.mu.Unlock()
	if f := o.onMsg.Load(); f != nil {
		(*f)(msg)
	}
}

// messages returns a copy of everything received so far.
func (o *observer) messages() []obsMsg {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]obsMsg(nil), o.msgs...)
}

// distinct is how many different seqs arrived.
func (o *observer) distinct() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.seqs)
}

// payload returns the first payload seen for seq.
func (o *observer) payload(seq uint64) ([]byte, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p, ok := o.seqs[seq]
	return p, ok
}

// onTopic returns the messages of one topic (full name) in arrival order.
func (o *observer) onTopic(topic string) []obsMsg {
	var out []obsMsg
	for _, m := range o.messages() {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// telemetry renders a telemetry record for device with a counter metric,
// about 200 bytes once seq is added.
func telemetry(t testing.TB, device string, n int) buffer.Record {
	t.Helper()
	s := drivers.Sample{
		Device: device, Kind: "fridge", Time: time.Now(),
		Metrics: []drivers.Metric{
			{Name: "temperature", Value: 4.5 + float64(n%10)/10, Unit: "°C"},
			{Name: "test.counter", Value: float64(n)},
		},
	}
	b, err := testOrigin.EncodeTelemetry(s, testClock())
	if err != nil {
		t.Fatal(err)
	}
	return buffer.Record{Class: buffer.Telemetry, Topic: contract.TelemetryTopic(device), Payload: b}
}

// event renders an event record.
func event(t testing.TB, device, typ string) buffer.Record {
	t.Helper()
	b, err := testOrigin.EncodeEvent(drivers.Event{Device: device, Type: typ, Severity: drivers.Critical, Message: "test " + typ}, testClock())
	if err != nil {
		t.Fatal(err)
	}
	return buffer.Record{Class: buffer.Event, Topic: contract.EventTopic(device), Payload: b}
}

// appendAll appends records one call each (as device goroutines do) and
// returns their seqs.
func appendAll(t testing.TB, q buffer.Queue, recs []buffer.Record) []uint64 {
	t.Helper()
	seqs := make([]uint64, 0, len(recs))
	for i := range recs {
		batch := recs[i : i+1]
		if err := q.Append(context.Background(), batch); err != nil {
			t.Fatalf("append: %v", err)
		}
		seqs = append(seqs, batch[0].Seq)
	}
	return seqs
}

// checkDelivered asserts every seq arrived exactly with its payload and
// that each topic's first occurrences are in seq order.
func checkDelivered(t testing.TB, o *observer, want map[uint64][]byte) {
	t.Helper()
	var missing []uint64
	for seq, p := range want {
		got, ok := o.payload(seq)
		if !ok {
			missing = append(missing, seq)
			continue
		}
		if !bytes.Equal(got, contract.WithSeq(p, seq)) {
			t.Errorf("seq %d: payload %s, want %s", seq, got, contract.WithSeq(p, seq))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d seqs never reached the subscriber, e.g. %v", len(missing), len(want), missing[:min(10, len(missing))])
	}
	seen := map[uint64]bool{}
	last := map[string]uint64{}
	for _, m := range o.messages() {
		if !m.HasSeq || seen[m.Seq] {
			continue
		}
		seen[m.Seq] = true
		if m.Seq < last[m.Topic] {
			t.Errorf("topic %s: seq %d first arrived after seq %d", m.Topic, m.Seq, last[m.Topic])
		}
		last[m.Topic] = m.Seq
	}
}

// discardLogger silences the buffer's own logs in benchmarks.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
