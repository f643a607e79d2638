package web

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/logring"
)

// bigPractice is a server whose inventory holds n devices (the issue's
// figure is 500), each with a handful of metrics, 20 active alarms and a
// threshold per fridge, with a logged-in session cookie.
func bigPractice(tb testing.TB, n int) (*Server, *http.Cookie) {
	tb.Helper()
	dir := tb.TempDir()
	var cfgText strings.Builder
	cfgText.WriteString("site: praxis-gross\ngateway: gw-01\nstate_dir: state\nuplink: {broker: \"tcp://127.0.0.1:1883\"}\ndevices:\n")
	for i := range n {
		fmt.Fprintf(&cfgText, "  - {id: dev-%03d, name: \"Gerät %d\", driver: sim, kind: fridge, sim: {scenario: fridge}}\n", i, i)
	}
	cfgText.WriteString("alarms:\n")
	for i := 0; i < n; i += 10 {
		fmt.Fprintf(&cfgText, "  - {device: dev-%03d, metric: temperature, above: 8, below: 2, for: 15m, severity: critical}\n", i)
	}
	path := filepath.Join(dir, "praxisgate.yaml")
	if err := os.WriteFile(path, []byte(cfgText.String()), 0o640); err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	be := &fakeBackend{cfg: cfg}
	for i := range n {
		kind := []string{"fridge", "ups", "printer", "nas", "room"}[i%5]
		be.devices = append(be.devices, Device{ID: fmt.Sprintf("dev-%03d", i), Name: fmt.Sprintf("Gerät %d", i), Kind: kind, Driver: "sim",
			At: now.Add(-time.Duration(i) * time.Second),
			Metrics: []drivers.Metric{drivers.Num("temperature", 5.5, "°C"), drivers.Num("battery.charge", 100, "%"),
				drivers.Text("ups.status", "OL"), drivers.Num("ups.load", 23, "%"), drivers.Num("device.reachable", 1, "")}})
	}
	// The discovered inventory: as many hosts, a tenth answering SNMP and
	// not adopted yet, one in twenty unknown.
	for i := range n {
		h := Host{Source: "netz", MAC: fmt.Sprintf("00:c0:b7:00:%02x:%02x", i/256, i%256), IPs: []string{fmt.Sprintf("192.168.%d.%d", 10+i/250, 1+i%250)},
			Vendor: "American Power Conversion", Name: fmt.Sprintf("host-%03d", i), Kind: "printer", Present: true, Known: i%20 != 0,
			LastSeen: now}
		if i%10 == 0 {
			h.Adopt = snmpAdoption(h.IPs[0], "printer")
		}
		if h.Adopt != nil && i%20 == 0 {
			h.Adopted = fmt.Sprintf("dev-%03d", i)
		}
		be.hosts = append(be.hosts, h)
	}
	// Every fridge with a full day of readings, one a minute.
	be.history = map[string]TempHistory{}
	for _, d := range be.devices {
		if d.Kind == "fridge" {
			be.history[d.ID] = dayOfReadings(now, 1440)
		}
	}
	for i := range 20 {
		v, limit := 9.0, 8.0
		be.alarms = append(be.alarms, alarm.Alarm{ID: fmt.Sprintf("dev-%03d/temperature/above", i*10), Device: fmt.Sprintf("dev-%03d", i*10),
			Severity: drivers.Critical, Message: "temperature 9 °C above 8 °C", Value: &v, Since: now.Add(-time.Hour),
			Metric: "temperature", Kind: alarm.KindThresholdHigh, Limit: &limit, Unit: "°C"})
	}
	ring := logring.NewRing(500)
	log := slog.New(logring.New(slog.NewTextHandler(io.Discard, nil), ring, slog.LevelInfo))
	for i := range 500 {
		log.Info("poll done", "device", fmt.Sprintf("dev-%03d", i), "took", "12ms")
	}
	srv, err := New(Options{Backend: be, Dir: filepath.Join(dir, "web"), Logger: log, Logs: func() []string { return ring.Lines(0) }, Now: func() time.Time { return now }})
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.accounts.setPassword("admin", testPassword); err != nil {
		tb.Fatal(err)
	}
	for i := range 50 {
		srv.audit.record(AuditEntry{Time: now, User: "admin", Remote: "192.168.1.20", Action: "config.alarm", Detail: fmt.Sprintf("change %d", i)})
	}
	rec := httptest.NewRecorder()
	srv.sessions.create(rec, "admin", "")
	return srv, rec.Result().Cookies()[0]
}

var benchPages = []string{"/", "/devices", "/devices/found", "/alarms", "/settings", "/diagnostics"}

func fetch(tb testing.TB, srv *Server, c *http.Cookie, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "https://box"+path, nil)
	req.AddCookie(c)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("%s: %d\n%s", path, rec.Code, rec.Body.String())
	}
	return rec
}

// TestPageWeight: with 500 devices every page, with its stylesheet, stays
// at most 150 KB uncompressed (the budget); there is no script and
// no image to add.
func TestPageWeight(t *testing.T) {
	srv, c := bigPractice(t, 500)
	for _, p := range benchPages {
		body := fetch(t, srv, c, p).Body.String()
		total := len(body) + len(styleCSS)
		if total > 150_000 {
			t.Errorf("%s: %d bytes with CSS, budget 150000", p, total)
		}
		if strings.Contains(body, "<script") {
			t.Errorf("%s: has a script", p)
		}
		t.Logf("%-12s %6d bytes (+ %d CSS)", p, len(body), len(styleCSS))
	}
}

// BenchmarkPages measures server time per page with 500 devices (target
// ≤ 50 ms) and reports the page weight (target ≤ 150 KB with CSS).
func BenchmarkPages(b *testing.B) {
	srv, c := bigPractice(b, 500)
	for _, p := range benchPages {
		name := strings.ReplaceAll(strings.TrimPrefix(p, "/"), "/", "-")
		if name == "" {
			name = "overview"
		}
		b.Run(name, func(b *testing.B) {
			var size int
			start := time.Now()
			for b.Loop() {
				size = fetch(b, srv, c, p).Body.Len()
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/page")
			b.ReportMetric(float64(size+len(styleCSS))/1000, "KB/page")
		})
	}
}
