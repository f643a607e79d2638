package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Notify configures alarms by SMS and call over a cellular modem
// (gateway/notify, docs/notify.md). Absent means no modem is used.
type Notify struct {
	Modem NotifyModem `yaml:"modem"`
	// Contacts are the people who may be told, by name.
	Contacts []NotifyContact `yaml:"contacts"`
	// Chains says per severity (critical, major, minor) who is told and
	// how; a severity without a chain sends nothing.
	Chains map[string]NotifyChain `yaml:"chains"`
	// SMSPerHour caps the SMS sent in any hour (a long, concatenated
	// message counts once). Absent means 10; it cannot be 0.
	SMSPerHour *int `yaml:"sms_per_hour"`
	// UplinkDownAfter is how long the uplink must be down before alarms
	// go out by SMS. Absent means 1m; 0 means at once.
	UplinkDownAfter *time.Duration `yaml:"uplink_down_after"`
	// ProviderAckWithin: an alarm the provider has not acknowledged after
	// this long goes out by SMS even with the uplink up. Absent means
	// 15m; 0 switches this off (only uplink loss then sends).
	ProviderAckWithin *time.Duration `yaml:"provider_ack_within"`
	// QuietHours ("22:00-07:00", local time) hold back chains that set
	// quiet: true until the hours end.
	QuietHours string `yaml:"quiet_hours"`
}

// NotifyDevice is the device id under which the notifier's modem reports
// its health (signal, registration, SIM, present and answering) when a
// notify section is set; a configured device cannot have it then, and
// alarm rules may name it.
const NotifyDevice = "sms-modem"

// NotifyModem is the modem's serial port.
type NotifyModem struct {
	// Port is the AT command port, best a /dev/serial/by-id/ link.
	Port string `yaml:"port"`
	// Baud is the line speed; absent means 115200.
	Baud int `yaml:"baud"`
	// Mode is pdu (default) or text.
	Mode string `yaml:"mode"`
	// PIN unlocks the SIM (or pin_file).
	PIN drivers.Secret `yaml:"pin"`
	// HealthInterval is how often signal, registration and SIM are read;
	// absent means 1m.
	HealthInterval time.Duration `yaml:"health_interval"`
}

// NotifyContact is one person.
type NotifyContact struct {
	Name string `yaml:"name"`
	// Number in international form, +49...
	Number string `yaml:"number"`
}

// NotifyChain is the escalation for one severity.
type NotifyChain struct {
	// Contacts by name, told in this order.
	Contacts []string `yaml:"contacts"`
	// Delay before the next contact is told; absent means 10m, 0 tells
	// everyone at once.
	Delay *time.Duration `yaml:"delay"`
	// Repeat starts again with the first contact after the last until the
	// alarm is acknowledged or cleared; absent means true.
	Repeat *bool `yaml:"repeat"`
	// When is uplink_down (default: only while the uplink is down or the
	// provider has not acknowledged in time) or always.
	When string `yaml:"when"`
	// Quiet holds this chain back during quiet_hours (for minor alarms).
	Quiet bool `yaml:"quiet"`
	// Call also rings each contact's phone after the SMS.
	Call bool `yaml:"call"`
	// Ring is how long a call rings before hanging up; absent means 30s.
	Ring time.Duration `yaml:"ring"`
}

// Defaults of the notify section.
const (
	DefaultNotifySMSPerHour        = 10
	DefaultNotifyUplinkDownAfter   = time.Minute
	DefaultNotifyProviderAckWithin = 15 * time.Minute
	DefaultNotifyDelay             = 10 * time.Minute
	DefaultNotifyRing              = 30 * time.Second
	DefaultNotifyHealthInterval    = time.Minute
	DefaultNotifyBaud              = 115200
)

// NotifyWhen values.
const (
	NotifyWhenUplinkDown = "uplink_down"
	NotifyWhenAlways     = "always"
)

