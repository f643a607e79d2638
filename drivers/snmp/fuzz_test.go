package snmp

import (
	"math"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"

	"github.com/praxisgate/praxisgate/drivers"
)

// FuzzParseProfile: a profile file from the profile directory is outside
// input. Whatever it holds, loading must not panic, and a profile that loads
// must be usable: planning and evaluating it against arbitrary readings
// gives valid metrics and conditions.
func FuzzParseProfile(f *testing.F) {
	entries, err := builtinFS.ReadDir("profiles")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := builtinFS.ReadFile("profiles/" + e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile(data)
		if err != nil {
			return
		}
		pl := makePlan([]*Profile{p})
		rd := readings{}
		for i, o := range pl.scalars {
			rd[o.String()] = raw{num: float64(i - 3), isNum: true, text: strconv.Itoa(i - 3), octets: []byte{byte(i)}}
		}
		for i, c := range pl.columns {
			rd[c.String()+".1"] = raw{num: float64(i), isNum: true, text: "row one"}
			rd[c.String()+".2.7"] = raw{text: "41 C", octets: []byte("41 C")}
		}
		res := evaluate([]*Profile{p}, rd)
		s := drivers.Sample{Metrics: res.metrics, Conditions: res.conditions}
		if err := s.Validate(); err != nil {
			t.Fatalf("profile gives an invalid sample: %v", err)
		}
	})
}

// FuzzDecodeValue: values come from devices. Conversion must not panic,
// numbers must be finite and text valid UTF-8 without control characters.
func FuzzDecodeValue(f *testing.F) {
	f.Add(uint8(0), []byte("Black Cartridge \n38 32 37 41 00 "), int64(-3), uint64(0), 0.0)
	f.Add(uint8(1), []byte{}, int64(0), uint64(4294967295), 0.0)
	f.Add(uint8(2), []byte("28 C/82 F"), int64(0), uint64(math.MaxUint64), 1.5)
	f.Add(uint8(3), []byte{0xfc, 0x00, 0x41}, int64(1), uint64(1), math.Inf(1))
	f.Add(uint8(4), []byte(".1.3.6.1.4.1.935"), int64(0), uint64(0), 0.0)
	types := []gosnmp.Asn1BER{gosnmp.OctetString, gosnmp.Counter32, gosnmp.Counter64, gosnmp.Integer,
		gosnmp.ObjectIdentifier, gosnmp.TimeTicks, gosnmp.Gauge32, gosnmp.OpaqueFloat, gosnmp.OpaqueDouble,
		gosnmp.IPAddress, gosnmp.BitString, gosnmp.NoSuchInstance, gosnmp.Null}
	f.Fuzz(func(t *testing.T, kind uint8, b []byte, i int64, u uint64, fl float64) {
		typ := types[int(kind)%len(types)]
		var v any
		switch typ {
		case gosnmp.OctetString, gosnmp.BitString:
			v = b
		case gosnmp.Counter32, gosnmp.Gauge32:
			v = uint(uint32(u))
		case gosnmp.TimeTicks:
			v = uint32(u)
		case gosnmp.Counter64:
			v = u
		case gosnmp.Integer:
			v = int(int32(i))
		case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
			v = string(b)
		case gosnmp.OpaqueFloat:
			v = float32(fl)
		case gosnmp.OpaqueDouble:
			v = fl
		}
		r, err := decodePDU(gosnmp.SnmpPDU{Name: ".1.3.6.1", Type: typ, Value: v})
		if err != nil {
			return
		}
		if r.isNum && (math.IsNaN(r.num) || math.IsInf(r.num, 0)) {
			t.Fatalf("non-finite number %v", r.num)
		}
		if !utf8.ValidString(r.text) {
			t.Fatalf("invalid UTF-8 %q", r.text)
		}
		if n, ok := r.numeric("number"); ok && (math.IsNaN(n) || math.IsInf(n, 0)) {
			t.Fatalf("leading number not finite: %v", n)
		}
		for _, c := range r.text {
			if c < 0x20 && c != '\t' {
				t.Fatalf("control character in %q", r.text)
			}
		}
		if s := slug(r.text); len(s) > 60 {
			t.Fatalf("slug too long: %q", s)
		}
		_ = r.bitSet(int(i % 2048))
	})
}

// FuzzReportOID: the datagram an SNMPv3 agent sent when a request failed is
// outside input, decoded without authentication to name the failure.
// Whatever it holds, decoding must not panic, and an OID found is dotted.
func FuzzReportOID(f *testing.F) {
	f.Fuzz(func(t *testing.T, datagram []byte) {
		oid, ok := reportOID(datagram, "ups")
		if ok && (oid == "" || oid[0] != '.') {
			t.Fatalf("report OID %q", oid)
		}
	})
}
