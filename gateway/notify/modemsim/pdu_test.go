package modemsim

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// TestSubmitAgainstThirdPartyEncoder checks the simulator's decoder
// against SMS-SUBMITs built by github.com/warthog618/sms: two independent
// readings of TS 23.040 must agree.
func TestSubmitAgainstThirdPartyEncoder(t *testing.T) {
	for _, text := range []string{
		"Alarm",
		"Kühlschrank über 8 Grad, Größe ß, €uro [x]",
		"9,1 °C",
		strings.Repeat("Impfstoffkühlschrank zu warm. ", 12),
		strings.Repeat("°", 150),
	} {
		pdus, err := sms.Encode([]byte(text), sms.To("+4915112345678"))
		if err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		for i, p := range pdus {
			tp, err := p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			h, _ := (&pdumode.PDU{TPDU: tp}).MarshalHexString()
			s, err := decodeSubmit(h, len(tp))
			if err != nil {
				t.Fatalf("%q part %d: %v", text, i, err)
			}
			if s.To != "+4915112345678" || (len(pdus) > 1 && (s.Part != i+1 || s.Parts != len(pdus))) {
				t.Errorf("%q part %d: %+v", text, i, s)
			}
			got.WriteString(s.Text)
		}
		if got.String() != text {
			t.Errorf("decoded %q, want %q", got.String(), text)
		}
	}
}

func TestDeliverAgainstThirdPartyDecoder(t *testing.T) {
	at := time.Date(2026, 12, 6, 20, 15, 7, 0, time.UTC)
	for _, text := range []string{"OK 4821", "Grüße aus der Praxis", "°C?"} {
		h, n := encodeDeliver("+4915112345678", text, at)
		p, err := pdumode.UnmarshalHexString(h)
		if err != nil || len(p.TPDU) != n {
			t.Fatalf("%q: %v, %d octets, said %d", text, err, len(p.TPDU), n)
		}
		tp, err := sms.Unmarshal(p.TPDU, sms.AsMT)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := sms.Decode([]*tpduT{tp})
		if err != nil || string(msg) != text || tp.OA.Number() != "+4915112345678" || !tp.SCTS.Time.Equal(at) {
			t.Errorf("%q: got %q from %q at %v (%v)", text, msg, tp.OA.Number(), tp.SCTS.Time, err)
		}
	}
}

// FuzzDecodeSubmit: the simulator reads whatever a gateway sends after the
// prompt; bad PDUs get an error (+CMS ERROR 304), never a panic.
func FuzzDecodeSubmit(f *testing.F) {
	f.Add("0001000D91945111325476F8000005C1E7F41C02", 19)
	f.Fuzz(func(t *testing.T, h string, n int) {
		s, err := decodeSubmit(h, n)
		if err == nil && !utf8.ValidString(s.Text) && s.Coding != "8bit" {
			t.Fatalf("invalid UTF-8 from %s decoding", s.Coding)
		}
	})
}

type tpduT = tpdu.TPDU
