package modem

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/warthog618/modem/at"
	"github.com/warthog618/sms/encoding/pdumode"
)

// FuzzParse feeds modem answers (lines separated by \n) to every reader.
// None may panic; what they accept must be in range.
func FuzzParse(f *testing.F) {
	f.Add("+CSQ: 20,99\nOK", false)
	f.Add("+CMGL: 1,\"REC UNREAD\",\"+4915112345678\",,\"26/12/06,20:15:00+04\"\nOK 4821", true)
	f.Fuzz(func(t *testing.T, s string, textMode bool) {
		lines := strings.Split(s, "\n")
		if rssi, err := ParseCSQ(lines); err == nil && rssi != 99 && (rssi < 0 || rssi > 31) {
			t.Fatalf("rssi %d accepted", rssi)
		}
		for _, p := range []string{"+CREG", "+CEREG"} {
			if st, err := ParseReg(lines, p); err == nil && (st < 0 || st > 11) {
				t.Fatalf("stat %d accepted", st)
			}
		}
		_, _ = ParseCPIN(lines)
		if _, idx, err := ParseCMTI(lines[0]); err == nil && idx < 0 {
			t.Fatalf("index %d accepted", idx)
		}
		if _, err := ParseCMGR(lines, textMode, 1); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error without ErrMalformed: %v", err)
		}
		msgs, bad := ParseCMGL(lines, textMode)
		for _, m := range msgs {
			if m.Index < 0 || bad[m.Index] != nil {
				t.Fatalf("message %+v both good and bad", m)
			}
		}
	})
}

// FuzzDeliverPDU reads arbitrary TPDU octets as an SMS-DELIVER in a +CMGR
// answer whose length matches, so the fuzzer reaches the TPDU decoder.
func FuzzDeliverPDU(f *testing.F) {
	f.Add([]byte{0x04, 0x0D, 0x91, 0x94, 0x51, 0x11, 0x32, 0x54, 0x76, 0xF8, 0x00, 0x00,
		0x62, 0x21, 0x60, 0x02, 0x51, 0x00, 0x00, 0x07, 0x4F, 0x25, 0x88, 0x26, 0x83, 0xC5, 0x00})
	f.Fuzz(func(t *testing.T, tp []byte) {
		p := pdumode.PDU{TPDU: tp}
		h, err := p.MarshalHexString()
		if err != nil {
			return
		}
		lines := []string{fmt.Sprintf("+CMGR: 0,,%d", len(tp)), h}
		m, err := ParseCMGR(lines, false, 3)
		if err == nil && m.Index != 3 {
			t.Fatalf("index %d", m.Index)
		}
		// Hex that is not hex must be refused, not decoded.
		if _, err := ParseCMGR([]string{lines[0], h + "Z"}, false, 3); err == nil {
			t.Fatal("odd hex accepted")
		}
		_ = hex.EncodeToString(tp)
	})
}

// FuzzATSession plays arbitrary modem output to the AT layer while a
// command waits: the command must end (answer, error or closed), never
// hang or panic, whatever the line carries.
func FuzzATSession(f *testing.F) {
	f.Add([]byte("\r\n+CSQ: 20,99\r\n\r\nOK\r\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		mr, mw := io.Pipe()
		a := at.New(struct {
			io.Reader
			io.Writer
		}{mr, io.Discard}, at.WithTimeout(time.Second))
		go func() {
			mw.Write(out)
			mw.Close()
		}()
		done := make(chan struct{})
		go func() {
			defer close(done)
			lines, err := a.Command("+CSQ")
			if err == nil {
				_, _ = ParseCSQ(lines)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("command did not end")
		}
	})
}
