package fleetwatch

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

func scrape(t *testing.T, m *metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q, want the text format 0.0.4", ct)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetricsText(t *testing.T) {
	m := newMetrics()
	m.members.Set(3)
	m.gaps.Add(2)
	m.gaps.Inc()
	m.messages.WithLabelValues("telemetry").Inc()
	m.messages.WithLabelValues("event").Add(4)
	m.messages.WithLabelValues("telemetry").Inc()
	m.alerts.WithLabelValues("odd \"name\"\\\n", "firing").Inc()
	out := scrape(t, m)
	tests := []string{
		"# HELP praxisgate_watch_members Live watcher instances of the group, this one included.\n# TYPE praxisgate_watch_members gauge\npraxisgate_watch_members 3\n",
		"# TYPE praxisgate_watch_seq_gaps_total counter\npraxisgate_watch_seq_gaps_total 3\n",
		// series sorted by their labels
		"praxisgate_watch_messages_total{kind=\"event\"} 4\npraxisgate_watch_messages_total{kind=\"telemetry\"} 2\n",
		// backslash, quote and newline escaped in label values
		`praxisgate_watch_alerts_total{alertname="odd \"name\"\\\n",state="firing"} 1` + "\n",
		"praxisgate_watch_boxes_offline 0\n",
		"# TYPE go_goroutines gauge\n",
		"# TYPE process_cpu_seconds_total counter\n",
		"process_open_fds ",
		"process_start_time_seconds ",
	}
	for _, want := range tests {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q:\n%s", want, out)
		}
	}
}

func TestFormatFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {3, "3"}, {0.25, "0.25"}, {1e21, "1e+21"},
		{math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"}, {math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		if got := formatFloat(tt.in); got != tt.want {
			t.Errorf("formatFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestMetricsScrapedByPrometheus has a real Prometheus scrape the
// watcher's /metrics: a format error would make it drop the whole scrape
// (up 0), and its PromQL answers must carry the values set here.
func TestMetricsScrapedByPrometheus(t *testing.T) {
	m := newMetrics()
	m.owned.Set(7)
	m.alerts.WithLabelValues("BoxOffline", "firing").Add(2)
	m.alerts.WithLabelValues(`a "quoted" name`, "resolved").Inc()
	srv := httptest.NewServer(m)
	defer srv.Close()
	p := testpeer.StartPrometheus(t, strings.TrimPrefix(srv.URL, "http://"))

	want := map[string]float64{
		`up`:                           1,
		`praxisgate_watch_boxes_owned`: 7,
		`praxisgate_watch_alerts_total{alertname="BoxOffline",state="firing"}`: 2,
		`praxisgate_watch_alerts_total{alertname="a \"quoted\" name"}`:         1,
		`count(go_goroutines > 0)`:                   1,
		`count(process_resident_memory_bytes > 1e6)`: 1,
		`count(process_start_time_seconds > 1.7e9)`:  1,
	}
	deadline := time.Now().Add(60 * time.Second) // hang guard
	for q, v := range want {
		for {
			s, err := p.Query(q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if len(s) == 1 && s[0].Value == v {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("hang guard: %s = %v, want one sample of %v", q, s, v)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
