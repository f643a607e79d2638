package jsonpath

import (
	"testing"
)

func TestLookup(t *testing.T) {
	doc, err := Decode([]byte(`{"a":{"b":[{"c":"4.5"},{"c":null}],"t":true,"n":-1e3,"big":1e999}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		want    float64
		wantErr bool
	}{
		{"a.b.0.c", 4.5, false},
		{"a.b[0].c", 4.5, false},
		{"$.a.t", 1, false},
		{"a.n", -1000, false},
		{"a.b.1.c", 0, true},
		{"a.b.2.c", 0, true},
		{"a.x", 0, true},
		{"a.t.x", 0, true},
		{"a.big", 0, true},
		{"a.b", 0, true},
	}
	for _, tt := range tests {
		p, err := Parse(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.Lookup(doc)
		var f float64
		if err == nil {
			f, err = Number(v)
		}
		if (err != nil) != tt.wantErr || f != tt.want {
			t.Errorf("%s = %v, %v; want %v (error %v)", tt.path, f, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, p := range []string{"", "a..b", ".a", "a.", "$."} {
		if _, err := Parse(p); err == nil {
			t.Errorf("Parse(%q) succeeded", p)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, s := range []string{``, `{`, `{} {}`, `{"a":1}x`} {
		if _, err := Decode([]byte(s)); err == nil {
			t.Errorf("Decode(%q) succeeded", s)
		}
	}
	for _, s := range []string{"NaN", "inf", "1e400"} {
		if _, err := Number(s); err == nil {
			t.Errorf("Number(%q) succeeded", s)
		}
	}
}

// FuzzLookup: documents and paths come from devices and forms.
func FuzzLookup(f *testing.F) {
	f.Add([]byte(`{"sensors":[{"temp":"4.9"}]}`), "sensors.0.temp")
	f.Add([]byte(`{"DS18B20":{"Id":"01144A0CB2AA","Temperature":5.3},"TempUnit":"C"}`), "DS18B20.Temperature")
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		p, err := Parse(path)
		if err != nil {
			return
		}
		doc, err := Decode(body)
		if err != nil {
			return
		}
		if v, err := p.Lookup(doc); err == nil {
			Number(v)
		}
	})
}
