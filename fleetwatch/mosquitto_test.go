package fleetwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// alertSink is the webhook: an httptest server on loopback that keeps
// every alert posted.
type alertSink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []Alert
	bad    atomic.Int64
}

func newAlertSink(t testing.TB) *alertSink {
	s := &alertSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []Alert
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&batch) != nil {
			s.bad.Add(1)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		for _, a := range batch {
			if a.Labels["alertname"] == "" || a.Labels["severity"] == "" || a.StartsAt == "" {
				s.bad.Add(1)
			}
		}
		s.mu.Lock()
		s.alerts = append(s.alerts, batch...)
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// firing counts the firing (not resolved) alerts by alertname and box.
func (s *alertSink) firing() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int{}
	for _, a := range s.alerts {
		if a.EndsAt != "" && a.Labels["alertname"] != AlertRebooted && a.Labels["alertname"] != AlertSeqGap {
			continue
		}
		n[a.Labels["alertname"]+" "+a.Labels["site"]+"/"+a.Labels["gateway"]]++
	}
	return n
}

// resolved counts the resolutions of state alerts by alertname and box.
func (s *alertSink) resolved() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int{}
	for _, a := range s.alerts {
		if a.EndsAt != "" && a.Labels["alertname"] != AlertRebooted && a.Labels["alertname"] != AlertSeqGap {
			n[a.Labels["alertname"]+" "+a.Labels["site"]+"/"+a.Labels["gateway"]]++
		}
	}
	return n
}

func connect(t testing.TB, broker, id string, tweak func(*mqtt.ClientOptions)) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(true).SetAutoReconnect(false)
	if tweak != nil {
		tweak(o)
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t testing.TB, c mqtt.Client, topic string, retained bool, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// Mosquitto 2 honours $share/ for MQTT 3.1.1 clients: every message of a
// shared subscription goes to exactly one member, and the members take
// turns (message by message, not box by box: hence the digests).
func TestMosquittoSharedSubscriptionV311(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	var mu sync.Mutex
	got := map[string]map[int]int{}
	for _, id := range []string{"m1", "m2"} {
		got[id] = map[int]int{}
		c := connect(t, mq.URL(), "share-"+id, func(o *mqtt.ClientOptions) { o.SetProtocolVersion(4) })
		tok := c.Subscribe("$share/g/praxisgate/v1/#", 1, func(_ mqtt.Client, m mqtt.Message) {
			var n int
			fmt.Sscanf(string(m.Payload()), "%d", &n)
			mu.Lock()
			got[id][n]++
			mu.Unlock()
		})
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
	}
	pub := connect(t, mq.URL(), "share-pub", nil)
	const n = 200
	for i := range n {
		publish(t, pub, fmt.Sprintf("praxisgate/v1/s/gw-%d/telemetry/x", i%7), false, fmt.Sprint(i))
	}
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got["m1"]) + len(got["m2"])
	}
	deadline := time.Now().Add(30 * time.Second)
	for total() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if c := got["m1"][i] + got["m2"][i]; c != 1 {
			t.Errorf("message %d delivered %d times", i, c)
		}
	}
	if len(got["m1"]) == 0 || len(got["m2"]) == 0 {
		t.Errorf("not shared: m1 %d, m2 %d", len(got["m1"]), len(got["m2"]))
	}
}

