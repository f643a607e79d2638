package handlers

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers"
	_ "github.com/praxisgate/praxisgate/drivers/sim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/command"
	"github.com/praxisgate/praxisgate/gateway/command/configguard"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
	"github.com/praxisgate/praxisgate/gateway/internal/gwtest"
	"github.com/praxisgate/praxisgate/gateway/logring"
	"github.com/praxisgate/praxisgate/update"
)

const cmdRoot = "praxisgate/v1/s/g"

// daemon runs the gateway like `praxisgate run` under systemd: a restart
// (command, set-config, revert) ends Run and the loop starts a new
// Gateway from the file on disk, through the config guard.
type daemon struct {
	path     string
	ring     *logring.Ring
	restarts atomic.Int32
	stop     context.CancelFunc
	done     chan struct{}
}

func startDaemon(t testing.TB, path string) *daemon {
	t.Helper()
	d := &daemon{path: path, ring: logring.NewRing(500), done: make(chan struct{})}
	outer, stop := context.WithCancel(context.Background())
	d.stop = stop
	log := slog.New(logring.New(slog.NewTextHandler(io.Discard, nil), d.ring, slog.LevelInfo))
	go func() {
		defer close(d.done)
		for gen := 0; gen < 20 && outer.Err() == nil; gen++ {
			guard := configguard.New(path, log)
			cfg, pending, err := guard.Load(config.Load)
			if err != nil {
				t.Errorf("generation %d: load: %v", gen, err)
				return
			}
			g, err := gateway.New(cfg, gateway.Options{Version: "test", Logger: log})
			if err != nil {
				t.Errorf("generation %d: %v", gen, err)
				return
			}
			// A reading source beside the devices, as the SMS modem is.
			if err := g.AddSource(gateway.Source{ID: "sms-modem", Kind: "modem", Interval: time.Minute, Driver: sourceDriver{}}); err != nil {
				t.Errorf("generation %d: %v", gen, err)
				return
			}
			ctx, cancel := context.WithCancel(outer)
			p, err := Start(ctx, g, Options{Logger: log, Log: d.ring, Guard: guard, Pending: pending, Updater: fakeUpdater{},
				Restart: func(string) { d.restarts.Add(1); cancel() }})
			if err != nil {
				t.Errorf("generation %d: %v", gen, err)
				cancel()
				return
			}
			if err := g.Run(ctx); err != nil {
				t.Errorf("generation %d: Run: %v", gen, err)
			}
			p.Close()
			cancel()
		}
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			t.Error("daemon did not stop")
		}
	})
	return d
}

// sourceDriver is the reading source's driver: the command path is what
// is tested, not the modem (gateway/notify/modem has its own tests).
type sourceDriver struct{}

func (sourceDriver) Poll(context.Context) (drivers.Sample, error) {
	return drivers.Sample{Metrics: []drivers.Metric{drivers.Num("modem.signal", -71, "dBm")}}, nil
}

// fakeUpdater stands in for update.Manager, whose own tests run against a
// real TUF repository: here only the mapping to replies matters.
type fakeUpdater struct{}

func (fakeUpdater) Peek(context.Context) update.Event {
	return update.Event{State: update.StateAvailable, From: "1.0.0", To: "1.1.0"}
}

func (fakeUpdater) Check(_ context.Context, force bool) update.Event {
	if !force {
		return update.Event{State: update.StateDeferred, To: "1.1.0", Reason: "outside the maintenance window"}
	}
	return update.Event{State: update.StateFailed, To: "1.1.0", Reason: "download: connection reset"}
}

// provider is the cloud side: it sends commands and collects replies and
// events.
type provider struct {
	t       *testing.T
	cl      mqtt.Client
	key     ed25519.PrivateKey
	mu      sync.Mutex
	replies map[string][][]byte
	events  []string
	seq     atomic.Int64
}

