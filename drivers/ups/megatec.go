package ups

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Megatec/Q1 ("blazer", nutdrv_qx "megatec") as described in
// docs/ups-serial-protocols.md §1: commands end in CR, the
// status reply starts with '(' and the rating and vendor replies with '#'.

// q1Status is a parsed Q1 reply. Fields the UPS left as dashes or dots
// ("--.-" when there is no temperature sensor) are NaN.
type q1Status struct {
	InputV, FaultV, OutputV, Load, Freq, BattV, Temp float64
	// Bits holds the eight status characters, Bits[0] = b7 (utility
	// failure) ... Bits[7] = b0 (beeper).
	Bits [8]bool
}

// q1Len is the length of a Q1 reply from '(' to the last status bit. A
// reply this long is complete even when the CR never comes (issue #608).
const q1Len = 46

var q1Names = [7]string{"input voltage", "input fault voltage", "output voltage", "load", "input frequency", "battery voltage", "temperature"}

// parseQ1 reads "(226.0 195.0 226.0 014 49.0 27.5 30.0 00001000". Fields
// are split on blanks, not taken at fixed offsets, since units differ in
// width ("2.28" per-cell battery voltage).
func parseQ1(line []byte) (q1Status, error) {
	var st q1Status
	s := string(bytes.TrimSpace(line))
	if !strings.HasPrefix(s, "(") {
		return st, fmt.Errorf("Q1 reply %q does not start with '('", clip(line))
	}
	f := strings.Fields(s[1:])
	if len(f) != 8 {
		return st, fmt.Errorf("Q1 reply %q has %d fields, want 8", clip(line), len(f))
	}
	vals := [7]*float64{&st.InputV, &st.FaultV, &st.OutputV, &st.Load, &st.Freq, &st.BattV, &st.Temp}
	for i, p := range vals {
		v, err := parseNum(f[i])
		if err != nil {
			return st, fmt.Errorf("Q1 %s: %w", q1Names[i], err)
		}
		*p = v
	}
	bits := f[7]
	if len(bits) != 8 || strings.Trim(bits, "01") != "" {
		return st, fmt.Errorf("Q1 status bits %q: want 8 characters 0 or 1", bits)
	}
	for i := range 8 {
		st.Bits[i] = bits[i] == '1'
	}
	return st, nil
}

// parseNum reads a numeric field; placeholders made only of '-', '.' and
// blanks mean "not measured" and give NaN.
func parseNum(s string) (float64, error) {
	if strings.Trim(s, "-. ") == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

// q1Rating is a parsed F reply: "#220.0 000 024.0 50.0".
type q1Rating struct {
	Voltage, Current, BattV, Freq float64
}

func parseF(line []byte) (q1Rating, error) {
	var r q1Rating
	s := string(bytes.TrimSpace(line))
	if !strings.HasPrefix(s, "#") {
		return r, fmt.Errorf("F reply %q does not start with '#'", clip(line))
	}
	f := strings.Fields(s[1:])
	if len(f) != 4 {
		return r, fmt.Errorf("F reply %q has %d fields, want 4", clip(line), len(f))
	}
	names := [4]string{"rated voltage", "rated current", "nominal battery voltage", "rated frequency"}
	for i, p := range [4]*float64{&r.Voltage, &r.Current, &r.BattV, &r.Freq} {
		v, err := parseNum(f[i])
		if err != nil {
			return r, fmt.Errorf("F %s: %w", names[i], err)
		}
		*p = v
	}
	return r, nil
}

// q1Info is a parsed I reply: '#', manufacturer (15), blank, model (10),
// blank, firmware (10), each padded with blanks.
type q1Info struct {
	Mfr, Model, Firmware string
}

func parseI(line []byte) (q1Info, error) {
	var in q1Info
	s := strings.TrimRight(string(line), "\r\n")
	if !strings.HasPrefix(s, "#") {
		return in, fmt.Errorf("I reply %q does not start with '#'", clip(line))
	}
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e {
			return in, fmt.Errorf("I reply %q holds a non-printable byte", clip(line))
		}
	}
	s = s[1:]
	// Slice at the documented offsets, tolerating short replies (the
	// "Megatec IC" variant is known to have an inconsistent length).
	field := func(from, to int) string {
		if from >= len(s) {
			return ""
		}
		return strings.TrimSpace(s[from:min(to, len(s))])
	}
	in.Mfr, in.Model, in.Firmware = field(0, 15), field(16, 26), field(27, 37)
	if len(s) > 37 {
		in.Firmware = strings.TrimSpace(s[27:])
	}
	return in, nil
}

