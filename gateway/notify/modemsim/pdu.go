package modemsim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// This file is the simulator's own reading of SMS-SUBMIT and writing of
// SMS-DELIVER PDUs, from 3GPP TS 23.040 (TPDU layout) and TS 23.038 (the
// GSM 7-bit default alphabet). It shares no code with the gateway, so a
// mistake in the gateway's encoder shows up as a wrong decoded text here
// rather than being mirrored.

// gsm7 is the GSM 7-bit default alphabet (TS 23.038 6.2.1), indexed by septet.
// 0x1B is the escape to the extension table.
var gsm7 = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0x1B, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsm7ext is the extension table reached through 0x1B (TS 23.038 6.2.1.1).
var gsm7ext = map[byte]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\', 0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

// Submit is one SMS-SUBMIT the simulator received.
type Submit struct {
	// To is the destination address, with a leading + for international numbers.
	To string
	// Text is the decoded user data without the header.
	Text string
	// Coding is "gsm7", "ucs2" or "8bit"; "text" for a text-mode submit.
	Coding string
	// Ref, Part and Parts come from a concatenation header (zero without one).
	Ref, Part, Parts int
	// Mode is "pdu" or "text".
	Mode string
	// At is when the modem accepted it (wall clock, for benchmarks).
	At time.Time
}

// decodeSubmit reads a hex PDU as sent after AT+CMGS=<length> in PDU mode.
// length is the TPDU length the command announced (without the SMSC part).
func decodeSubmit(hexPDU string, length int) (Submit, error) {
	b, err := hex.DecodeString(strings.TrimSpace(hexPDU))
	if err != nil {
		return Submit{}, fmt.Errorf("pdu is not hex: %w", err)
	}
	if len(b) < 1 {
		return Submit{}, errors.New("pdu empty")
	}
	sca := int(b[0])
	if 1+sca > len(b) {
		return Submit{}, errors.New("smsc address longer than pdu")
	}
	t := b[1+sca:]
	if len(t) != length {
		return Submit{}, fmt.Errorf("tpdu is %d octets, AT+CMGS said %d", len(t), length)
	}
	r := reader{b: t}
	fo := r.byte()
	if fo&0x03 != 0x01 {
		return Submit{}, fmt.Errorf("message type %d is not SMS-SUBMIT", fo&0x03)
	}
	udhi := fo&0x40 != 0
	vpf := (fo >> 3) & 0x03
	r.byte() // message reference
	digits := int(r.byte())
	toa := r.byte()
	addr := r.take((digits + 1) / 2)
	pid := r.byte()
	_ = pid
	dcs := r.byte()
	switch vpf {
	case 2:
		r.take(1)
	case 1, 3:
		r.take(7)
	}
	udl := int(r.byte())
	ud := r.rest()
	if r.err != nil {
		return Submit{}, r.err
	}
	s := Submit{To: semiOctets(addr, digits), Mode: "pdu"}
	if toa&0x70 == 0x10 {
		s.To = "+" + s.To
	}
	coding := "gsm7"
	switch {
	case dcs&0xC0 == 0x00:
		switch (dcs >> 2) & 0x03 {
		case 1:
			coding = "8bit"
		case 2:
			coding = "ucs2"
		}
	case dcs&0xF0 == 0xF0:
		if dcs&0x04 != 0 {
			coding = "8bit"
		}
	default:
		return Submit{}, fmt.Errorf("data coding scheme %#02x not handled", dcs)
	}
	s.Coding = coding
	hdrOctets := 0
	if udhi {
		if len(ud) < 1 || int(ud[0])+1 > len(ud) {
			return Submit{}, errors.New("user data header longer than user data")
		}
		hdrOctets = int(ud[0]) + 1
		parseUDH(ud[1:hdrOctets], &s)
	}
	switch coding {
	case "gsm7":
		if udl*7 > len(ud)*8 {
			return Submit{}, fmt.Errorf("user data length %d septets exceeds %d octets", udl, len(ud))
		}
		septets := unpack7(ud, udl)
		skip := (hdrOctets*8 + 6) / 7
		if skip > len(septets) {
			return Submit{}, errors.New("header longer than message")
		}
		txt, err := gsm7Text(septets[skip:])
		if err != nil {
			return Submit{}, err
		}
		s.Text = txt
	case "ucs2":
		if udl > len(ud) || udl < hdrOctets || (udl-hdrOctets)%2 != 0 {
			return Submit{}, fmt.Errorf("ucs2 user data length %d invalid", udl)
		}
		body := ud[hdrOctets:udl]
		u := make([]uint16, len(body)/2)
		for i := range u {
			u[i] = uint16(body[2*i])<<8 | uint16(body[2*i+1])
		}
		s.Text = string(utf16.Decode(u))
	default:
		if udl > len(ud) || udl < hdrOctets {
			return Submit{}, fmt.Errorf("8-bit user data length %d invalid", udl)
		}
		s.Text = string(ud[hdrOctets:udl])
	}
	return s, nil
}

