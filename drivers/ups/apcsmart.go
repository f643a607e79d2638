package ups

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// APC "smart" protocol (UPS-Link), see ups-serial-protocols.md §2: the host
// sends single characters, the UPS answers one line ending in CR LF, and
// may throw single alert characters in at any moment.

// apcAlerts are the unsolicited characters an APC unit sends on its own.
const apcAlerts = "!$%+#?=*|&"

func isAPCAlert(c byte) bool { return strings.IndexByte(apcAlerts, c) >= 0 }

// alertMessage explains an APC alert character for the event log.
func alertMessage(c byte) string {
	switch c {
	case '!':
		return "UPS reported a switch to battery"
	case '$':
		return "UPS reported it is back on line"
	case '%':
		return "UPS reported a low battery"
	case '+':
		return "UPS reported the low battery cleared"
	case '#':
		return "UPS reported its battery needs replacing"
	case '?':
		return "UPS reported an overload"
	case '=':
		return "UPS reported the overload cleared"
	case '*':
		return "UPS announced it is about to power down"
	case '|':
		return "UPS reported a changed setting"
	case '&':
		return "UPS asks to check its alarm register"
	}
	return "UPS sent an alert"
}

// APC status register bits (query Q).
const (
	apcCalibrating = 0x01
	apcTrim        = 0x02
	apcBoost       = 0x04
	apcOnLine      = 0x08
	apcOnBattery   = 0x10
	apcOverload    = 0x20
	apcLowBattery  = 0x40
	apcReplaceBatt = 0x80
)

// parseAPCStatus reads the two-hex-digit status register.
func parseAPCStatus(line []byte) (byte, error) {
	s := string(bytes.TrimSpace(line))
	if len(s) != 2 {
		return 0, fmt.Errorf("status register %q: want two hex digits", clip(line))
	}
	v, err := strconv.ParseUint(s, 16, 8)
	if err != nil {
		return 0, fmt.Errorf("status register %q: want two hex digits", s)
	}
	return byte(v), nil
}

// apcFlags maps the status register to NUT flags.
func apcFlags(reg byte, charge float64) []string {
	var f []string
	switch {
	case reg&apcOnBattery != 0:
		f = append(f, FlagOnBattery, FlagDischarging)
	case reg&apcOnLine != 0:
		f = append(f, FlagOnLine)
		// The register has no "charging" bit; a unit on line below
		// full charge is recharging.
		if !math.IsNaN(charge) && charge < 99.5 {
			f = append(f, FlagCharging)
		}
	default:
		// Neither on line nor on battery: output off (e.g. after a
		// shutdown, waiting for mains).
		f = append(f, FlagOff)
	}
	if reg&apcLowBattery != 0 {
		f = append(f, FlagLowBattery)
	}
	if reg&apcReplaceBatt != 0 {
		f = append(f, FlagReplaceBatt)
	}
	if reg&apcOverload != 0 {
		f = append(f, FlagOverload)
	}
	if reg&apcTrim != 0 {
		f = append(f, FlagTrim)
	}
	if reg&apcBoost != 0 {
		f = append(f, FlagBoost)
	}
	if reg&apcCalibrating != 0 {
		f = append(f, FlagCalibrating)
	}
	return f
}

// parseAPCNumber reads a numeric reply such as "099.0", "27.87" or the
// runtime "0327:" (minutes, the colon is part of the reply).
func parseAPCNumber(line []byte) (float64, error) {
	s := strings.TrimSuffix(strings.TrimSpace(string(line)), ":")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || strings.ContainsAny(s, "xXpP_") {
		return 0, fmt.Errorf("%q is not a number", clip(line))
	}
	return v, nil
}

// apcText reads a text reply (model, firmware); replies must be printable.
func apcText(line []byte) (string, error) {
	for _, c := range line {
		if c < 0x20 || c > 0x7e {
			return "", fmt.Errorf("reply %q holds a non-printable byte", clip(line))
		}
	}
	return strings.TrimSpace(string(line)), nil
}

// apcNumeric lists the queries read on every poll.
var apcNumeric = []struct {
	cmd   byte
	name  string
	unit  string
	scale float64
}{
	{'f', "battery.charge", "%", 1},
	{'j', "battery.runtime", "s", 60},
	{'B', "battery.voltage", "V", 1},
	{'L', "input.voltage", "V", 1},
	{'F', "input.frequency", "Hz", 1},
	{'O', "output.voltage", "V", 1},
	{'P', "ups.load", "%", 1},
	{'C', "ups.temperature", "°C", 1},
}

