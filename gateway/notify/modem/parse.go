package modem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
)

// This file reads the modem's answers. Every function works on the info
// lines the AT layer collected for one command, which may hold noise (a
// stray RING, line garbage) beside the line that matters, so each looks for
// its own prefix and ignores the rest.

// ErrMalformed means the modem answered OK but without a line we could read.
var ErrMalformed = errors.New("malformed modem answer")

// SMS is a received short message.
type SMS struct {
	// From is the sender's number as the network gives it (+49... for
	// international numbers).
	From string
	// Text is the message in UTF-8.
	Text string
	// Sent is the service centre time stamp, zero when unknown.
	Sent time.Time
	// Index is where the modem stored it (for AT+CMGD).
	Index int
}

// field returns the value after "prefix:" in the first line that has it.
func field(lines []string, prefix string) (string, bool) {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, prefix+":") {
			return strings.TrimSpace(l[len(prefix)+1:]), true
		}
	}
	return "", false
}

// splitArgs splits a comma separated list, keeping commas inside quotes.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ',' && !quoted:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func atoi(s, what string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q is not a number", ErrMalformed, what, s)
	}
	return n, nil
}

// ParseCSQ reads "+CSQ: <rssi>,<ber>" (TS 27.007 8.5). rssi 0..31 maps to
// -113..-51 dBm, 99 is "not known".
func ParseCSQ(lines []string) (rssi int, err error) {
	v, ok := field(lines, "+CSQ")
	if !ok {
		return 0, fmt.Errorf("%w: no +CSQ line", ErrMalformed)
	}
	a := splitArgs(v)
	rssi, err = atoi(a[0], "+CSQ rssi")
	if err != nil {
		return 0, err
	}
	if rssi != 99 && (rssi < 0 || rssi > 31) {
		return 0, fmt.Errorf("%w: +CSQ rssi %d out of range", ErrMalformed, rssi)
	}
	return rssi, nil
}

// RSSIdBm converts a +CSQ rssi to dBm; ok is false for 99 (unknown).
func RSSIdBm(rssi int) (dbm float64, ok bool) {
	if rssi < 0 || rssi > 31 {
		return 0, false
	}
	return float64(-113 + 2*rssi), true
}

// ParseReg reads "+CREG: <n>,<stat>[,...]" or "+CEREG: ..." (TS 27.007
// 7.2, 10.1.22) and returns stat: 1 home, 5 roaming, 2 searching, 3 denied,
// 0 not registered.
func ParseReg(lines []string, prefix string) (int, error) {
	v, ok := field(lines, prefix)
	if !ok {
		return 0, fmt.Errorf("%w: no %s line", ErrMalformed, prefix)
	}
	a := splitArgs(v)
	if len(a) < 2 {
		return 0, fmt.Errorf("%w: %s %q has no stat", ErrMalformed, prefix, v)
	}
	stat, err := atoi(a[1], prefix+" stat")
	if err != nil {
		return 0, err
	}
	if stat < 0 || stat > 11 {
		return 0, fmt.Errorf("%w: %s stat %d out of range", ErrMalformed, prefix, stat)
	}
	return stat, nil
}

// RegName names a registration state for metrics and logs.
func RegName(stat int) string {
	switch stat {
	case 1, 6, 9:
		return "home"
	case 5, 7, 10:
		return "roaming"
	case 2:
		return "searching"
	case 3:
		return "denied"
	case 0:
		return "none"
	}
	return "unknown"
}

// Registered reports whether a registration state allows SMS and calls.
func Registered(stat int) bool { n := RegName(stat); return n == "home" || n == "roaming" }

// ParseCPIN reads "+CPIN: <code>" (TS 27.007 8.3): READY, SIM PIN, SIM PUK...
func ParseCPIN(lines []string) (string, error) {
	v, ok := field(lines, "+CPIN")
	if !ok || v == "" {
		return "", fmt.Errorf("%w: no +CPIN line", ErrMalformed)
	}
	return unquote(v), nil
}

// ParseCMTI reads the unsolicited "+CMTI: <mem>,<index>" (TS 27.005 3.4.1)
// that announces a stored incoming SMS.
func ParseCMTI(line string) (mem string, index int, err error) {
	v, ok := field([]string{line}, "+CMTI")
	if !ok {
		return "", 0, fmt.Errorf("%w: %q is not +CMTI", ErrMalformed, line)
	}
	a := splitArgs(v)
	if len(a) != 2 {
		return "", 0, fmt.Errorf("%w: +CMTI %q", ErrMalformed, v)
	}
	index, err = atoi(a[1], "+CMTI index")
	if err != nil {
		return "", 0, err
	}
	if index < 0 {
		return "", 0, fmt.Errorf("%w: +CMTI index %d", ErrMalformed, index)
	}
	return unquote(a[0]), index, nil
}

