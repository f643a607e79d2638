package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"syscall"
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
	cmd := exec.Command(binary, "run", "-config", cfg)
	var se bytes.Buffer
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	defer func() {
		if t.Failed() {
			t.Logf("daemon stderr:\n%s", se.String())
		}
	}()
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

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop after SIGTERM")
	}
}
