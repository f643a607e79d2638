package integrations

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// telegrafPlugins are the plugins docs/integrations/telegraf/telegraf.conf
// uses: Telegraf is built with exactly these (custom build tags), as the
// docs tell a provider who builds their own.
var telegrafPlugins = []string{
	"inputs.mqtt_consumer",
	"parsers.json_v2",
	"parsers.value",
	"processors.starlark",
	"outputs.prometheus_client",
}

// TestTelegrafPrometheus runs the shipped Telegraf configuration unchanged
// (only its ${...} environment set) between the demo box on Mosquitto and
// a real Prometheus scraping Telegraf, and asks Prometheus in PromQL for
// what a provider wants to see: the fridge temperature, the UPS status,
// the active alarms, an alarm that cleared, and the event counters. Each
// answer is checked against what the box really published (the test's own
// subscriber). The dashboard's queries (docs/integrations/grafana) run
// against the same Prometheus.
func TestTelegrafPrometheus(t *testing.T) {
	t.Parallel() // its own Mosquitto, demo box and peers
	started := time.Now()
	bin := testpeer.Telegraf(t, telegrafPlugins...)
	t.Logf("telegraf %s ready after %s", testpeer.TelegrafVersion, time.Since(started).Round(time.Millisecond))

	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	port, err := testpeer.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	testpeer.StartTelegraf(t, bin, repoFile(t, "docs/integrations/telegraf/telegraf.conf"),
		"PRAXISGATE_BROKER="+mq.URL(),
		"TELEGRAF_LISTEN="+listen,
		"TELEGRAF_CLIENT_ID=it-"+filepath.Base(t.TempDir()))
	prom := testpeer.StartPrometheus(t, listen)
	obs := observe(t, mq.URL())
	runDemo(t, mq.URL())

	dash := loadDashboard(t)
	box := fmt.Sprintf(`site=%q,gateway=%q`, demoSite, demoGateway)
	checks := []struct {
		name  string
		query string
		ok    func(s []testpeer.Sample) error
	}{
		{"fridge temperature", `praxisgate_metric{` + box + `,kind="fridge",name="temperature"}`, func(s []testpeer.Sample) error {
			temps, _, _, _, _ := obs.snapshot()
			if len(s) != 1 || s[0].Labels["device"] != demoFridge || s[0].Labels["unit"] != "°C" {
				return fmt.Errorf("want one series of device %s in °C, got %v", demoFridge, s)
			}
			if !temps[s[0].Value] {
				return fmt.Errorf("%v °C was never published by the box (published: %v)", s[0].Value, keysF(temps))
			}
			return nil
		}},
		{"UPS status on battery", `praxisgate_metric_state{` + box + `,device="usv-rack",name="ups.status"} == 1`, func(s []testpeer.Sample) error {
			_, statuses, _, _, _ := obs.snapshot()
			if len(s) != 1 {
				return fmt.Errorf("want exactly one current ups.status, got %v", s)
			}
			st := s[0].Labels["state"]
			if !statuses[st] {
				return fmt.Errorf("state %q was never published (published: %v)", st, keysS(statuses))
			}
			if !strings.Contains(st, "OB") {
				return fmt.Errorf("state %q: waiting for the demo's mains failure (OB)", st)
			}
			return nil
		}},
		{"UPS status replaced", `praxisgate_metric_state{` + box + `,device="usv-rack",name="ups.status"} == 0`, func(s []testpeer.Sample) error {
			if len(s) == 0 {
				return fmt.Errorf("no earlier ups.status at 0 yet")
			}
			return nil
		}},
		{"active alarms", `praxisgate_alarm_active{` + box + `} == 1`, func(s []testpeer.Sample) error {
			_, _, seen, _, active := obs.snapshot()
			if len(s) == 0 {
				return fmt.Errorf("no active alarm yet")
			}
			for _, x := range s {
				if !seen[x.Labels["alarm"]] {
					return fmt.Errorf("alarm %q was never in the box's alarm set %v", x.Labels["alarm"], keysS(seen))
				}
				if x.Labels["severity"] == "" || x.Labels["device"] == "" {
					return fmt.Errorf("alarm series without severity or device: %v", x.Labels)
				}
			}
			if len(s) != len(active) {
				return fmt.Errorf("Prometheus has %d active alarms, the box's set now %d (%v)", len(s), len(active), keysS(active))
			}
			return nil
		}},
		{"alarm count", `praxisgate_gateway_alarms_active{` + box + `} > 0`, func(s []testpeer.Sample) error {
			if len(s) != 1 {
				return fmt.Errorf("want one count > 0, got %v", s)
			}
			return nil
		}},
		{"cleared alarm", `praxisgate_alarm_active{` + box + `} == 0`, func(s []testpeer.Sample) error {
			_, _, _, cleared, _ := obs.snapshot()
			if len(s) == 0 {
				return fmt.Errorf("no cleared alarm yet")
			}
			for _, x := range s {
				if !cleared[x.Labels["alarm"]] {
					return fmt.Errorf("alarm %q is 0 but never left the box's set (left: %v)", x.Labels["alarm"], keysS(cleared))
				}
			}
			return nil
		}},
		{"events counted", `praxisgate_events_total{` + box + `,type="alarm.raised"}`, func(s []testpeer.Sample) error {
			if len(s) == 0 || s[0].Value < 1 {
				return fmt.Errorf("no alarm.raised counted: %v", s)
			}
			return nil
		}},
	}

	// Every condition must hold at some moment of the demo (they do not
	// all hold at once: the fridge alarm clears before the UPS's begins to).
	// Every dashboard query must be accepted by Prometheus at every try and
	// return data at least once.
	passed := map[string]bool{}
	lastErr := map[string]error{}
	dashSeen := map[string]bool{}
	deadline := time.Now().Add(4 * time.Minute)
	for {
		for _, c := range checks {
			if passed[c.name] {
				continue
			}
			s, err := prom.Query(c.query)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if err := c.ok(s); err != nil {
				lastErr[c.name] = err
				continue
			}
			passed[c.name] = true
			t.Logf("%s after %s: %s → %v", c.name, time.Since(started).Round(time.Second), c.query, s)
		}
		for _, q := range dash.queries {
			s, err := prom.Query(q.promql)
			if err != nil {
				t.Fatalf("dashboard panel %q, target %s: Prometheus refuses %s: %v", q.panel, q.refID, q.expr, err)
			}
			if len(s) > 0 {
				dashSeen[q.panel+"/"+q.refID] = true
			}
		}
		for _, v := range dash.variables {
			s, err := prom.Query(v.promql)
			if err != nil {
				t.Fatalf("dashboard variable %s: Prometheus refuses %s: %v", v.name, v.promql, err)
			}
			if len(s) > 0 {
				dashSeen["$"+v.name] = true
			}
		}
		if len(passed) == len(checks) && len(dashSeen) == len(dash.queries)+len(dash.variables) {
			break
		}
		if time.Now().After(deadline) {
			for _, c := range checks {
				if !passed[c.name] {
					t.Errorf("%s: %s: %v", c.name, c.query, lastErr[c.name])
				}
			}
			for _, q := range dash.queries {
				if !dashSeen[q.panel+"/"+q.refID] {
					t.Errorf("dashboard panel %q target %s returned no data during the demo: %s", q.panel, q.refID, q.promql)
				}
			}
			for _, v := range dash.variables {
				if !dashSeen["$"+v.name] {
					t.Errorf("dashboard variable %s found no values: %s", v.name, v.promql)
				}
			}
			t.FailNow()
		}
		time.Sleep(time.Second)
	}
	t.Logf("all PromQL checks and %d dashboard queries answered after %s (including the Telegraf build or cache lookup)", len(dash.queries), time.Since(started).Round(time.Second))
}

