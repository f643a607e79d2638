package config

import (
	"strings"
	"testing"
	"time"
)

const notifyBase = `site: praxis-a
gateway: gw-01
state_dir: state
uplink: {broker: "mqtts://broker.example"}
`

func TestNotifyDefaults(t *testing.T) {
	path := writeFiles(t, notifyBase+`notify:
  modem: {port: /dev/serial/by-id/usb-modem-if02}
  contacts:
    - {name: Praxis, number: "+4915112345678"}
    - {name: Chefin, number: "+491709876543"}
  chains:
    critical: {contacts: [Praxis, Chefin], call: true}
    minor: {contacts: [Praxis], delay: 0s, repeat: false, quiet: true}
  quiet_hours: "22:00-07:00"
`, nil)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Notify
	crit, minor := n.Chains["critical"], n.Chains["minor"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"mode", n.Modem.Mode, "pdu"},
		{"baud", n.Modem.Baud, 115200},
		{"sms_per_hour", *n.SMSPerHour, 10},
		{"uplink_down_after", *n.UplinkDownAfter, time.Minute},
		{"provider_ack_within", *n.ProviderAckWithin, 15 * time.Minute},
		{"critical.delay", *crit.Delay, 10 * time.Minute},
		{"critical.repeat", *crit.Repeat, true},
		{"critical.when", crit.When, "uplink_down"},
		{"critical.ring", crit.Ring, 30 * time.Second},
		{"minor.delay (explicit 0 kept)", *minor.Delay, time.Duration(0)},
		{"minor.repeat (explicit false kept)", *minor.Repeat, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Alarm rules may name the modem's health device.
	withRule := writeFiles(t, notifyBase+`notify: {modem: {port: /dev/x}}
alarms: [{device: sms-modem, metric: modem.signal, below: -105, severity: minor}]
`, nil)
	if _, err := Load(withRule); err != nil {
		t.Errorf("alarm rule on the modem: %v", err)
	}
	noNotify := writeFiles(t, notifyBase, nil)
	if cfg, err := Load(noNotify); err != nil || cfg.Notify != nil {
		t.Errorf("absent notify: %v %+v", err, cfg)
	}
}

func TestNotifyProblems(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"no port", `notify: {contacts: []}`, "notify.modem.port"},
		{"unknown key", `notify: {modem: {port: /dev/x}, sms_per_day: 3}`, "sms_per_day"},
		{"zero rate", `notify: {modem: {port: /dev/x}, sms_per_hour: 0}`, "notify.sms_per_hour"},
		{"bad number", `notify: {modem: {port: /dev/x}, contacts: [{name: a, number: "0151 123"}]}`, "notify.contacts[0].number"},
		{"unknown contact", `notify: {modem: {port: /dev/x}, contacts: [{name: a, number: "+4915112345678"}], chains: {critical: {contacts: [b]}}}`, "notify.chains.critical.contacts[0]"},
		{"bad severity", `notify: {modem: {port: /dev/x}, contacts: [{name: a, number: "+4915112345678"}], chains: {info: {contacts: [a]}}}`, "notify.chains.info"},
		{"repeat without delay", `notify: {modem: {port: /dev/x}, contacts: [{name: a, number: "+4915112345678"}], chains: {major: {contacts: [a], delay: 0s}}}`, "notify.chains.major.delay"},
		{"bad when", `notify: {modem: {port: /dev/x}, contacts: [{name: a, number: "+4915112345678"}], chains: {major: {contacts: [a], when: sometimes}}}`, "notify.chains.major.when"},
		{"quiet without hours", `notify: {modem: {port: /dev/x}, contacts: [{name: a, number: "+4915112345678"}], chains: {minor: {contacts: [a], quiet: true}}}`, "notify.chains.minor.quiet"},
		{"bad quiet hours", `notify: {modem: {port: /dev/x}, quiet_hours: "22-7"}`, "notify.quiet_hours"},
		{"bad mode", `notify: {modem: {port: /dev/x, mode: fax}}`, "notify.modem.mode"},
		{"device under the modem's id", "devices: [{id: sms-modem, driver: sim}]\nnotify: {modem: {port: /dev/x}}", "devices[0].id"},
		{"modem alarm without notify", "alarms: [{device: sms-modem, metric: modem.signal, below: -105}]", "alarms[0].device"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFiles(t, notifyBase+tc.yaml+"\n", nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want a problem at %s, got %v", tc.want, err)
			}
		})
	}
}