// Two watchers split six boxes; each detection is posted once, by one of
// them: a seq gap, an unsynced clock, a reboot, an alarm over its SLA, a
// Last Will and a silent box.
func TestWatchersDetectOnce(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	sink := newAlertSink(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, id := range []string{"w1", "w2"} {
		cfg := Defaults()
		cfg.Broker, cfg.Instance, cfg.Listen, cfg.Webhook = mq.URL(), id, "", sink.srv.URL
		cfg.Interval, cfg.SilenceFactor, cfg.GapGrace, cfg.Tick = 500*time.Millisecond, 4, time.Second, 100*time.Millisecond
		cfg.SLA = map[string]time.Duration{"critical": 10 * time.Minute}
		w, err := New(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(ctx); err != nil {
				t.Errorf("watcher %s: %v", id, err)
			}
		}()
	}
	pub := connect(t, mq.URL(), "boxes", nil)
	const p = "praxisgate/v1/s/"
	status := func(gw, boot, clock, state string) string {
		return fmt.Sprintf(`{"schema":1,"gateway":%q,"boot":%q,"ts":"2026-11-22T13:05:07.123Z","clock":%q,"state":%q,"version":"t","started":"2026-11-22T12:58:40.000Z"}`, gw, boot, clock, state)
	}
	tele := func(gw, boot, clock string, seq int) string {
		return fmt.Sprintf(`{"seq":%d,"schema":1,"gateway":%q,"boot":%q,"ts":"2026-11-22T13:05:07.123Z","clock":%q,"device":"d","kind":"sim","metrics":[]}`, seq, gw, boot, clock)
	}
	for _, gw := range []string{"a", "b", "c", "d", "f"} {
		publish(t, pub, p+gw+"/status", true, status(gw, "b1", "synced", "online"))
	}
	// Box e has a real Last Will; its connection is cut under it.
	var conn net.Conn
	var connMu sync.Mutex
	e := connect(t, mq.URL(), "box-e", func(o *mqtt.ClientOptions) {
		o.SetWill(p+"e/status", status("e", "b1", "synced", "offline"), 1, true)
		o.SetCustomOpenConnectionFn(func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
			c, err := net.Dial("tcp", u.Host)
			connMu.Lock()
			conn = c
			connMu.Unlock()
			return c, err
		})
	})
	publish(t, e, p+"e/status", true, status("e", "b1", "synced", "online"))
	hour := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	publish(t, pub, p+"d/alarms", true, `{"schema":1,"gateway":"d","boot":"b1","ts":"2026-11-22T13:20:07.001Z","clock":"synced","alarms":[{"id":"fridge/temperature","device":"fridge","severity":"critical","message":"too warm","since":"`+hour+`","acked":false}]}`)
	time.Sleep(time.Second) // let both watchers settle as members (hang guard, not a judgement)

	connMu.Lock()
	conn.Close()
	connMu.Unlock()
	want := map[string]int{
		AlertSeqGap + " s/a": 1, AlertClock + " s/b": 1, AlertRebooted + " s/c": 1,
		AlertSLA + " s/d": 1, AlertOffline + " s/e": 1, AlertOffline + " s/f": 1,
	}
	seq := 0
	deadline := time.Now().Add(90 * time.Second)
	for round := 0; time.Now().Before(deadline); round++ {
		seq++
		if seq == 5 {
			seq = 8 // 5-7 never sent: the gap
		}
		publish(t, pub, p+"a/telemetry/d", false, tele("a", "b1", "synced", seq))
		publish(t, pub, p+"b/telemetry/d", false, tele("b", "b1", "unsynced", round+1))
		publish(t, pub, p+"c/telemetry/d", false, tele("c", "b1", "synced", round+1))
		publish(t, pub, p+"d/telemetry/d", false, tele("d", "b1", "synced", round+1))
		if round == 3 {
			publish(t, pub, p+"c/status", true, status("c", "b2", "synced", "online"))
		}
		f := sink.firing()
		done := true
		for k := range want {
			if f[k] == 0 {
				done = false
			}
		}
		if done && round > 30 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	f := sink.firing()
	for k, n := range want {
		if f[k] != n {
			t.Errorf("%s posted %d times, want %d", k, f[k], n)
		}
	}
	for k, n := range f {
		if want[k] == 0 {
			t.Errorf("unexpected alert %s (%d times)", k, n)
		}
	}
	// Box e comes back: its offline alert resolves, once (judged before
	// its new silence could fire again).
	publish(t, pub, p+"e/status", true, status("e", "b1", "synced", "online"))
	for i := 0; i < 300 && sink.resolved()[AlertOffline+" s/e"] == 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a few more ticks for a duplicate to show
	if r := sink.resolved(); r[AlertOffline+" s/e"] != 1 || len(r) != 1 {
		t.Errorf("resolutions %v, want one for %s s/e", r, AlertOffline)
	}
	if sink.bad.Load() != 0 {
		t.Errorf("%d malformed webhook posts", sink.bad.Load())
	}
	sink.mu.Lock()
	for _, a := range sink.alerts {
		if a.Labels["alertname"] == AlertSeqGap {
			t.Logf("seq gap alert: %s", a.Annotations["summary"])
		}
	}
	sink.mu.Unlock()
}
