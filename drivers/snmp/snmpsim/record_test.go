package snmpsim

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	rec, err := Parse(strings.NewReader(strings.Join([]string{
		"1.3.6.1.2.1.1.2.0|6|.1.3.6.1.4.1.935", // netagent2's leading dot
		"1.3.6.1.2.1.1.1.0|4|NET Agent II",
		"1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.1",
		"1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.2", // duplicate: first wins
		"1.3.6.1.2.1.43.11.1.1.6.1.1|4x|426C61636B0a3338",
		"1.3.6.1.2.1.43.11.1.1.9.1.1|2|-3",
		"1.3.6.1.2.1.1.9.0|5|",
		"1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615",
		"1.3.6.1.2.1.1.10.0|4|",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ oid, typ, value string }{
		{".1.3.6.1.2.1.1.1.0", "string", "NET Agent II"},
		{".1.3.6.1.2.1.1.2.0", "objectid", ".1.3.6.1.4.1.935"},
		{".1.3.6.1.2.1.4.20.1.1.10.0.0.1", "ipaddress", "10.0.0.1"},
		{".1.3.6.1.2.1.43.11.1.1.6.1.1", "octet", "42 6c 61 63 6b 0a 33 38"},
		{".1.3.6.1.2.1.43.11.1.1.9.1.1", "integer", "-3"},
		{".1.3.6.1.2.1.31.1.1.1.6.1", "counter64", "18446744073709551615"},
		{".1.3.6.1.2.1.1.10.0", "string", ""},
	}
	for _, tc := range tests {
		o, _ := ParseOID(tc.oid)
		v, ok := rec.Get(o)
		if !ok || v.Type != tc.typ || v.Value != tc.value {
			t.Errorf("%s = %+v %v, want %s %q", tc.oid, v, ok, tc.typ, tc.value)
		}
	}
	if _, ok := rec.Get(OID{1, 3, 6, 1, 2, 1, 1, 9, 0}); ok {
		t.Error("NULL value was kept")
	}
	// GETNEXT order is numeric, not textual: .1.10.0 after .1.2.0.
	v, ok := rec.Next(OID{1, 3, 6, 1, 2, 1, 1, 2, 0})
	if !ok || v.OID.String() != ".1.3.6.1.2.1.1.10.0" {
		t.Errorf("next after sysObjectID = %v", v.OID)
	}
	for _, bad := range []string{"1.3.6|2|x", "1.3.6|99|1", "1.3.x|2|1", "1.3.6", "1.3.6|4x|zz", "1.3.6|64|::1"} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestServePassPersist(t *testing.T) {
	rec, err := Parse(strings.NewReader("1.3.6.1.2.1.1.1.0|4|box\n1.3.6.1.2.1.1.3.0|67|42\n1.3.6.1.4.1.1.0|2|7\n"))
	if err != nil {
		t.Fatal(err)
	}
	in := strings.NewReader("PING\nget\n.1.3.6.1.2.1.1.1.0\nget\n.1.3.6.1.2.1.1.2.0\ngetnext\n.1.3.6.1.2.1.1.1.0\ngetnext\n.1.3.6.1.2.1.1.3.0\nset\n.1.3.6.1.2.1.1.1.0\nstring x\n")
	var out bytes.Buffer
	src := func() (*Recording, error) { return rec, nil }
	if err := ServePassPersist(in, &out, OID{1, 3, 6, 1, 2, 1}, src, time.Duration(0)); err != nil {
		t.Fatal(err)
	}
	want := "PONG\n.1.3.6.1.2.1.1.1.0\nstring\nbox\nNONE\n.1.3.6.1.2.1.1.3.0\ntimeticks\n42\nNONE\nnot-writable\n"
	if out.String() != want {
		t.Fatalf("got %q\nwant %q", out.String(), want)
	}
}