func (l *loader) validateNotify() {
	n := l.cfg.Notify
	if n == nil {
		return
	}
	l.required("notify.modem.port", n.Modem.Port)
	for i, dev := range l.cfg.Devices {
		if dev.ID == NotifyDevice {
			l.problem(indexPath("devices", i)+".id", "%q is reserved for the SMS modem's health while notify is set", NotifyDevice)
		}
	}
	l.oneOf("notify.modem.mode", n.Modem.Mode, "pdu", "text")
	if n.Modem.Baud < 0 {
		l.problem("notify.modem.baud", "must be > 0, got %d", n.Modem.Baud)
	}
	l.atLeast("notify.modem.health_interval", n.Modem.HealthInterval, 5*time.Second)
	if n.SMSPerHour != nil && *n.SMSPerHour < 1 {
		l.problem("notify.sms_per_hour", "must be ≥ 1, got %d", *n.SMSPerHour)
	}
	if n.UplinkDownAfter != nil && *n.UplinkDownAfter < 0 {
		l.problem("notify.uplink_down_after", "must be ≥ 0, got %s", fmtDur(*n.UplinkDownAfter))
	}
	if n.ProviderAckWithin != nil && *n.ProviderAckWithin < 0 {
		l.problem("notify.provider_ack_within", "must be ≥ 0, got %s", fmtDur(*n.ProviderAckWithin))
	}
	if n.QuietHours != "" {
		if _, _, err := ParseQuietHours(n.QuietHours); err != nil {
			l.problem("notify.quiet_hours", "%v", err)
		}
	}
	names := map[string]bool{}
	for i, c := range n.Contacts {
		p := fmt.Sprintf("notify.contacts[%d]", i)
		l.required(p+".name", c.Name)
		if names[c.Name] {
			l.problem(p+".name", "%s is listed twice", shown(c.Name))
		}
		names[c.Name] = true
		if !phoneNumber(c.Number) {
			l.problem(p+".number", "want an international number like +4915112345678, got %s", shown(c.Number))
		}
	}
	for sev, ch := range n.Chains {
		p := "notify.chains." + sev
		if s := drivers.Severity(sev); s != drivers.Critical && s != drivers.Major && s != drivers.Minor {
			l.problem(p, "want critical, major or minor, got %s", shown(sev))
		}
		if len(ch.Contacts) == 0 {
			l.problem(p+".contacts", "name at least one contact")
		}
		for i, c := range ch.Contacts {
			if !names[c] {
				l.problem(fmt.Sprintf("%s.contacts[%d]", p, i), "no contact named %s under notify.contacts", shown(c))
			}
		}
		if ch.Delay != nil && *ch.Delay < 0 {
			l.problem(p+".delay", "must be ≥ 0, got %s", fmtDur(*ch.Delay))
		}
		if ch.Delay != nil && *ch.Delay < time.Minute && (ch.Repeat == nil || *ch.Repeat) {
			l.problem(p+".delay", "must be ≥ 1m when the chain repeats, got %s", fmtDur(*ch.Delay))
		}
		l.oneOf(p+".when", ch.When, NotifyWhenUplinkDown, NotifyWhenAlways)
		l.atLeast(p+".ring", ch.Ring, 5*time.Second)
		if ch.Quiet && n.QuietHours == "" {
			l.problem(p+".quiet", "set notify.quiet_hours too")
		}
	}
}

func (l *loader) fillNotifyDefaults() {
	n := l.cfg.Notify
	if n == nil {
		return
	}
	setStr(&n.Modem.Mode, "pdu")
	if n.Modem.Baud == 0 {
		n.Modem.Baud = DefaultNotifyBaud
	}
	setDur(&n.Modem.HealthInterval, DefaultNotifyHealthInterval)
	if n.SMSPerHour == nil {
		v := DefaultNotifySMSPerHour
		n.SMSPerHour = &v
	}
	if n.UplinkDownAfter == nil {
		v := DefaultNotifyUplinkDownAfter
		n.UplinkDownAfter = &v
	}
	if n.ProviderAckWithin == nil {
		v := DefaultNotifyProviderAckWithin
		n.ProviderAckWithin = &v
	}
	for sev, ch := range n.Chains {
		if ch.Delay == nil {
			v := DefaultNotifyDelay
			ch.Delay = &v
		}
		if ch.Repeat == nil {
			v := true
			ch.Repeat = &v
		}
		setStr(&ch.When, NotifyWhenUplinkDown)
		setDur(&ch.Ring, DefaultNotifyRing)
		n.Chains[sev] = ch
	}
}

// ParseQuietHours reads "HH:MM-HH:MM" into minutes after midnight; the end
// may be before the start (over midnight).
func ParseQuietHours(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("want HH:MM-HH:MM, got %s", shown(s))
	}
	parse := func(v string) (int, error) {
		t, err := time.Parse("15:04", strings.TrimSpace(v))
		if err != nil {
			return 0, fmt.Errorf("want HH:MM-HH:MM, got %s", shown(s))
		}
		return t.Hour()*60 + t.Minute(), nil
	}
	if from, err = parse(a); err != nil {
		return 0, 0, err
	}
	if to, err = parse(b); err != nil {
		return 0, 0, err
	}
	if from == to {
		return 0, 0, fmt.Errorf("quiet hours %s are empty", shown(s))
	}
	return from, to, nil
}

// phoneNumber accepts + and 6 to 15 digits (E.164).
func phoneNumber(s string) bool {
	if len(s) < 7 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
