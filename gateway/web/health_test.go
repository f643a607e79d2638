package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// selfmonMetrics are what gateway/selfmon reports on a Raspberry Pi
// (names and units as it emits them).
func selfmonMetrics(diskUsed, temp float64, synced bool) []drivers.Metric {
	return []drivers.Metric{
		drivers.Num("buffer.records", 0, ""),
		drivers.Num("process.cpu", 2.1, "%"),
		drivers.Num("system.cpu", 6.4, "%"),
		drivers.Num("process.rss", 27004928, "B"),
		drivers.Num("system.memory.total", 4<<30, "B"),
		drivers.Num("system.memory.available", 3.5*(1<<30), "B"),
		drivers.Num("disk.size", 270553174016, "B"),
		drivers.Num("disk.free", 72404570112, "B"),
		drivers.Num("disk.used", diskUsed, "%"),
		drivers.Num("system.temperature", temp, "°C"),
		drivers.Num("system.uptime", 12624.9, "s"),
		drivers.Flag("clock.synced", synced),
	}
}

func TestHealthRows(t *testing.T) {
	up := 3*time.Hour + 29*time.Minute
	cases := []struct {
		name    string
		lang    string
		metrics []drivers.Metric
		want    map[string]string // row id → "value|class"
		absent  []string
	}{
		{"healthy box, German", langDE, selfmonMetrics(73.2, 48.3, true), map[string]string{
			"version":     "1.2.3|",
			"uptime":      "3 Std. 29 Min. (Box: 3 Std. 30 Min.)|",
			"cpu":         "6 % (praxisgate 2,1 %)|",
			"memory":      "26 MiB belegt (Box: 3,5 GiB von 4 GiB frei)|",
			"disk":        "73 % belegt, 67 GiB frei|",
			"temperature": "48 °C|",
			"clock":       "ja|",
		}, nil},
		{"healthy box, English", langEN, selfmonMetrics(73.2, 48.3, true), map[string]string{
			"uptime": "3 h 29 min (box: 3 h 30 min)|",
			"cpu":    "6 % (praxisgate 2.1 %)|",
			"memory": "26 MiB used (box: 3.5 GiB of 4 GiB free)|",
			"disk":   "73 % used, 67 GiB free|",
			"clock":  "yes|",
		}, nil},
		{"full disk, hot, clock not synced", langDE, selfmonMetrics(95, 82, false), map[string]string{
			"disk":        "95 % belegt, 67 GiB frei|bad",
			"temperature": "82 °C|bad",
			"clock":       "nein|bad",
		}, nil},
		{"warm", langDE, selfmonMetrics(50, 76, true), map[string]string{"temperature": "76 °C|warn"}, nil},
		{"x86 box without SoC temperature", langDE, without(selfmonMetrics(50, 40, true), "system.temperature"),
			map[string]string{"disk": "50 % belegt, 67 GiB frei|"}, []string{"temperature"}},
		{"before the first selfmon poll", langDE, nil, map[string]string{"version": "1.2.3|"},
			[]string{"cpu", "memory", "disk", "temperature", "clock"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := map[string]healthRow{}
			for _, r := range healthRows(c.lang, "1.2.3", up, c.metrics) {
				rows[r.ID] = r
				if r.Label == "" || strings.HasPrefix(r.Label, "hl.") {
					t.Errorf("row %s has no label: %q", r.ID, r.Label)
				}
			}
			for id, want := range c.want {
				r, ok := rows[id]
				if !ok {
					t.Errorf("no %s row", id)
					continue
				}
				if got := r.Value + "|" + r.Class; got != want {
					t.Errorf("%s: %q, want %q", id, got, want)
				}
			}
			for _, id := range c.absent {
				if _, ok := rows[id]; ok {
					t.Errorf("%s row shown without its metric: %+v", id, rows[id])
				}
			}
		})
	}
}

func without(ms []drivers.Metric, name string) []drivers.Metric {
	var out []drivers.Metric
	for _, m := range ms {
		if m.Name != name {
			out = append(out, m)
		}
	}
	return out
}

// The overview shows the health card in the page's language, with the
// raw metrics folded away under "Alle Messwerte".
func TestOverviewBoxHealth(t *testing.T) {
	e := newEnv(t)
	e.login()
	cases := []struct {
		lang string
		want []string
	}{
		{"de", []string{
			`<dt>Speicher (Disk)</dt><dd id="hl-disk" class="bad">95 % belegt, 67 GiB frei</dd>`,
			`<dt>Uhrzeit synchronisiert</dt><dd id="hl-clock" class="bad">nein</dd>`,
			`<dt>Temperatur</dt><dd id="hl-temperature">48 °C</dd>`,
			`<dt>Arbeitsspeicher</dt><dd id="hl-memory">26 MiB belegt (Box: 3,5 GiB von 4 GiB frei)</dd>`,
			`<dt>CPU</dt><dd id="hl-cpu">6 % (praxisgate 2,1 %)</dd>`,
			`<dd id="hl-version">1.2.3-test</dd>`,
			`<details><summary>Alle Messwerte</summary>`,
			`<dt>disk.free</dt><dd>67 GiB</dd>`,
			`<dt>system.uptime</dt><dd>3 Std. 30 Min.</dd>`,
			"12 Einträge, 4 KiB",
		}},
		{"en", []string{
			`<dt>Disk</dt><dd id="hl-disk" class="bad">95 % used, 67 GiB free</dd>`,
			`<dt>Clock synchronised</dt><dd id="hl-clock" class="bad">no</dd>`,
			`<dt>Memory</dt><dd id="hl-memory">26 MiB used (box: 3.5 GiB of 4 GiB free)</dd>`,
			`<details><summary>All readings</summary>`,
			`<dt>system.uptime</dt><dd>3 h 30 min</dd>`,
		}},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			if c.lang == "en" {
				e.post("/lang", url.Values{"lang": {"en"}, "back": {"/"}})
			}
			resp, body := e.get("/")
			wantStatus(t, resp, http.StatusOK, body)
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("overview lacks %q", w)
				}
			}
			if strings.Contains(body, "27004928") {
				t.Error("raw byte counts on the page")
			}
		})
	}
}