// apcIdentity lists the text queries read once per connection.
var apcIdentity = []struct {
	cmd  byte
	name string
}{
	{0x01, "device.model"},
	{'b', "ups.firmware"},
	{'n', "device.serial"},
	{'g', "battery.voltage.nominal"},
}

// apcSmart polls an APC Smart-UPS.
type apcSmart struct {
	link    *link
	timeout time.Duration
	// identity caches model, firmware and serial for the connection.
	identity []textVal
	alerts   []byte
}

type textVal struct{ name, value string }

// ask sends one query character and returns its reply line. NA (not
// available) becomes errNotSupported; SM (the unit fell back to dumb mode
// and re-entered smart mode) is never a value.
func (a *apcSmart) ask(ctx context.Context, cmd byte, valid func([]byte) bool) ([]byte, error) {
	a.link.discard()
	if err := a.link.send([]byte{cmd}); err != nil {
		return nil, err
	}
	check := func(l []byte) bool {
		s := string(bytes.TrimSpace(l))
		if s == "NA" || s == "SM" {
			return true
		}
		return valid(l)
	}
	line, err := a.link.readReply(ctx, a.link.now().Add(a.timeout), '\n', replyCheck{valid: check})
	if err != nil {
		return line, err
	}
	switch string(bytes.TrimSpace(line)) {
	case "NA", "SM":
		return line, errNotSupported
	}
	return line, nil
}

// enterSmart sends Y until the unit answers SM. An APC unit powers up in
// "dumb" mode and falls back to it after a self-reset.
func (a *apcSmart) enterSmart(ctx context.Context) error {
	a.link.discard()
	if err := a.link.send([]byte("Y")); err != nil {
		return err
	}
	_, err := a.link.readReply(ctx, a.link.now().Add(a.timeout), '\n', replyCheck{
		valid: func(l []byte) bool { return string(bytes.TrimSpace(l)) == "SM" },
	})
	if err != nil {
		return fmt.Errorf("enter smart mode (Y): %w", err)
	}
	return nil
}

func isNumberLine(l []byte) bool { _, err := parseAPCNumber(l); return err == nil }

func (a *apcSmart) poll(ctx context.Context) (reading, error) {
	a.alerts = a.alerts[:0]
	if err := a.enterSmart(ctx); err != nil {
		return reading{}, err
	}
	var rd reading
	var reg byte
	// Q may answer SM while the unit is not ready: read it twice at most.
	var err error
	for range 2 {
		var line []byte
		line, err = a.ask(ctx, 'Q', func(l []byte) bool { _, e := parseAPCStatus(l); return e == nil })
		if err == nil {
			reg, err = parseAPCStatus(line)
			break
		}
		if err != errNotSupported {
			break
		}
	}
	if err != nil {
		return rd, fmt.Errorf("read status (Q): %w", err)
	}
	charge := math.NaN()
	for _, q := range apcNumeric {
		line, err := a.ask(ctx, q.cmd, isNumberLine)
		if err == errNotSupported {
			continue // this model lacks the value (e.g. no temperature)
		}
		if err != nil {
			return rd, fmt.Errorf("read %s (%c): %w", q.name, q.cmd, err)
		}
		v, _ := parseAPCNumber(line)
		v *= q.scale
		if q.name == "battery.charge" {
			charge = v
		}
		rd.num(q.name, v, q.unit)
	}
	if a.identity == nil {
		ids := []textVal{}
		for _, q := range apcIdentity {
			line, err := a.ask(ctx, q.cmd, func(l []byte) bool { _, e := apcText(l); return e == nil })
			if err == errNotSupported {
				continue
			}
			if err != nil {
				return rd, fmt.Errorf("read %s: %w", q.name, err)
			}
			s, _ := apcText(line)
			ids = append(ids, textVal{q.name, s})
		}
		a.identity = ids
	}
	for _, t := range a.identity {
		if t.name == "battery.voltage.nominal" {
			if v, err := parseAPCNumber([]byte(t.value)); err == nil {
				rd.num(t.name, v, "V")
			}
			continue
		}
		rd.text(t.name, t.value)
	}
	rd.flags = apcFlags(reg, charge)
	rd.alerts = append(rd.alerts, a.alerts...)
	return rd, nil
}