// megatec polls a Q1 UPS. Rating and vendor data do not change, so they are
// read once per connection: at 2400 baud a Q1 exchange alone takes about
// 210 ms, and the issue allows 300 ms for a full poll.
type megatec struct {
	link    *link
	timeout time.Duration
	rating  *q1Rating
	info    *q1Info
	// probed is the status the protocol probe just read; the first poll
	// uses it instead of asking again, so a slow line (47 bytes of Q1 take
	// 200 ms at 2400 baud) leaves time for F and I.
	probed *q1Status
}

// query sends cmd and reads one CR-terminated reply starting with lead.
func (m *megatec) query(ctx context.Context, cmd string, lead byte, complete func([]byte) bool) ([]byte, error) {
	m.link.discard()
	if err := m.link.send([]byte(cmd + "\r")); err != nil {
		return nil, err
	}
	valid := func(l []byte) bool {
		i := bytes.LastIndexByte(l, lead)
		if i < 0 {
			return false
		}
		// A rating reply torn by line noise must not be cached for the
		// whole connection: only a parsable one counts.
		if cmd == "F" {
			_, err := parseF(l[i:])
			return err == nil
		}
		return true
	}
	line, err := m.link.readReply(ctx, m.link.now().Add(m.timeout), '\r', replyCheck{valid: valid, complete: complete, echo: []byte(cmd)})
	if err != nil {
		return line, err
	}
	// Noise before the reply on the same line: keep from the last lead.
	return line[bytes.LastIndexByte(line, lead):], nil
}

// q1Complete accepts a Q1 reply without its CR once it is full length.
func q1Complete(p []byte) bool {
	i := bytes.LastIndexByte(p, '(')
	if i < 0 || len(p)-i != q1Len {
		return false
	}
	_, err := parseQ1(p[i:])
	return err == nil
}

// readStatus reads Q1; a reply that does not parse (line noise cut into
// it) is skipped in favour of a later one until the deadline.
func (m *megatec) readStatus(ctx context.Context) (q1Status, error) {
	m.link.discard()
	if err := m.link.send([]byte("Q1\r")); err != nil {
		return q1Status{}, err
	}
	var st q1Status
	var lastErr error
	valid := func(l []byte) bool {
		i := bytes.LastIndexByte(l, '(')
		if i < 0 {
			return false
		}
		s, err := parseQ1(l[i:])
		if err != nil {
			lastErr = err
			return false
		}
		st = s
		return true
	}
	complete := func(p []byte) bool {
		if !q1Complete(p) {
			return false
		}
		return valid(p)
	}
	_, err := m.link.readReply(ctx, m.link.now().Add(m.timeout), '\r', replyCheck{valid: valid, complete: complete, echo: []byte("Q1")})
	if err != nil {
		if lastErr != nil && err == errNoReply {
			return st, fmt.Errorf("%w: %w", drivers.ErrProtocol, lastErr)
		}
		return st, err
	}
	return st, nil
}

// poll reads one sample's worth of values.
func (m *megatec) poll(ctx context.Context) (reading, error) {
	var st q1Status
	if m.probed != nil {
		st, m.probed = *m.probed, nil
	} else {
		var err error
		if st, err = m.readStatus(ctx); err != nil {
			return reading{}, fmt.Errorf("read status (Q1): %w", err)
		}
	}
	// Rating and vendor are read once; when the poll's time runs out
	// first, the status is still worth publishing and they are asked
	// again next time.
	noRating := q1Rating{Voltage: math.NaN(), Current: math.NaN(), BattV: math.NaN(), Freq: math.NaN()}
	if m.rating == nil {
		// Units without F exist; an unknown rating only costs the
		// battery-voltage scaling and the charge estimate.
		line, err := m.query(ctx, "F", '#', nil)
		r := q1Rating{Voltage: math.NaN(), Current: math.NaN(), BattV: math.NaN(), Freq: math.NaN()}
		if err == nil {
			if p, perr := parseF(line); perr == nil {
				r = p
			}
		} else if ctx.Err() != nil {
			return q1Reading(st, noRating, q1Info{}), nil
		}
		m.rating = &r
	}
	if m.info == nil {
		line, err := m.query(ctx, "I", '#', nil)
		var in q1Info
		if err == nil {
			in, _ = parseI(line)
		} else if ctx.Err() != nil {
			return q1Reading(st, *m.rating, q1Info{}), nil
		}
		m.info = &in
	}
	return q1Reading(st, *m.rating, *m.info), nil
}