func keysS(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keysF(m map[float64]bool) []float64 {
	out := make([]float64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Float64s(out)
	if len(out) > 20 {
		out = append(out[:10], math.NaN())
	}
	return out
}

// TestTelegrafPersistentSession checks the configuration's delivery
// promise: Telegraf's MQTT sessions are persistent with QoS 1, so what the
// boxes publish while Telegraf is down reaches Prometheus after it comes
// back, once and only once. Telegraf counts 10 events, stops; 50 events
// and a fridge reading are published (each PUBACKed by the broker);
// Telegraf restarts, and Prometheus must show exactly 50 events (the
// counter restarts with Telegraf) and the reading.
func TestTelegrafPersistentSession(t *testing.T) {
	t.Parallel()
	bin := testpeer.Telegraf(t, telegrafPlugins...)
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	port, err := testpeer.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	tg := testpeer.StartTelegraf(t, bin, repoFile(t, "docs/integrations/telegraf/telegraf.conf"),
		"PRAXISGATE_BROKER="+mq.URL(), "TELEGRAF_LISTEN="+listen, "TELEGRAF_CLIENT_ID=it-session")
	prom := testpeer.StartPrometheus(t, listen)

	const root = "praxisgate/v1/praxis-test/gw-01/"
	pub := newPublisher(t, mq.URL())
	seq := 0
	event := func(typ string) {
		seq++
		pub.publish(root+"event/usv-rack", fmt.Sprintf(`{"seq":%d,"schema":1,"gateway":"gw-01","boot":"b1","ts":%q,"clock":"synced","device":"usv-rack","type":%q,"severity":"major","message":"test"}`,
			seq, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), typ))
	}
	counter := func(typ string) string {
		return `praxisgate_events_total{site="praxis-test",gateway="gw-01",type="` + typ + `"}`
	}
	count := counter("ups.power_lost")
	waitValue := func(what, q string, want float64) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		var last []testpeer.Sample
		for time.Now().Before(deadline) {
			s, err := prom.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			if len(s) == 1 && s[0].Value > want {
				t.Fatalf("%s: %v, more than %v: a message arrived twice", what, s[0].Value, want)
			}
			if len(s) == 1 && s[0].Value == want {
				return
			}
			last = s
			time.Sleep(500 * time.Millisecond)
		}
		t.Fatalf("%s: Prometheus has %v, want %v", what, last, want)
	}

	// Telegraf is subscribed (and its sessions exist) once it counted a
	// warm-up event; what was published before that is not its to get.
	deadline := time.Now().Add(90 * time.Second)
	for {
		s, err := prom.Query(counter("test.warmup"))
		if err != nil {
			t.Fatal(err)
		}
		if len(s) == 1 && s[0].Value >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Telegraf counted no event within 90s")
		}
		event("test.warmup")
		time.Sleep(time.Second)
	}
	for range 10 {
		event("ups.power_lost")
	}
	waitValue("events before the stop", count, 10)

	tg.Stop()
	for range 50 {
		event("ups.power_lost")
	}
	pub.publish(root+"telemetry/kuehlschrank-impf", fmt.Sprintf(`{"seq":%d,"schema":1,"gateway":"gw-01","boot":"b1","ts":%q,"clock":"synced","device":"kuehlschrank-impf","kind":"fridge","metrics":[{"name":"temperature","value":6.25,"unit":"°C"}]}`,
		seq+1, time.Now().UTC().Format("2006-01-02T15:04:05.000Z")))
	tg.Restart()

	waitValue("events published while Telegraf was down", count, 50)
	waitValue("reading published while Telegraf was down", `praxisgate_metric{site="praxis-test",gateway="gw-01",device="kuehlschrank-impf",name="temperature"}`, 6.25)
}

// publisher publishes QoS 1 and waits for each PUBACK, as the box does.
type publisher struct {
	t *testing.T
	c mqtt.Client
}

func newPublisher(t *testing.T, url string) *publisher {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("integrations-publisher").SetConnectTimeout(10 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return &publisher{t, c}
}

func (p *publisher) publish(topic, payload string) {
	p.t.Helper()
	tok := p.c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		p.t.Fatalf("publish %s: no PUBACK: %v", topic, tok.Error())
	}
}
