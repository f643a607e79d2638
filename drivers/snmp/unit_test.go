package snmp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/praxisgate/praxisgate/drivers"
)

func TestDecodePDU(t *testing.T) {
	tests := []struct {
		name    string
		pdu     gosnmp.SnmpPDU
		num     float64
		isNum   bool
		text    string
		counter int
		err     bool
	}{
		{"integer negative", gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: -3}, -3, true, "-3", 0, false},
		{"counter32", gosnmp.SnmpPDU{Type: gosnmp.Counter32, Value: uint(4294967295)}, 4294967295, true, "4294967295", 32, false},
		{"gauge32", gosnmp.SnmpPDU{Type: gosnmp.Gauge32, Value: uint(100)}, 100, true, "100", 0, false},
		{"timeticks", gosnmp.SnmpPDU{Type: gosnmp.TimeTicks, Value: uint32(10976200)}, 10976200, true, "10976200", 0, false},
		{"counter64 uint64", gosnmp.SnmpPDU{Type: gosnmp.Counter64, Value: uint64(6001175126016)}, 6001175126016, true, "6001175126016", 64, false},
		{"counter64 big", gosnmp.SnmpPDU{Type: gosnmp.Counter64, Value: big.NewInt(42)}, 42, true, "42", 64, false},
		{"counter64 negative big", gosnmp.SnmpPDU{Type: gosnmp.Counter64, Value: big.NewInt(-1)}, 0, false, "", 0, true},
		{"string padded", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("DS214se\x00\x00")}, 0, false, "DS214se", 0, false},
		{"latin1", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("Empfang K\xfcche")}, 0, false, "Empfang Küche", 0, false},
		{"jetdirect wrap", gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("Cyan Cartridge 8\n32 37 41 20 48 50 00 ")}, 0, false, "Cyan Cartridge 827A HP", 0, false},
		{"oid", gosnmp.SnmpPDU{Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.935"}, 0, false, ".1.3.6.1.4.1.935", 0, false},
		{"ip", gosnmp.SnmpPDU{Type: gosnmp.IPAddress, Value: "10.0.0.1"}, 0, false, "10.0.0.1", 0, false},
		{"opaque float NaN", gosnmp.SnmpPDU{Type: gosnmp.OpaqueFloat, Value: float32(math.NaN())}, 0, false, "", 0, true},
		{"no such instance", gosnmp.SnmpPDU{Type: gosnmp.NoSuchInstance}, 0, false, "", 0, true},
		{"wrong go type", gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: "x"}, 0, false, "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodePDU(tc.pdu)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if r.isNum != tc.isNum || r.num != tc.num || r.text != tc.text || (tc.counter > 0) != r.counter || (tc.counter > 0 && r.bits != tc.counter) {
				t.Fatalf("got %+v", r)
			}
		})
	}
	if _, err := decodePDU(gosnmp.SnmpPDU{Type: gosnmp.EndOfMibView}); !errors.Is(err, errNoValue) {
		t.Fatalf("endOfMibView: %v", err)
	}
}

func TestLeadingNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"28 C/82 F", 28, true},
		{"29.6 %RH", 29.6, true},
		{"-5.5C", -5.5, true},
		{"--", 0, false},
		{"", 0, false},
		{"1.2.3", 0, false},
	}
	for _, tc := range tests {
		got, ok := leadingNumber(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("leadingNumber(%q) = %v %v", tc.in, got, ok)
		}
	}
}