// q1Reading turns the replies into NUT-named metrics and status flags.
func q1Reading(st q1Status, r q1Rating, in q1Info) reading {
	var rd reading
	rd.num("input.voltage", st.InputV, "V")
	rd.num("input.voltage.fault", st.FaultV, "V")
	rd.num("output.voltage", st.OutputV, "V")
	rd.num("ups.load", st.Load, "%")
	rd.num("input.frequency", st.Freq, "Hz")
	batt := scaleBattery(st.BattV, r.BattV)
	rd.num("battery.voltage", batt, "V")
	if charge, ok := estimateCharge(batt, r.BattV); ok {
		rd.num("battery.charge", charge, "%")
	}
	rd.num("ups.temperature", st.Temp, "°C")
	rd.num("input.voltage.nominal", r.Voltage, "V")
	rd.num("input.current.nominal", r.Current, "A")
	rd.num("battery.voltage.nominal", r.BattV, "V")
	rd.num("input.frequency.nominal", r.Freq, "Hz")
	rd.text("device.mfr", in.Mfr)
	rd.text("device.model", in.Model)
	rd.text("ups.firmware", in.Firmware)
	if st.Bits[4] {
		rd.text("ups.type", "line-interactive")
	} else {
		rd.text("ups.type", "online")
	}
	if st.Bits[7] {
		rd.text("ups.beeper.status", "enabled")
	} else {
		rd.text("ups.beeper.status", "disabled")
	}

	var flags []string
	if st.Bits[0] {
		flags = append(flags, FlagOnBattery, FlagDischarging)
	} else {
		flags = append(flags, FlagOnLine)
		// b5 says bypass, boost or buck without saying which; NUT tells
		// them apart by comparing output with input voltage.
		if st.Bits[2] && st.InputV > 0 && !math.IsNaN(st.OutputV) {
			switch ratio := st.OutputV / st.InputV; {
			case ratio < 0.95:
				flags = append(flags, FlagTrim)
			case ratio < 1.05:
				flags = append(flags, FlagBypass)
			case ratio < 1.5:
				flags = append(flags, FlagBoost)
			}
		}
	}
	if st.Bits[1] {
		flags = append(flags, FlagLowBattery)
	}
	if st.Bits[3] {
		flags = append(flags, FlagAlarm)
	}
	if st.Bits[5] {
		flags = append(flags, FlagCalibrating)
	}
	if st.Bits[6] {
		flags = append(flags, FlagForcedShut)
	}
	rd.flags = flags
	return rd
}

// batteryMultipliers are tried in order to turn a per-cell or per-block
// battery voltage into the pack voltage (the legacy blazer rule).
var batteryMultipliers = []float64{120, 100, 80, 60, 48, 36, 30, 24, 18, 12, 8, 6, 4, 3, 2, 1, 0.5}

// scaleBattery returns the pack voltage: v times the first multiplier that
// lands within ±20 % of the nominal voltage, or v unchanged when the
// nominal is unknown or nothing fits.
func scaleBattery(v, nominal float64) float64 {
	if math.IsNaN(v) || math.IsNaN(nominal) || nominal <= 0 || v <= 0 {
		return v
	}
	for _, k := range batteryMultipliers {
		if p := v * k; p > 0.8*nominal && p < 1.2*nominal {
			return math.Round(p*100) / 100
		}
	}
	return v
}

// estimateCharge guesses the charge from the pack voltage between
// 104/120 and 130/120 of nominal, as NUT does for Q1 units, which report
// no charge of their own.
func estimateCharge(v, nominal float64) (float64, bool) {
	if math.IsNaN(v) || math.IsNaN(nominal) || nominal <= 0 {
		return 0, false
	}
	low, high := nominal*104/120, nominal*130/120
	c := (v - low) / (high - low) * 100
	return math.Round(math.Max(0, math.Min(100, c))*10) / 10, true
}