// ParseCMGR reads the answer to AT+CMGR=<index> in PDU mode ("+CMGR:
// <stat>,[<alpha>],<length>" then the PDU) or text mode ("+CMGR:
// <stat>,<oa>,[<alpha>],<scts>" then the text).
func ParseCMGR(lines []string, textMode bool, index int) (SMS, error) {
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "+CMGR:") {
			continue
		}
		if i+1 >= len(lines) {
			return SMS{}, fmt.Errorf("%w: +CMGR without message line", ErrMalformed)
		}
		head := strings.TrimSpace(l[len("+CMGR:"):])
		var m SMS
		var err error
		if textMode {
			m, err = textEntry(splitArgs(head), lines[i+1])
		} else {
			m, err = pduEntry(splitArgs(head), lines[i+1])
		}
		m.Index = index
		return m, err
	}
	return SMS{}, fmt.Errorf("%w: no +CMGR line", ErrMalformed)
}

// ParseCMGL reads a listing (AT+CMGL) where each "+CMGL: <index>,..."
// line is followed by its PDU or text. Entries that cannot be read are
// returned as errors beside the good ones, with their index, so the caller
// can delete them too rather than reading them forever.
func ParseCMGL(lines []string, textMode bool) (msgs []SMS, bad map[int]error) {
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "+CMGL:") {
			continue
		}
		a := splitArgs(strings.TrimSpace(l[len("+CMGL:"):]))
		idx, err := atoi(a[0], "+CMGL index")
		if err != nil || idx < 0 {
			continue
		}
		if i+1 >= len(lines) {
			if bad == nil {
				bad = map[int]error{}
			}
			bad[idx] = fmt.Errorf("%w: +CMGL %d without message line", ErrMalformed, idx)
			break
		}
		var m SMS
		if textMode {
			m, err = textEntry(a[1:], lines[i+1])
		} else {
			m, err = pduEntry(a[1:], lines[i+1])
		}
		i++
		if err != nil {
			if bad == nil {
				bad = map[int]error{}
			}
			bad[idx] = err
			continue
		}
		m.Index = idx
		msgs = append(msgs, m)
	}
	return msgs, bad
}

// pduEntry decodes "<stat>,[<alpha>],<length>" and the hex PDU line.
func pduEntry(head []string, pduLine string) (SMS, error) {
	if len(head) < 3 {
		return SMS{}, fmt.Errorf("%w: PDU entry header %q", ErrMalformed, head)
	}
	n, err := atoi(head[len(head)-1], "PDU length")
	if err != nil {
		return SMS{}, err
	}
	p, err := pdumode.UnmarshalHexString(strings.TrimSpace(pduLine))
	if err != nil {
		return SMS{}, fmt.Errorf("%w: PDU: %v", ErrMalformed, err)
	}
	if n != len(p.TPDU) {
		return SMS{}, fmt.Errorf("%w: PDU is %d octets, header says %d", ErrMalformed, len(p.TPDU), n)
	}
	t, err := sms.Unmarshal(p.TPDU, sms.AsMT)
	if err != nil {
		return SMS{}, fmt.Errorf("%w: TPDU: %v", ErrMalformed, err)
	}
	txt, err := sms.Decode([]*tpduT{t})
	if err != nil {
		return SMS{}, fmt.Errorf("%w: user data: %v", ErrMalformed, err)
	}
	m := SMS{From: t.OA.Number(), Text: string(txt)}
	if !t.SCTS.IsZero() {
		m.Sent = t.SCTS.Time
	}
	return m, nil
}

// textEntry decodes "<stat>,<oa>,[<alpha>],<scts>" and the text line.
func textEntry(head []string, text string) (SMS, error) {
	if len(head) < 2 {
		return SMS{}, fmt.Errorf("%w: text entry header %q", ErrMalformed, head)
	}
	m := SMS{From: unquote(head[1]), Text: text}
	if len(head) >= 4 {
		scts := unquote(strings.Join(head[3:], ","))
		if len(scts) >= 17 {
			if t, err := time.Parse("06/01/02,15:04:05", scts[:17]); err == nil {
				m.Sent = t
			}
		}
	}
	return m, nil
}
