package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/konnektor/konnektorsim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

const konnektorConfig = `site: praxis-test
gateway: gw-01
state_dir: %s
uplink:
  broker: %s
  backoff_min: 100ms
  backoff_max: 1s
self: {interval: 10s}
web: {listen: "off", redirect_listen: "off"}
devices:
  - id: konnektor
    driver: konnektor
    interval: 2s
    timeout: 2s
    konnektor:
      url: %s
      ca_file: %s
      auth: certificate
      cert_file: %s
      key_file: %s
      mandant_id: Mandant1
      client_system_id: praxisgate
      workplace_id: Monitoring
`

// TestKonnektorAlarms runs the daemon against the connector simulator
// (client certificate auth, CA-checked) and a real Mosquitto: an SMC-B
// whose certificate expires in 10 days raises its alarm; the TI VPN going
// down raises a critical alarm, and coming back clears it.
func TestKonnektorAlarms(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	pki := testpeer.NewTestPKI(t)
	sim, err := konnektorsim.Start(konnektorsim.Options{CertFile: pki.ServerCert, KeyFile: pki.ServerKey,
		Auth: "certificate", ClientCAFile: pki.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	now := time.Now()
	sim.Practice(now)
	const smcb = "80276883110000118001"
	if err := sim.SetCardExpiry(smcb, now.AddDate(0, 0, 10)); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", fmt.Sprintf(konnektorConfig, dir, mq.URL(), sim.URL(), pki.CAFile, pki.ClientCert, pki.ClientKey))
	sub := subscribe(t, mq.URL(), "praxisgate/v1/#")
	d := startRun(t, cfg)
	root := "praxisgate/v1/praxis-test/gw-01/"
	ev := root + "event/konnektor"
	waitFor(t, "card expiry alarm", 60*time.Second, func() bool {
		return sub.findAll(ev, `"type":"alarm.raised"`, `"condition":"card.`+smcb+`.cert_expiring_soon"`)
	})
	// The poll's events go out before its telemetry (the uplink sends
	// events first), so the reading may still be on its way.
	waitFor(t, "cert_days in the telemetry", 30*time.Second, func() bool {
		return sub.find(root+"telemetry/konnektor", `"card.`+smcb+`.cert_days"`)
	})
	vpn := `"condition":"konnektor.ec_no_vpn_ti_connection"`
	if sub.find(ev, vpn) {
		t.Fatal("VPN alarm before the VPN went down")
	}
	sim.SetVPN(false, false)
	waitFor(t, "VPN-down alarm", 60*time.Second, func() bool { return sub.findAll(ev, `"type":"alarm.raised"`, vpn, `"severity":"critical"`) })
	sim.SetVPN(true, false)
	waitFor(t, "VPN alarm cleared", 60*time.Second, func() bool { return sub.findAll(ev, `"type":"alarm.cleared"`, vpn) })
	// The card alarm stays while the card still expires.
	if sub.findAll(ev, `"type":"alarm.cleared"`, `"condition":"card.`+smcb) {
		t.Error("the card alarm was cleared")
	}

	d.stop(t)
}

// findAll reports whether one message on topic contains every string.
func (c *collector) findAll(topic string, contains ...string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs[topic] {
		all := true
		for _, s := range contains {
			if !strings.Contains(string(m), s) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
