package hidreport

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseHexForms(t *testing.T) {
	for _, in := range []string{
		"05 84 09 04", "0x05, 0x84, 0x09, 0x04", "05840904\n", "# comment\n05 84\n09 04 # tail\n", "05:84:09:04",
	} {
		b, err := ParseHex(strings.NewReader(in))
		if err != nil || !bytes.Equal(b, []byte{5, 0x84, 9, 4}) {
			t.Errorf("%q: % x, %v", in, b, err)
		}
	}
	for _, in := range []string{"", "# only\n", "5 84", "zz"} {
		if _, err := ParseHex(strings.NewReader(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseRecording(t *testing.T) {
	rec, err := ParseRecording(strings.NewReader("state online\nget 16 0c 00\n  Feature X off=0 size=1 raw=0\nint 13 00\n0c 64\n"))
	if err != nil || len(rec) != 3 {
		t.Fatalf("%v %v", rec, err)
	}
	if rec[0].Type != Feature || rec[0].State != "online" || len(rec[0].Notes) != 1 || rec[1].Type != Input || rec[2].Type != Feature {
		t.Errorf("%+v", rec)
	}
	if _, err := ParseRecording(strings.NewReader("get 1 2 3\n")); err == nil {
		t.Error("odd hex digits accepted")
	}
}

// FuzzParseRecording: the text users send to support (descriptor and
// report dumps) must parse or fail cleanly.
func FuzzParseRecording(f *testing.F) {
	f.Add("state online\nget 16 0c 00 00 00\n  Feature UPS.PowerSummary.PresentStatus.ACPresent off=2 size=1 raw=1\n")
	f.Add("0x05, 0x84, 0x09, 0x04, 0xa1, 0x01\n")
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseRecording(strings.NewReader(s))
		if err == nil {
			for _, r := range rec {
				if len(r.Bytes) == 0 {
					t.Fatalf("empty report from %q", s)
				}
			}
		}
		if b, err := ParseHex(strings.NewReader(s)); err == nil && len(b) == 0 {
			t.Fatalf("no bytes and no error from %q", s)
		}
	})
}