func newProvider(t *testing.T, url string, key ed25519.PrivateKey) *provider {
	t.Helper()
	p := &provider{t: t, key: key, replies: map[string][][]byte{}}
	p.cl = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("provider-%d", time.Now().UnixNano())))
	if tok := p.cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("provider connect: %v", tok.Error())
	}
	t.Cleanup(func() { p.cl.Disconnect(100) })
	for filter, h := range map[string]mqtt.MessageHandler{
		cmdRoot + "/reply/#": func(_ mqtt.Client, m mqtt.Message) {
			id := strings.TrimPrefix(m.Topic(), cmdRoot+"/reply/")
			p.mu.Lock()
			p.replies[id] = append(p.replies[id], append([]byte(nil), m.Payload()...))
			p.mu.Unlock()
		},
		cmdRoot + "/event/gateway": func(_ mqtt.Client, m mqtt.Message) {
			p.mu.Lock()
			p.events = append(p.events, string(m.Payload()))
			p.mu.Unlock()
		},
	} {
		if tok := p.cl.Subscribe(filter, 1, h); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("provider subscribe: %v", tok.Error())
		}
	}
	return p
}

func (p *provider) newID() string {
	return fmt.Sprintf("c-%d-%d", time.Now().UnixNano()%1e6, p.seq.Add(1))
}

// signedPayload builds a command signed now.
func (p *provider) signedPayload(name, id string, args any, ts time.Time) []byte {
	a, _ := json.Marshal(args)
	tss := contract.FormatTime(ts)
	nonce := fmt.Sprintf("nonce-%020d", time.Now().UnixNano()+p.seq.Add(1))
	b, _ := json.Marshal(map[string]any{"id": id, "ts": tss, "nonce": nonce, "args": json.RawMessage(a),
		"sig": command.Sign(p.key, cmdRoot, name, id, tss, nonce, a)})
	return b
}

// send publishes payload on cmd/name and waits for n reply messages,
// resending the same payload every 3 s like a provider whose box may be
// restarting (replies are idempotent per id).
func (p *provider) send(name, id string, payload []byte, n int) []command.Reply {
	p.t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		if payload != nil {
			p.cl.Publish(cmdRoot+"/cmd/"+name, 1, false, payload).WaitTimeout(5 * time.Second)
		}
		for resend := time.Now().Add(3 * time.Second); time.Now().Before(resend); time.Sleep(20 * time.Millisecond) {
			p.mu.Lock()
			got := p.replies[id]
			p.mu.Unlock()
			if len(got) >= n {
				out := make([]command.Reply, n)
				for i := range n {
					if err := json.Unmarshal(got[i], &out[i]); err != nil {
						p.t.Fatalf("reply %s: %v", got[i], err)
					}
				}
				return out
			}
		}
	}
	p.t.Fatalf("no reply to %s %s", name, id)
	return nil
}

func (p *provider) call(name string, args any) command.Reply {
	p.t.Helper()
	id := p.newID()
	b, _ := json.Marshal(map[string]any{"id": id, "args": args})
	return p.send(name, id, b, 1)[0]
}

func (p *provider) callSigned(name string, args any) command.Reply {
	p.t.Helper()
	id := p.newID()
	return p.send(name, id, p.signedPayload(name, id, args, time.Now()), 1)[0]
}