// parseUDH picks the concatenation element (IEI 0x00, 8-bit reference, or
// 0x08, 16-bit reference) out of a user data header.
func parseUDH(h []byte, s *Submit) {
	for len(h) >= 2 {
		iei, l := h[0], int(h[1])
		if 2+l > len(h) {
			return
		}
		v := h[2 : 2+l]
		switch {
		case iei == 0x00 && l == 3:
			s.Ref, s.Parts, s.Part = int(v[0]), int(v[1]), int(v[2])
		case iei == 0x08 && l == 4:
			s.Ref, s.Parts, s.Part = int(v[0])<<8|int(v[1]), int(v[2]), int(v[3])
		}
		h = h[2+l:]
	}
}

// unpack7 unpacks n septets packed LSB first into octets.
func unpack7(b []byte, n int) []byte {
	out := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		bit := i * 7
		o, sh := bit/8, uint(bit%8)
		v := uint16(b[o]) >> sh
		if sh > 1 && o+1 < len(b) {
			v |= uint16(b[o+1]) << (8 - sh)
		}
		out = append(out, byte(v&0x7F))
	}
	return out
}

// pack7 packs septets LSB first, starting fill bits after pad septets
// (used to leave room for a header; pad 0 here).
func pack7(septets []byte) []byte {
	out := make([]byte, (len(septets)*7+7)/8)
	for i, s := range septets {
		bit := i * 7
		o, sh := bit/8, uint(bit%8)
		out[o] |= s << sh
		if sh > 1 {
			out[o+1] |= s >> (8 - sh)
		}
	}
	return out
}

func gsm7Text(septets []byte) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(septets); i++ {
		c := septets[i]
		if c == 0x1B {
			if i+1 >= len(septets) {
				return "", errors.New("escape at end of message")
			}
			i++
			r, ok := gsm7ext[septets[i]]
			if !ok {
				r = ' '
			}
			sb.WriteRune(r)
			continue
		}
		sb.WriteRune(gsm7[c])
	}
	return sb.String(), nil
}

// toGSM7 maps text to septets, or reports false when a character is not in
// the default alphabet or its extension.
func toGSM7(s string) ([]byte, bool) {
	var out []byte
next:
	for _, r := range s {
		for i, g := range gsm7 {
			if g == r && i != 0x1B {
				out = append(out, byte(i))
				continue next
			}
		}
		for k, g := range gsm7ext {
			if g == r {
				out = append(out, 0x1B, k)
				continue next
			}
		}
		return nil, false
	}
	return out, true
}

func semiOctets(b []byte, digits int) string {
	var sb strings.Builder
	for _, o := range b {
		for _, d := range []byte{o & 0x0F, o >> 4} {
			if sb.Len() >= digits || d == 0x0F {
				break
			}
			sb.WriteByte("0123456789*#abc"[d])
		}
	}
	return sb.String()
}

func toSemiOctets(digits string) []byte {
	out := make([]byte, (len(digits)+1)/2)
	for i := range out {
		lo := digits[2*i] - '0'
		hi := byte(0x0F)
		if 2*i+1 < len(digits) {
			hi = digits[2*i+1] - '0'
		}
		out[i] = hi<<4 | lo
	}
	return out
}

// encodeDeliver builds an SMS-DELIVER with an SMSC part, as a modem shows
// it in +CMGR/+CMGL in PDU mode. It returns the hex and the TPDU length.
func encodeDeliver(from, text string, at time.Time) (string, int) {
	var t []byte
	t = append(t, 0x04) // SMS-DELIVER, no more messages to send
	toa := byte(0x81)
	num := from
	if strings.HasPrefix(num, "+") {
		toa, num = 0x91, num[1:]
	}
	t = append(t, byte(len(num)), toa)
	t = append(t, toSemiOctets(num)...)
	t = append(t, 0x00) // PID
	septets, ok := toGSM7(text)
	dcs := byte(0x00)
	if !ok {
		dcs = 0x08
	}
	t = append(t, dcs)
	u := at.UTC()
	ts := fmt.Sprintf("%02d%02d%02d%02d%02d%02d00", u.Year()%100, int(u.Month()), u.Day(), u.Hour(), u.Minute(), u.Second())
	t = append(t, toSemiOctets(ts)...)
	if ok {
		t = append(t, byte(len(septets)))
		t = append(t, pack7(septets)...)
	} else {
		u16 := utf16.Encode([]rune(text))
		t = append(t, byte(2*len(u16)))
		for _, c := range u16 {
			t = append(t, byte(c>>8), byte(c))
		}
	}
	smsc := append([]byte{0x07, 0x91}, toSemiOctets("491710760000")...)
	return strings.ToUpper(hex.EncodeToString(append(smsc, t...))), len(t)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = errors.New("pdu ends early")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	v := r.take(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (r *reader) rest() []byte {
	v := r.b
	r.b = nil
	return v
}
