package testpeer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MissingPrometheus is the failure message when the Prometheus server is
// absent.
const MissingPrometheus = "prometheus not found: run `make test` (it installs test peers) or apt-get install prometheus"

// Prometheus is a Prometheus server owned by one test, scraping the given
// targets every second, with its TSDB in the test's temp dir. Its HTTP API
// answers PromQL the way it does for a provider's Grafana.
type Prometheus struct {
	t       testing.TB
	dir     string
	logPath string
	// Port is the web and API listener on 127.0.0.1.
	Port int

	proc
}

// StartPrometheus starts Debian's prometheus on a free loopback port,
// scraping targets (host:port, path /metrics) every second, and stops it
// when the test ends.
func StartPrometheus(t testing.TB, targets ...string) *Prometheus {
	t.Helper()
	SkipShort(t, "prometheus")
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		bin = "/usr/bin/prometheus"
		if _, statErr := os.Stat(bin); statErr != nil {
			t.Fatal(MissingPrometheus)
		}
	}
	p := &Prometheus{t: t, dir: t.TempDir()}
	p.logPath = filepath.Join(p.dir, "prometheus.log")
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	conf := filepath.Join(p.dir, "prometheus.yml")
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: test\n    static_configs:\n      - targets: [%s]\n", strings.Join(quoted, ", "))
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("prometheus log (tail):\n%s", tail(p.logPath, 4000))
		}
	})
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if p.Port, err = FreePort(); err != nil {
			t.Fatal(err)
		}
		if lastErr = p.start(bin, conf); lastErr == nil {
			return p
		}
	}
	t.Fatalf("prometheus: %v\n%s", lastErr, tail(p.logPath, 4000))
	return nil
}

func (p *Prometheus) start(bin, conf string) error {
	f, err := os.Create(p.logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin,
		"--config.file="+conf,
		"--storage.tsdb.path="+filepath.Join(p.dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(p.Port),
		// Samples a second old count; stale series leave after 5 s.
		"--query.lookback-delta=5s",
	)
	cmd.Stdout, cmd.Stderr = f, f
	exited, err := p.run(cmd, f)
	if err != nil {
		return err
	}
	if err := waitPort(p.Port, 30*time.Second, exited); err != nil {
		p.Stop()
		return err
	}
	// The port opens before the TSDB is loaded; /-/ready says when queries work.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.URL() + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop()
	return fmt.Errorf("prometheus on port %d not ready within 30s", p.Port)
}

// URL is the server's base URL, e.g. http://127.0.0.1:40123.
func (p *Prometheus) URL() string { return "http://127.0.0.1:" + strconv.Itoa(p.Port) }

// Sample is one series of an instant query's vector result.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Query runs an instant PromQL query through the HTTP API
// (/api/v1/query) and returns the vector it yields. A query Prometheus
// refuses (a parse error, an unknown function) is an error carrying
// Prometheus' own message; so is a result that is not a vector.
func (p *Prometheus) Query(q string) ([]Sample, error) {
	resp, err := http.PostForm(p.URL()+"/api/v1/query", url.Values{"query": {q}})
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("query %q: read: %w", q, err)
	}
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string            `json:"resultType"`
			Result     []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %q: HTTP %d: %w: %s", q, resp.StatusCode, err, bytes.TrimSpace(body))
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", q, r.ErrorType, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result is a %s, not a vector", q, r.Data.ResultType)
	}
	out := make([]Sample, 0, len(r.Data.Result))
	for _, raw := range r.Data.Result {
		var s struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("query %q: sample: %w", q, err)
		}
		str, _ := s.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %w", q, s.Value[1], err)
		}
		out = append(out, Sample{Labels: s.Metric, Value: v})
	}
	return out, nil
}