func (p *provider) waitEvent(what string) string {
	p.t.Helper()
	var found string
	gwtest.WaitFor(p.t, what, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.events {
			if strings.Contains(e, what) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

func mustOK(t *testing.T, what string, r command.Reply) map[string]any {
	t.Helper()
	if !r.OK {
		t.Fatalf("%s: error reply %q", what, r.Error)
	}
	m, _ := r.Result.(map[string]any)
	return m
}

func mustFail(t *testing.T, what string, r command.Reply, want string) {
	t.Helper()
	if r.OK || !strings.Contains(r.Error, want) {
		t.Fatalf("%s: reply ok=%v error %q, want error containing %q", what, r.OK, r.Error, want)
	}
}

const uplinkPassword = "geheim-uplink-pw"

func commandsConfig(dir, broker, key string) string {
	return fmt.Sprintf(`site: s
gateway: g
state_dir: %s
uplink: {broker: %q, username: gw, password: %s, backoff_min: 100ms, backoff_max: 1s}
commands: {keys: [%q], confirm_timeout: 10s}
devices: [{id: f, driver: sim, interval: 1s, sim: {scenario: fridge}}]
`, filepath.Join(dir, "state"), broker, uplinkPassword, key)
}

// Every command against a real Mosquitto, including forged, replayed,
// malformed and oversized ones; a set-config that cuts the uplink is
// reverted and reported, one that keeps it is confirmed.
func TestCommandsEndToEnd(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	pub, priv, _ := ed25519.GenerateKey(nil)
	key := base64.StdEncoding.EncodeToString(pub)
	dir := t.TempDir()
	path := filepath.Join(dir, "praxisgate.yaml")
	orig := commandsConfig(dir, mq.URL(), key)
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, path)
	p := newProvider(t, mq.URL(), priv)

	boot1 := mustOK(t, "ping", p.call("ping", nil))["boot"]

	t.Run("poll-now", func(t *testing.T) {
		res := mustOK(t, "poll one", p.call("poll-now", map[string]any{"device": "f"}))
		if res["polled"] != 1.0 || !strings.Contains(fmt.Sprint(res["results"]), "temperature") {
			t.Fatalf("poll-now f: %v", res)
		}
		// f, the box itself and the reading source.
		if res := mustOK(t, "poll all", p.call("poll-now", nil)); res["polled"] != 3.0 || !strings.Contains(fmt.Sprint(res["results"]), "modem.signal") {
			t.Fatalf("poll-now all: %v", res)
		}
		if res := mustOK(t, "poll the source", p.call("poll-now", map[string]any{"device": "sms-modem"})); res["polled"] != 1.0 || !strings.Contains(fmt.Sprint(res["results"]), "modem.signal") {
			t.Fatalf("poll-now sms-modem: %v", res)
		}
		mustFail(t, "poll unknown", p.call("poll-now", map[string]any{"device": "nope"}), `unknown device "nope"`)
		mustFail(t, "poll bad arg", p.call("poll-now", map[string]any{"device": 3}), "args")
	})
	t.Run("get-config redacts", func(t *testing.T) {
		res := mustOK(t, "get-config", p.call("get-config", nil))
		y := res["yaml"].(string)
		if strings.Contains(y, uplinkPassword) || !strings.Contains(y, configguard.Redacted) || !strings.Contains(y, "site: s") {
			t.Fatalf("get-config yaml:\n%s", y)
		}
	})
	t.Run("get-log", func(t *testing.T) {
		res := mustOK(t, "get-log", p.call("get-log", map[string]any{"lines": 50}))
		lines := fmt.Sprint(res["lines"])
		if !strings.Contains(lines, "command ran") || strings.Contains(lines, uplinkPassword) {
			t.Fatalf("get-log: %s", lines)
		}
		mustFail(t, "get-log too many", p.call("get-log", map[string]any{"lines": 1e6}), "args.lines")
	})
	t.Run("support-bundle in chunks", func(t *testing.T) {
		id := p.newID()
		first := p.send("support-bundle", id, []byte(`{"id":"`+id+`"}`), 1)[0]
		replies := p.send("support-bundle", id, nil, first.Parts)
		var gz []byte
		for i, r := range replies {
			if !r.OK || r.Part != i+1 || r.Parts != first.Parts {
				t.Fatalf("chunk %d: %+v", i, r)
			}
			data, _ := base64.StdEncoding.DecodeString(r.Result.(map[string]any)["data"].(string))
			gz = append(gz, data...)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		var b map[string]any
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(uplinkPassword)) || b["gateway"] != "g" || !strings.Contains(b["config"].(string), configguard.Redacted) {
			t.Fatalf("bundle: %s", raw)
		}
	})
	t.Run("ack-alarm", func(t *testing.T) {
		mustFail(t, "ack without alarm", p.call("ack-alarm", nil), "args.alarm: required")
		mustFail(t, "ack unknown", p.call("ack-alarm", map[string]any{"alarm": "f/x.above"}), "no active alarm")
		mustFail(t, "ack with a control character in the comment", p.call("ack-alarm", map[string]any{"alarm": "f/x.above", "comment": "Tür\x07"}), "args.comment")
	})
	t.Run("coldchain-verify", func(t *testing.T) {
		mustFail(t, "unsigned coldchain-verify", p.call("coldchain-verify", nil), "must be signed")
		// The box has no fridge (TestColdChainVerify checks records).
		res := mustOK(t, "coldchain-verify", p.callSigned("coldchain-verify", nil))
		if got, ok := res["fridges"].([]any); !ok || len(got) != 0 {
			t.Fatalf("coldchain-verify: %v", res)
		}
	})
	t.Run("updates", func(t *testing.T) {
		if res := mustOK(t, "update-check", p.call("update-check", nil)); res["state"] != "available" || res["to"] != "1.1.0" {
			t.Fatalf("update-check: %v", res)
		}
		mustFail(t, "unsigned update-install", p.call("update-install", nil), "must be signed")
		if res := mustOK(t, "update-install", p.callSigned("update-install", nil)); res["state"] != "deferred" {
			t.Fatalf("update-install: %v", res)
		}
		mustFail(t, "forced update-install", p.callSigned("update-install", map[string]any{"force": true}), "update failed: download: connection reset")
		mustFail(t, "discover-now", p.call("discover-now", nil), "no discovery device")
		// A UPS plugged into the box is reported though no network
		// discovery is configured.
		plugged.Store(true)
		defer plugged.Store(false)
		res := mustOK(t, "discover-now with a USB UPS", p.call("discover-now", nil))
		att, ok := res["attached"].([]any)
		if !ok || len(att) != 1 {
			t.Fatalf("discover-now: attached %v", res["attached"])
		}
		a := att[0].(map[string]any)
		if a["key"] != "4B1948P07984" || a["driver"] != "testusb" || a["proposed_id"] != "usv-4b1948p07984" || a["kind"] != "ups" {
			t.Fatalf("discover-now: attached %v", a)
		}
		if res["polled"] != float64(0) {
			t.Fatalf("discover-now polled %v devices, want 0", res["polled"])
		}
	})
	t.Run("refused", func(t *testing.T) {
		mustFail(t, "unknown", p.call("reboot-now", nil), `unknown command "reboot-now"`)
		mustFail(t, "unsigned restart", p.call("restart", nil), "must be signed")
		mustFail(t, "unsigned set-config", p.call("set-config", map[string]any{"yaml": orig}), "must be signed")
		mustFail(t, "unsigned ups-selftest", p.call("ups-selftest", map[string]any{"device": "f"}), "must be signed")
		mustFail(t, "self-test of a fridge", p.callSigned("ups-selftest", map[string]any{"device": "f"}), "cannot start a battery self-test")
		_, other, _ := ed25519.GenerateKey(nil)
		forger := &provider{t: t, key: other}
		id := p.newID()
		mustFail(t, "forged restart", p.send("restart", id, forger.signedPayload("restart", id, nil, time.Now()), 1)[0], "does not verify")
		id = p.newID()
		mustFail(t, "stale restart", p.send("restart", id, p.signedPayload("restart", id, nil, time.Now().Add(-time.Hour)), 1)[0], "clock skew")
		id = p.newID()
		mustFail(t, "malformed", p.send("ping", id, []byte(`{"id":"`+id+`","args":{"x":`), 1)[0], "not a valid JSON")
		id = p.newID()
		big := []byte(`{"id":"` + id + `","args":{"yaml":"` + strings.Repeat("x", command.MaxPayload) + `"}}`)
		mustFail(t, "oversized", p.send("set-config", id, big, 1)[0], "too large")
		if d.restarts.Load() != 0 {
			t.Fatal("a refused command restarted the daemon")
		}
	})
	t.Run("redelivery answers again without running again", func(t *testing.T) {
		id := p.newID()
		payload := p.signedPayload("get-log", id, map[string]any{"lines": 1}, time.Now())
		first := p.send("get-log", id, payload, 1)
		again := p.send("get-log", id, payload, 2) // the same bytes, as a QoS 1 redelivery or a replay
		if !first[0].OK || again[1].TS != first[0].TS || fmt.Sprint(again[1].Result) != fmt.Sprint(first[0].Result) {
			t.Fatalf("second answer differs: %+v vs %+v", again[1], first[0])
		}
	})
	t.Run("set-config that cuts the uplink is reverted", func(t *testing.T) {
		dead, err := testpeer.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		broken := commandsConfig(dir, fmt.Sprintf("tcp://127.0.0.1:%d", dead), key)
		broken = strings.Replace(broken, "password: "+uplinkPassword, "password: '"+configguard.Redacted+"'", 1)
		res := mustOK(t, "set-config", p.callSigned("set-config", map[string]any{"yaml": broken}))
		if res["state"] != "restarting" {
			t.Fatalf("set-config: %v", res)
		}
		ev := p.waitEvent(`"type":"config.reverted"`)
		if !strings.Contains(ev, "did not come back within 10s") {
			t.Fatalf("revert event: %s", ev)
		}
		if b, _ := os.ReadFile(path); string(b) != orig {
			t.Fatalf("config after revert:\n%s", b)
		}
		if boot := mustOK(t, "ping after revert", p.call("ping", nil))["boot"]; boot == boot1 {
			t.Fatal("daemon did not restart")
		}
	})
	t.Run("set-config that keeps the uplink is confirmed", func(t *testing.T) {
		next := strings.Replace(orig, "devices:", "self: {interval: 30s}\ndevices:", 1)
		mustOK(t, "set-config", p.callSigned("set-config", map[string]any{"yaml": next}))
		p.waitEvent(`"type":"config.applied"`)
		if b, _ := os.ReadFile(path); string(b) != next {
			t.Fatalf("config after confirm:\n%s", b)
		}
		if _, err := os.Stat(path + ".pending"); !os.IsNotExist(err) {
			t.Fatalf("marker left: %v", err)
		}
	})
	t.Run("signed restart", func(t *testing.T) {
		before := d.restarts.Load()
		id := p.newID()
		captured := p.signedPayload("restart", id, map[string]any{"reason": "test"}, time.Now())
		mustOK(t, "restart", p.send("restart", id, captured, 1)[0])
		gwtest.WaitFor(t, "restart", func() bool { return d.restarts.Load() == before+1 })
		mustOK(t, "ping after restart", p.call("ping", nil))
		// The captured message replayed to the restarted daemon, which
		// remembers neither the id nor the nonce: refused by its ts. The
		// old daemon may have answered the first send more than once (a
		// resend while it was slow), and such a duplicate "ok" can still
		// be on its way; so the replay's reply is the first refusal after
		// the replies already received, and every reply before it must
		// be the old daemon's ok.
		p.mu.Lock()
		seen := len(p.replies[id])
		p.mu.Unlock()
		var replay *command.Reply
		for n := seen + 1; n <= seen+4 && replay == nil; n++ {
			replies := p.send("restart", id, captured, n)
			if r := replies[n-1]; !r.OK {
				replay = &r
			}
		}
		if replay == nil {
			t.Fatalf("replayed restart: 4 more replies, all ok")
		}
		mustFail(t, "replayed restart", *replay, "signed before this daemon started")
		if n := d.restarts.Load(); n != before+1 {
			t.Fatalf("replayed restart ran: %d restarts", n-before)
		}
	})
}

// Without an Updater (a build or box without the update machinery) the
// update commands say so instead of pretending to be unknown.
func TestUpdateCommandsWithoutUpdater(t *testing.T) {
	h := (&server{}).commandHandlers(Options{})
	for _, name := range []string{"update-check", "update-install"} {
		_, err := h[name](context.Background(), command.Request{Name: name, ID: "x"})
		if err == nil || !strings.Contains(err.Error(), "not available in this build") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// plugged switches the test finder's USB UPS on; off, it finds nothing,
// as on a box with nothing plugged in.
var plugged atomic.Bool

func init() {
	drivers.RegisterFinder("testusb", func([]drivers.Configured) ([]drivers.Attached, error) {
		if !plugged.Load() {
			return nil, nil
		}
		return []drivers.Attached{{Key: "4B1948P07984", Title: "Back-UPS ES 850G2 (051d:0002, USB)", ID: "usv-4b1948p07984",
			Adopt: drivers.Adoption{Driver: "testusb", Kind: "ups", Settings: map[string]string{"serial": "4B1948P07984"}}}}, nil
	})
}