func TestCounterDelta(t *testing.T) {
	tests := []struct {
		prev, cur uint64
		bits      int
		want      uint64
		ok        bool
	}{
		{100, 250, 32, 150, true},
		{4294967000, 704, 32, 1000, true}, // one wrap
		{1_000_000_000, 5, 32, 0, false},  // "wrap" of more than half the range: a reset
		{math.MaxUint64 - 9, 10, 64, 20, true},
		{1000, 3, 64, 0, false}, // 64-bit going back is a reset
	}
	for _, tc := range tests {
		got, ok := counterDelta(tc.prev, tc.cur, tc.bits)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("counterDelta(%v, %v, %d) = %v %v, want %v %v", tc.prev, tc.cur, tc.bits, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEvaluateProfileFeatures(t *testing.T) {
	p, err := ParseProfile([]byte(`
name: t
tables:
  - oid: 1.3.6.1.2.1.43.11.1.1
    label: 6
    columns:
      - column: 9
        percent_of: 8
        name: supply.{label}.percent
        unit: "%"
        conditions:
          - {name: "supply.{label}.empty", below: 1, severity: critical, message: "{row.6} empty"}
  - oid: 1.3.6.1.2.1.25.3.5.1
    columns:
      - column: 2
        type: bits
        conditions:
          - {name: jam, bit: 5, severity: major}
          - {name: paper_low, bit: 0, severity: minor}
scalars:
  - {oid: 1.3.6.1.2.1.33.1.4.1.0, name: ups.status, enum: {"3": OL, "5": OB}, conditions: [{name: ob, in: [OB], severity: major}]}
  - {oid: 1.3.6.1.4.1.9.1.0, name: temp, parse: number, unit: "°C", invalid: [-1]}
  - {oid: 1.3.6.1.4.1.9.2.0, name: temp2, invalid: [-1]}
`))
	if err != nil {
		t.Fatal(err)
	}
	num := func(n float64) raw { return raw{num: n, isNum: true} }
	txt := func(s string) raw { return raw{text: s, octets: []byte(s)} }
	rd := readings{
		".1.3.6.1.2.1.43.11.1.1.6.1.1": txt("Black Toner"),
		".1.3.6.1.2.1.43.11.1.1.8.1.1": num(100),
		".1.3.6.1.2.1.43.11.1.1.9.1.1": num(0),
		".1.3.6.1.2.1.43.11.1.1.6.1.2": txt("Stapler"),
		".1.3.6.1.2.1.43.11.1.1.8.1.2": num(-2),
		".1.3.6.1.2.1.43.11.1.1.9.1.2": num(-3),
		".1.3.6.1.2.1.25.3.5.1.2.1":    {octets: []byte{0x04, 0x00}},
		".1.3.6.1.2.1.33.1.4.1.0":      num(5),
		".1.3.6.1.4.1.9.1.0":           txt("41 C/105 F"),
		".1.3.6.1.4.1.9.2.0":           num(-1),
	}
	res := evaluate([]*Profile{p}, rd)
	var names []string
	for _, m := range res.metrics {
		names = append(names, fmt.Sprintf("%s=%v", m.Name, m.Value))
	}
	if got := strings.Join(names, " "); got != "ups.status=OB temp=41 supply.black_toner.percent=0" {
		t.Fatalf("metrics: %s", got)
	}
	var conds []string
	for _, c := range res.conditions {
		conds = append(conds, c.Name+"/"+string(c.Severity)+"/"+c.Message)
	}
	if got := strings.Join(conds, " "); got != "ob/major/ups.status is OB supply.black_toner.empty/critical/Black Toner empty jam/major/jam" {
		t.Fatalf("conditions: %q", got)
	}
}

func TestRatesFirstPollAndRestart(t *testing.T) {
	r := newRates()
	t0 := time.Unix(1000, 0)
	c := func(v uint64) []counterValue {
		return []counterValue{{name: "x", unit: "B/s", value: v, bits: 64, scale: 1}}
	}
	if out, _ := r.update(t0, 10, c(100)); out != nil {
		t.Fatalf("rate on first poll: %v", out)
	}
	out, _ := r.update(t0.Add(10*time.Second), 20, c(600))
	if len(out) != 1 || out[0].Value != 50.0 {
		t.Fatalf("rate = %v", out)
	}
	out, restarted := r.update(t0.Add(20*time.Second), 5, c(650))
	if !restarted || out != nil {
		t.Fatalf("restart not detected: %v %v", out, restarted)
	}
}

func TestForecast(t *testing.T) {
	f := newForecaster(72*time.Hour, 14*24*time.Hour)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var evs []drivers.Event
	// A volume filling 1 % per day from 80 %: full in 20 days from the
	// start, i.e. 17 days after the third day: beyond the 14-day horizon.
	// Then 2 % per day from day 3: the forecast moves in.
	for h := 0; h <= 72; h++ {
		v := 80 + float64(h)/24
		evs = append(evs, f.observe(t0.Add(time.Duration(h)*time.Hour), []drivers.Metric{drivers.Num("storage.volume1.used_percent", v, "%")})...)
	}
	if len(evs) != 0 {
		t.Fatalf("warned too early: %+v", evs)
	}
	// Toner going from 30 % down 5 % a day: empty in 6 days.
	for h := 0; h <= 48; h += 6 {
		evs = append(evs, f.observe(t0.Add(time.Duration(h)*time.Hour), []drivers.Metric{drivers.Num("printer.supply.black_toner.percent", 30-5*float64(h)/24, "%")})...)
	}
	// The first forecast needs 18 h of history (a quarter of the
	// window); the next comes a day later.
	if len(evs) != 2 {
		t.Fatalf("events = %+v", evs)
	}
	e := evs[0]
	if e.Type != "snmp.forecast" || e.Attrs["metric"] != "printer.supply.black_toner.percent" || e.Attrs["forecast"] != "2026-11-07T00:00:00Z" || e.Attrs["days"] != 6 || !e.Time.Equal(t0.Add(18*time.Hour)) {
		t.Fatalf("forecast event: %+v", e)
	}
	if !strings.Contains(e.Message, "supply black_toner empty in 6 days (around 2026-11-07)") {
		t.Fatalf("message: %q", e.Message)
	}
	if evs[1].Attrs["days"] != 5 || !evs[1].Time.Equal(t0.Add(42*time.Hour)) {
		t.Fatalf("second forecast: %+v", evs[1])
	}
	// The same forecast is not repeated within a day.
	if more := f.observe(t0.Add(49*time.Hour), []drivers.Metric{drivers.Num("printer.supply.black_toner.percent", 30-5*49.0/24, "%")}); len(more) != 0 {
		t.Fatalf("repeated: %+v", more)
	}
}

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Config)
		fields []string
	}{
		{"ok", func(c *Config) {}, nil},
		{"no address", func(c *Config) { c.Address = "" }, []string{"address"}},
		{"bad version", func(c *Config) { c.Version = "2" }, []string{"version"}},
		{"v3 missing", func(c *Config) { c.Version = "3"; c.V3 = V3Config{AuthProtocol: "SHA-999", PrivProtocol: "AES"} },
			[]string{"v3.user", "v3.auth_protocol", "v3.priv_password"}},
		{"v3 short password", func(c *Config) {
			c.Version = "3"
			c.V3 = V3Config{User: "u", AuthProtocol: "SHA-256", AuthPassword: "short", PrivProtocol: "AES", PrivPassword: "long enough"}
		}, []string{"v3.auth_password"}},
		{"unknown profile", func(c *Config) { c.Profiles = []string{"printer", "fax"} }, []string{"profiles[1]"}},
		{"limits", func(c *Config) { c.MaxOIDs = 0; c.Timeout = 0; c.MaxRepetitions = 500 }, []string{"timeout", "max_oids", "max_repetitions"}},
		{"trap source", func(c *Config) { c.Traps.Source = "ups.local" }, []string{"traps.source"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Address = "192.0.2.10"
			tc.mod(&c)
			err := c.Check()
			var got []string
			for _, e := range unwrapJoined(err) {
				var fe *drivers.FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("not a FieldError: %v", e)
				}
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("fields = %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
}

func unwrapJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestSecretsNotLogged: the community and v3 passphrases never reach a log
// line, even when the whole config is logged.
func TestSecretsNotLogged(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	c := DefaultConfig()
	c.Address = "192.0.2.1"
	c.Community = "s3cret-community"
	c.V3.AuthPassword = "s3cret-auth"
	c.V3.PrivPassword = "s3cret-priv"
	log.Info("config", "cfg", c)
	log.Info("v3", "v3", c.V3, "community", c.Community)
	if strings.Contains(buf.String(), "s3cret") {
		t.Fatalf("secret in log: %s", buf.String())
	}
	if s := fmt.Sprintf("%v %+v %#v", c, c, c); strings.Contains(s, "s3cret") {
		t.Fatalf("secret in fmt: %s", s)
	}
}

// TestForecastStateSurvivesRestart: the series are saved to the state dir
// and a new forecaster (after a gateway restart) forecasts at once.
func TestForecastStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	f := newForecaster(72*time.Hour, 14*24*time.Hour)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for h := 0; h < 12; h += 2 {
		f.observe(t0.Add(time.Duration(h)*time.Hour), []drivers.Metric{drivers.Num("storage.data.used_percent", 90+float64(h)/12, "%")})
	}
	if err := f.save(dir); err != nil {
		t.Fatal(err)
	}
	g := newForecaster(72*time.Hour, 14*24*time.Hour)
	if err := g.load(dir); err != nil {
		t.Fatal(err)
	}
	evs := g.observe(t0.Add(20*time.Hour), []drivers.Metric{drivers.Num("storage.data.used_percent", 90+20.0/12, "%")})
	if len(evs) != 1 || evs[0].Attrs["metric"] != "storage.data.used_percent" {
		t.Fatalf("no forecast after reload: %+v", evs)
	}
	if err := newForecaster(time.Hour, time.Hour).load(t.TempDir()); err != nil {
		t.Fatalf("missing state file: %v", err)
	}
}

// TestRegistered: the factory decodes into Config with defaults and returns
// an untyped nil driver with the field errors.
func TestRegistered(t *testing.T) {
	f, ok := drivers.Lookup("snmp")
	if !ok {
		t.Fatal("snmp not registered")
	}
	c := f.NewConfig().(*Config)
	if c.Version != "2c" || c.Timeout != 2*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	d, err := f.New(drivers.Device{ID: "x"}, c, nil)
	if d != nil || err == nil {
		t.Fatalf("bad config: driver %v (%T), err %v", d, d, err)
	}
	c.Address = "192.0.2.1"
	d, err = f.New(drivers.Device{ID: "x"}, c, nil)
	if err != nil || d == nil {
		t.Fatalf("good config: %v", err)
	}
	if _, ok := d.(drivers.Watcher); !ok {
		t.Fatal("driver is not a Watcher")
	}
	if err := d.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
}

// TestQNAPVolumeStatus: the recording has no volume table, so the RAID
// state of QNAP volumes is checked on readings shaped like NAS-MIB's
// SysVolumeTable.
func TestQNAPVolumeStatus(t *testing.T) {
	cat, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := cat.Expand("qnap")
	if err != nil {
		t.Fatal(err)
	}
	txt := func(s string) raw { return raw{text: s, octets: []byte(s)} }
	rd := readings{
		".1.3.6.1.4.1.24681.1.2.17.1.2.1": txt("[Single Disk Volume: Drive 1]"),
		".1.3.6.1.4.1.24681.1.2.17.1.6.1": txt("Ready"),
		".1.3.6.1.4.1.24681.1.2.17.1.2.2": txt("[RAID 5 Disk Volume: Drive 2 3 4]"),
		".1.3.6.1.4.1.24681.1.2.17.1.6.2": txt("Degraded"),
	}
	res := evaluate(ps, rd)
	if len(res.conditions) != 1 || res.conditions[0].Name != "volume.raid_5_disk_volume_drive_2_3_4.not_ready" ||
		res.conditions[0].Message != "[RAID 5 Disk Volume: Drive 2 3 4] is Degraded" {
		t.Fatalf("conditions: %+v", res.conditions)
	}
}

func TestListenKey(t *testing.T) {
	for in, want := range map[string]string{
		":162": ":162", "0.0.0.0:162": ":162", "[::]:162": ":162",
		"127.0.0.1:1162": "127.0.0.1:1162", "bogus": "bogus",
	} {
		if got := listenKey(in); got != want {
			t.Errorf("listenKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestForecastRuleForReceptacles: a waste box's space left falls towards
// full, a toner's level towards empty.
func TestForecastRuleForReceptacles(t *testing.T) {
	f := newForecaster(time.Hour, time.Hour)
	for name, want := range map[string]string{
		"printer.supply.waste_toner.space_percent": "full",
		"printer.supply.black_toner.percent":       "empty",
		"storage.data.used_percent":                "full",
	} {
		r, ok := f.rule(name)
		if !ok || r.verb != want {
			t.Errorf("%s: rule %v %q, want %q", name, ok, r.verb, want)
		}
	}
	if r, _ := f.rule("printer.supply.waste_toner.space_percent"); r.what("printer.supply.waste_toner.space_percent") != "receptacle waste_toner" {
		t.Errorf("what = %q", r.what("printer.supply.waste_toner.space_percent"))
	}
}
