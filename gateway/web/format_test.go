package web

import (
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

func TestFormatNumbers(t *testing.T) {
	cases := []struct {
		name   string
		got    func(lang string) string
		de, en string
	}{
		{"decimals trimmed", func(l string) string { return fmtDec(l, 5.0625, 2) }, "5,06", "5.06"},
		{"whole number", func(l string) string { return fmtDec(l, 4.0, 2) }, "4", "4"},
		{"negative zero", func(l string) string { return fmtDec(l, -0.001, 1) }, "0", "0"},
		{"not a number", func(l string) string { return fmtDec(l, nan(), 1) }, "–", "–"},
		{"fixed", func(l string) string { return fmtFixed(l, 2, 1) }, "2,0", "2.0"},
		{"metric °C", func(l string) string { return fmtValue(l, drivers.Num("temperature", 5.0625, "°C")) }, "5,06 °C", "5.06 °C"},
		{"metric bytes", func(l string) string { return fmtValue(l, drivers.Num("process.rss", 27004928, "B")) }, "26 MiB", "26 MiB"},
		{"metric flag", func(l string) string { return fmtValue(l, drivers.Flag("clock.synced", false)) }, "nein", "no"},
		{"metric text", func(l string) string { return fmtValue(l, drivers.Text("device.model", "Smart-UPS 750")) }, "Smart-UPS 750", "Smart-UPS 750"},
		{"UPS status", func(l string) string { return fmtValue(l, drivers.Text("ups.status", "OB DISCHRG XYZ")) },
			"Batteriebetrieb, entlädt, XYZ (OB DISCHRG XYZ)", "on battery, discharging, XYZ (OB DISCHRG XYZ)"},
		{"seconds below a minute", func(l string) string { return fmtValue(l, drivers.Num("buffer.oldest_age", 2.5, "s")) }, "2,5 s", "2.5 s"},
		{"seconds as a span", func(l string) string { return fmtValue(l, drivers.Num("battery.runtime", 1830, "s")) }, "30 Min. 30 s", "30 min 30 s"},
		{"bytes small", func(l string) string { return fmtIEC(l, 512) }, "512 B", "512 B"},
		{"bytes KiB", func(l string) string { return fmtIEC(l, 4096) }, "4 KiB", "4 KiB"},
		{"bytes one decimal below ten", func(l string) string { return fmtIEC(l, 9.6*(1<<30)) }, "9,6 GiB", "9.6 GiB"},
		{"bytes GiB", func(l string) string { return fmtIEC(l, 72404570112) }, "67 GiB", "67 GiB"},
		{"bytes rounding up a unit", func(l string) string { return fmtIEC(l, 1023.9*1024) }, "1 MiB", "1 MiB"},
		{"bytes negative", func(l string) string { return fmtIEC(l, -1) }, "–", "–"},
		{"span ms", func(l string) string { return fmtSpan(l, 42*time.Millisecond) }, "42 ms", "42 ms"},
		{"span seconds", func(l string) string { return fmtSpan(l, 45*time.Second) }, "45 s", "45 s"},
		{"span min s", func(l string) string { return fmtSpan(l, 5*time.Minute+3*time.Second) }, "5 Min. 3 s", "5 min 3 s"},
		{"span whole minutes", func(l string) string { return fmtSpan(l, 5*time.Minute) }, "5 Min.", "5 min"},
		{"span h min", func(l string) string { return fmtSpan(l, 3*time.Hour+29*time.Minute+59*time.Second) }, "3 Std. 29 Min.", "3 h 29 min"},
		{"span days", func(l string) string { return fmtSpan(l, 50*time.Hour) }, "2 Tg. 2 Std.", "2 d 2 h"},
		{"span days skip zero hours", func(l string) string { return fmtSpan(l, 48*time.Hour+5*time.Minute) }, "2 Tg.", "2 d"},
		{"ago", func(l string) string { return fmtAgoL(l, t0web.Add(90*time.Second), t0web) }, "vor 1 Min. 30 s", "1 min 30 s ago"},
		{"form number", func(l string) string { return decComma(l, "0.5") }, "0,5", "0.5"},
		{"form text stays", func(l string) string { return decComma(l, "1.5h") }, "1.5h", "1.5h"},
		{"ago now", func(l string) string { return fmtAgoL(l, t0web.Add(300*time.Millisecond), t0web) }, "gerade eben", "just now"},
		{"ago never", func(l string) string { return fmtAgoL(l, t0web, time.Time{}) }, "–", "–"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.got(langDE); got != c.de {
				t.Errorf("de: %q, want %q", got, c.de)
			}
			if got := c.got(langEN); got != c.en {
				t.Errorf("en: %q, want %q", got, c.en)
			}
		})
	}
}

var t0web = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func nan() float64 { z := 0.0; return z / z }
