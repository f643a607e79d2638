package mqttsensor

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func show(ms []drivers.Metric) []string {
	var out []string
	for _, m := range ms {
		v := m.Value
		if f, ok := v.(float64); ok {
			v = math.Round(f*1000) / 1000
		}
		out = append(out, fmt.Sprintf("%s=%v%s", m.Name, v, m.Unit))
	}
	return out
}

func TestParseTasmota(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"ds18b20.json", []string{"temperature=4.8°C"}},
		{"ds18b20-two.json", []string{"temperature.ds18b20-1=4.8°C", "temperature.ds18b20-2=-18.3°C"}},
		{"am2301.json", []string{"temperature=23.4°C", "humidity=41.2%", "dewpoint=9.5°C"}},
		{"bme280.json", []string{"temperature=22.9°C", "humidity=44.1%", "dewpoint=10.1°C", "pressure=101230Pa"}},
		{"si7021-fahrenheit.json", []string{"temperature=5°C", "humidity=50%", "dewpoint=-4.667°C"}},
		{"energy.json", []string{"power=68W", "voltage=231V", "current=0.394A", "power_factor=0.75", "energy=152418Wh"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := parseTasmota(fixture(t, "tasmota/"+tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := show(r.metrics); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("metrics = %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`{"Time":"x"}`, `[]`, `{"DS18B20":{"Temperature":"hot"}}`, `{`} {
		if r, err := parseTasmota([]byte(bad)); err == nil {
			t.Errorf("parseTasmota(%s) = %v, want an error", bad, r)
		}
	}
}

func TestParseZ2M(t *testing.T) {
	tests := []struct {
		file  string
		want  []string
		conds []string
	}{
		{"aqara-wsdcgq11lm.json", []string{"temperature=5.21°C", "humidity=47.61%", "pressure=100980Pa", "battery.charge=91%", "battery.voltage=2.985V", "linkquality=105"}, nil},
		{"sonoff-snzb-02.json", []string{"temperature=4.93°C", "humidity=52.6%", "battery.charge=100%", "battery.voltage=3.1V", "linkquality=87"}, nil},
		{"aqara-mccgq11lm-door-open.json", []string{"contact=false", "battery.charge=100%", "battery.voltage=3.035V", "device.temperature=21°C", "linkquality=120"}, nil},
		{"aqara-sjcgq11lm-leak.json", []string{"water_leak=true", "battery.charge=100%", "battery.voltage=3.015V", "device.temperature=19°C", "linkquality=72"}, []string{"water_leak"}},
		{"just-paired.json", []string{"linkquality=96"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := parseZ2M(fixture(t, "zigbee2mqtt/"+tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := show(r.metrics); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("metrics = %v, want %v", got, tt.want)
			}
			var conds []string
			for _, c := range r.conditions {
				conds = append(conds, c.Name)
			}
			if !reflect.DeepEqual(conds, tt.conds) {
				t.Errorf("conditions = %v, want %v", conds, tt.conds)
			}
		})
	}
	for _, bad := range []string{`{"contact":"open"}`, `{"temperature":"warm"}`, `{}`, `"online"`} {
		if r, err := parseZ2M([]byte(bad)); err == nil {
			t.Errorf("parseZ2M(%s) = %v, want an error", bad, r)
		}
	}
}

func TestParseAvailability(t *testing.T) {
	tests := []struct {
		in      string
		online  bool
		wantErr bool
	}{
		{"Online", true, false},
		{"Offline", false, false},
		{`{"state":"online"}`, true, false},
		{`{"state":"offline"}`, false, false},
		{"maybe", false, true},
		{`{"state":`, false, true},
	}
	for _, tt := range tests {
		got, err := parseAvailability([]byte(tt.in))
		if got != tt.online || (err != nil) != tt.wantErr {
			t.Errorf("parseAvailability(%q) = %v, %v", tt.in, got, err)
		}
	}
}

// FuzzPayloads: anything can be published on the local broker.
func FuzzPayloads(f *testing.F) {
	for _, name := range []string{"tasmota/bme280.json", "tasmota/ds18b20-two.json", "zigbee2mqtt/aqara-sjcgq11lm-leak.json"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, parse := range []func([]byte) (reading, error){parseTasmota, parseZ2M} {
			r, err := parse(payload)
			if err != nil {
				continue
			}
			s := drivers.Sample{Metrics: r.metrics, Conditions: r.conditions}
			if err := s.Validate(); err != nil {
				t.Errorf("%q gave an invalid sample: %v", payload, err)
			}
		}
		parseAvailability(payload)
	})
}
