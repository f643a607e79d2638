package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/notify/modemsim"
)

const notifyConfig = `site: praxis-test
gateway: gw-01
state_dir: %s
uplink:
  broker: %s
  backoff_min: 100ms
  backoff_max: 1s
self: {interval: 10s}
web: {listen: "off", redirect_listen: "off"}
devices:
  - {id: kuehlschrank, driver: sim, kind: fridge, interval: 1s,
     sim: {scenario: fridge, speed: 600, episodes: [{at: 10m, for: 10h}]}}
fridge: {delay: 0s}
notify:
  modem: {port: %s, health_interval: 5s}
  contacts:
    - {name: Praxis-Handy, number: "+4915112345678"}
  chains:
    critical: {contacts: [Praxis-Handy], delay: 1h}
  uplink_down_after: 0s
`

// TestNotifyWhileUplinkDown plays the night the notifier exists for,
// through the daemon: the broker is gone, the fridge warms past its band,
// the practice's phone gets an SMS from the modem, its "OK <code>" reply
// acknowledges the alarm, and when the broker is back the provider learns
// what the practice was told and that it acknowledged.
func TestNotifyWhileUplinkDown(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{Persistence: true})
	sim, err := modemsim.New(modemsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", fmt.Sprintf(notifyConfig, dir, mq.URL(), sim.Path()))
	sub := subscribe(t, mq.URL(), "praxisgate/v1/#")
	root := "praxisgate/v1/praxis-test/gw-01/"
	d := startRun(t, cfg)
	waitFor(t, "the daemon online", 60*time.Second, func() bool { return sub.find(root+"status", `"state":"online"`) })
	// The provider holds a persistent session, as docs/mqtt.md asks: what
	// the box sends when the broker is back is queued for it.
	provider := &collector{msgs: map[string][][]byte{}}
	popts := mqtt.NewClientOptions().AddBroker(mq.URL()).SetClientID("test-provider-persistent").SetCleanSession(false).
		SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).SetMaxReconnectInterval(time.Second)
	popts.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
		provider.mu.Lock()
		provider.msgs[m.Topic()] = append(provider.msgs[m.Topic()], append([]byte(nil), m.Payload()...))
		provider.mu.Unlock()
	})
	pcl := mqtt.NewClient(popts)
	if tok := pcl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("provider connect: %v", tok.Error())
	}
	defer pcl.Disconnect(100)
	if tok := pcl.Subscribe("praxisgate/v1/#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("provider subscribe: %v", tok.Error())
	}
	mq.Stop()

	var code string
	waitFor(t, "an SMS to the practice's phone", 120*time.Second, func() bool {
		for _, s := range sim.Submits() {
			if m := regexp.MustCompile(`OK (\d{4})`).FindStringSubmatch(s.Text); s.To == "+4915112345678" && m != nil {
				code = m[1]
				return true
			}
		}
		return false
	})
	if err := sim.Deliver("+4915112345678", "OK "+code, time.Now()); err != nil {
		t.Fatal(err)
	}
	// An SMS from a number not in the list changes nothing.
	if err := sim.Deliver("+4917000000000", "OK "+code, time.Now()); err != nil {
		t.Fatal(err)
	}

	mq.Restart()
	sub = provider
	ev := root + "event/"
	waitFor(t, "notify.sent, notify.acked and alarm.acked at the broker", 120*time.Second, func() bool {
		return sub.findAll(ev+"kuehlschrank", `"type":"notify.sent"`, `Praxis-Handy`) &&
			sub.findAll(ev+"kuehlschrank", `"type":"notify.acked"`, `Praxis-Handy`) &&
			sub.findAll(ev+"kuehlschrank", `"type":"alarm.acked"`, `sms:Praxis-Handy`)
	})
	if n := len(sim.Submits()); n != 1 {
		t.Errorf("%d SMS sent, want 1 (one contact, acknowledged before the next round)", n)
	}

	d.stop(t)
}

const modemHealthConfig = `site: praxis-test
gateway: gw-02
state_dir: %s
uplink: {broker: %s, backoff_min: 100ms, backoff_max: 1s}
self: {interval: 10s}
web: {listen: "off", redirect_listen: "off"}
devices:
  - {id: raum, driver: sim, kind: room, interval: 5s, sim: {scenario: room}}
alarms:
  - {device: sms-modem, metric: modem.signal, below: -100, severity: minor}
notify:
  modem: {port: %s, health_interval: 5s}
  contacts:
    - {name: Praxis-Handy, number: "+4915112345678"}
%s`

// TestNotifyTestCommandAndModemHealth: the modem's health reaches the
// provider like a device's readings (telemetry, a threshold rule on its
// signal, its conditions as alarms), the stick is found again after it
// re-enumerated under another name, and the signed notify-test command
// sends the test SMS through the modem and replies with the result.
func TestNotifyTestCommandAndModemHealth(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	sim, err := modemsim.New(modemsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	prov := newProvider(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", fmt.Sprintf(modemHealthConfig, dir, mq.URL(), sim.Path(), prov.commandsYAML()))
	root := "praxisgate/v1/praxis-test/gw-02"
	sub := listen(t, mq.URL(), root+"/#")
	d := startRun(t, cfg)
	sub.commandsReady(t, root)
	tel, ev := root+"/telemetry/sms-modem", root+"/event/sms-modem"
	sub.waitFor(t, "the modem's health as telemetry", tel, `"kind":"modem"`, `"modem.signal"`, `"modem.sim"`, `"READY"`, `"modem.registration"`)

	prov.send(t, sub, root, "notify-test", "nt-1", `{"contact":"Praxis-Handy"}`, false)
	sub.waitFor(t, "the test command's reply", root+"/reply/nt-1", `"ok":true`, `"sent":1`, `"contact":"Praxis-Handy"`)
	if s := sim.Submits(); len(s) != 1 || s[0].To != "+4915112345678" || !strings.HasPrefix(s[0].Text, "Test praxisgate praxis-test") {
		t.Fatalf("SMS at the modem after notify-test: %+v", s)
	}
	sub.waitFor(t, "notify.sent of the test", root+"/event/gateway", `"type":"notify.sent"`, `"test":true`)
	prov.send(t, sub, root, "notify-test", "nt-2", `{}`, true)
	sub.waitFor(t, "unsigned notify-test refused", root+"/reply/nt-2", `"ok":false`, "must be signed")
	prov.send(t, sub, root, "notify-test", "nt-3", `{"contact":"Niemand"}`, false)
	sub.waitFor(t, "an unknown contact refused", root+"/reply/nt-3", `"ok":false`, `unknown contact`)

	// Weak signal: the provider's threshold rule on the modem's reading.
	sim.SetSignal(2) // -109 dBm
	sub.waitFor(t, "alarm on weak signal", ev, `"type":"alarm.raised"`, `modem.signal`)

	// The stick is pulled: an alarm; a test now fails, and says so.
	before := sim.Target()
	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	sub.waitFor(t, "modem absent alarm", ev, `"type":"alarm.raised"`, `"condition":"modem.absent"`)
	prov.send(t, sub, root, "notify-test", "nt-4", `{}`, false)
	sub.waitFor(t, "a failed test reported", root+"/reply/nt-4", `"ok":false`, `failed for Praxis-Handy`)

	// It comes back under another pty name behind the same link.
	if err := sim.Replug(); err != nil {
		t.Fatal(err)
	}
	if sim.Target() == before {
		t.Fatalf("replugged under the same name %s", before)
	}
	sub.waitFor(t, "modem absent cleared", ev, `"type":"alarm.cleared"`, `modem.absent`)
	prov.send(t, sub, root, "notify-test", "nt-5", `{}`, false)
	sub.waitFor(t, "the test through the re-enumerated modem", root+"/reply/nt-5", `"ok":true`, `"sent":1`)
	if n := len(sim.Submits()); n != 2 {
		t.Errorf("%d SMS at the modem, want 2 (before the pull and after the replug)", n)
	}

	d.stop(t)
}
