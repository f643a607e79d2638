package check

import (
	"context"
	"errors"
	"fmt"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

func TestPingGroupRange(t *testing.T) {
	tests := []struct {
		content string
		gids    []int
		want    bool
		wantErr bool
	}{
		{"1\t0\n", []int{0}, false, false}, // kernel default: nobody
		{"0\t2147483647\n", []int{0}, true, false},
		{"0 2147483647", []int{998}, true, false},
		{"100 200", []int{0, 150}, true, false}, // a supplementary group counts
		{"100 200", []int{99, 201}, false, false},
		{"", nil, false, true},
		{"a b", nil, false, true},
		{"1 2 3", nil, false, true},
	}
	for _, tt := range tests {
		got, err := unprivilegedAllowed(tt.content, tt.gids)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("unprivilegedAllowed(%q, %v) = %v, %v; want %v, error %v", tt.content, tt.gids, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestICMPModeChoice(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	closed, open := write("closed", "1\t0\n"), write("open", "0\t2147483647\n")
	tests := []struct {
		mode, file     string
		wantPrivileged bool
	}{
		{"auto", closed, true},
		{"auto", open, false},
		{"auto", filepath.Join(dir, "missing"), true},
		{"raw", open, true},
		{"unprivileged", closed, false},
	}
	for _, tt := range tests {
		cfg := defaults()
		cfg.Host, cfg.ICMPMode = "127.0.0.1", tt.mode
		d := newDriver(t, cfg)
		d.pingGroupRange = tt.file
		d.groups = func() ([]int, error) { return []int{1000}, nil }
		got, err := d.icmpPrivileged()
		if err != nil || got != tt.wantPrivileged {
			t.Errorf("%s with %s: privileged = %v, %v; want %v", tt.mode, filepath.Base(tt.file), got, err, tt.wantPrivileged)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   func() Config
		field string
	}{
		{"method", func() Config { c := defaults(); c.Method, c.Host = "snmp", "x"; return c }, "method"},
		{"icmp without host", func() Config { c := defaults(); return c }, "host"},
		{"icmp with port", func() Config { c := defaults(); c.Host, c.Port = "x", 80; return c }, "port"},
		{"tcp without port", func() Config { c := defaults(); c.Method, c.Host = "tcp", "x"; return c }, "port"},
		{"http without url", func() Config { c := defaults(); c.Method = "http"; return c }, "url"},
		{"http with host", func() Config { c := defaults(); c.Method, c.URL, c.Host = "http", "http://x", "x"; return c }, "host"},
		{"http ftp", func() Config { c := defaults(); c.Method, c.URL = "http", "ftp://x"; return c }, "url"},
		{"status", func() Config {
			c := defaults()
			c.Method, c.URL, c.ExpectStatus = "http", "http://x", []int{200, 42}
			return c
		}, "expect_status[1]"},
		{"count", func() Config { c := defaults(); c.Host, c.Count = "x", 0; return c }, "count"},
		{"timeout", func() Config { c := defaults(); c.Host, c.Timeout = "x", 0; return c }, "timeout"},
		{"icmp mode", func() Config { c := defaults(); c.Host, c.ICMPMode = "x", "setuid"; return c }, "icmp_mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(drivers.Device{}, tt.cfg(), nil)
			var fe *drivers.FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("New = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	cfg := defaults()
	cfg.Host = "router"
	ms := time.Millisecond
	tests := []struct {
		name     string
		r        result
		want     []string
		wantErr  error
		wantText string
	}{
		{"all answered", result{sent: 3, recv: 3, rtts: []time.Duration{ms, 2 * ms, 3 * ms}},
			[]string{"latency=0.002s", "latency.max=0.003s", "loss=0%"}, nil, ""},
		{"one lost", result{sent: 4, recv: 3, rtts: []time.Duration{ms, ms, 4 * ms}},
			[]string{"latency=0.002s", "latency.max=0.004s", "loss=25%"}, nil, ""},
		{"none answered", result{sent: 3, lastErr: errors.New("connect: connection refused")},
			nil, drivers.ErrUnreachable, "connection refused"},
		{"all bad status", result{sent: 2, lastErr: fmt.Errorf("%w: HTTP status 503", drivers.ErrProtocol)},
			nil, drivers.ErrProtocol, "503"},
		{"nothing sent", result{}, nil, nil, "no probe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := summarise(cfg, tt.r)
			if tt.wantText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantText) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("summarise = %v, want an error with %q (%v)", err, tt.wantText, tt.wantErr)
				}
				if errors.Is(tt.wantErr, drivers.ErrProtocol) && errors.Is(err, drivers.ErrUnreachable) {
					t.Errorf("a host answering with errors is not unreachable: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range s.Metrics {
				got = append(got, fmt.Sprintf("%s=%v%s", m.Name, m.Value, m.Unit))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("metrics = %v, want %v", got, tt.want)
			}
		})
	}
}

func newDriver(t *testing.T, cfg Config) *Driver {
	t.Helper()
	d, err := New(drivers.Device{ID: "praxisserver"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d.(*Driver)
}

func metric(t *testing.T, s drivers.Sample, name string) float64 {
	t.Helper()
	for _, m := range s.Metrics {
		if m.Name == name {
			v, _ := m.Float()
			return v
		}
	}
	t.Fatalf("no metric %s in %v", name, s.Metrics)
	return 0
}

// acceptN serves n TCP connections and then closes its listener, so later
// probes are refused: a deterministic partial loss. closed is closed once
// the listener is gone.
func acceptN(t *testing.T, n int) (addr string, closed <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		defer l.Close()
		for i := 0; i < n; i++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return l.Addr().String(), done
}

func TestTCPLoopback(t *testing.T) {
	tests := []struct {
		name     string
		accept   int
		count    int
		wantLoss float64
		wantErr  bool
	}{
		{"all connect", 100, 3, 0, false},
		{"port closes after two", 2, 4, 50, false},
		{"port closed", 0, 3, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, closed := acceptN(t, tt.accept)
			host, port, _ := net.SplitHostPort(addr)
			cfg := defaults()
			cfg.Method, cfg.Host, cfg.Count, cfg.Spacing = "tcp", host, tt.count, 0
			fmt.Sscan(port, &cfg.Port)
			d := newDriver(t, cfg)
			// The kernel completes handshakes for a listener that has
			// not closed yet, so wait for the close before the probe
			// that should be refused.
			probes := 1
			d.sleep = func(ctx context.Context, _ time.Duration) error {
				if probes == tt.accept {
					select {
					case <-closed:
					case <-time.After(5 * time.Second):
						t.Error("listener did not close")
					}
				}
				probes++
				return ctx.Err()
			}
			if tt.accept == 0 {
				<-closed
			}
			s, err := d.Poll(context.Background())
			if tt.wantErr {
				if !errors.Is(err, drivers.ErrUnreachable) {
					t.Errorf("Poll = %v, want ErrUnreachable", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := metric(t, s, "loss"); got != tt.wantLoss {
				t.Errorf("loss = %v, want %v", got, tt.wantLoss)
			}
			if lat := metric(t, s, "latency"); lat <= 0 || lat > metric(t, s, "latency.max") {
				t.Errorf("latency %v, max %v", lat, metric(t, s, "latency.max"))
			}
		})
	}
}

func TestHTTPLoopback(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/sso", http.StatusFound) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "maintenance", 503) })
	plain := httptest.NewServer(mux)
	defer plain.Close()
	secure := httptest.NewTLSServer(mux)
	defer secure.Close()

	tests := []struct {
		name     string
		url      string
		insecure bool
		expect   []int
		wantErr  error
		wantTLS  bool
	}{
		{"plain", plain.URL + "/", false, nil, nil, false},
		{"redirect counts as up", plain.URL + "/login", false, nil, nil, false},
		{"expected 302 only", plain.URL + "/", false, []int{302}, drivers.ErrProtocol, false},
		{"503", plain.URL + "/down", false, nil, drivers.ErrProtocol, false},
		{"503 accepted", plain.URL + "/down", false, []int{503}, nil, false},
		{"self-signed refused", secure.URL + "/", false, nil, drivers.ErrProtocol, false},
		{"self-signed accepted", secure.URL + "/", true, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaults()
			cfg.Method, cfg.URL, cfg.InsecureSkipVerify, cfg.ExpectStatus, cfg.Spacing = "http", tt.url, tt.insecure, tt.expect, 0
			s, err := newDriver(t, cfg).Poll(context.Background())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || errors.Is(err, drivers.ErrUnreachable) {
					t.Errorf("Poll = %v, want %v only", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if metric(t, s, "loss") != 0 || metric(t, s, "http.status") == 0 {
				t.Errorf("metrics = %v", s.Metrics)
			}
			if tt.wantTLS {
				if left := metric(t, s, "tls.expiry"); left < 24*3600 {
					t.Errorf("tls.expiry = %v s", left)
				}
			}
		})
	}
}

// TestPingLoopbackRaw pings 127.0.0.1 over a raw socket; the tests run as
// root (namespaces need it too), which holds CAP_NET_RAW.
func TestPingLoopbackRaw(t *testing.T) {
	testpeer.SkipShort(t, "root (a raw ICMP socket)")
	cfg := defaults()
	cfg.Host, cfg.ICMPMode, cfg.Count, cfg.Spacing = "127.0.0.1", "raw", 3, 20*time.Millisecond
	s, err := newDriver(t, cfg).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if metric(t, s, "loss") != 0 {
		t.Errorf("loss on loopback: %v", s.Metrics)
	}
}

func TestCancelled(t *testing.T) {
	cfg := defaults()
	cfg.Method, cfg.Host, cfg.Port = "tcp", "127.0.0.1", 9
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newDriver(t, cfg).Poll(ctx); err == nil {
		t.Error("Poll with a cancelled context succeeded")
	}
}

// FuzzPingGroupRange: the sysctl is kernel-written, but a container may
// bind-mount anything there; parsing must never panic.
func FuzzPingGroupRange(f *testing.F) {
	f.Add("1\t0\n")
	f.Add("0\t2147483647\n")
	f.Fuzz(func(t *testing.T, s string) {
		lo, hi, err := parsePingGroupRange(s)
		if err == nil {
			ok, _ := unprivilegedAllowed(s, []int{int(lo)})
			if lo <= hi && !ok {
				t.Errorf("%q: group %d not admitted by its own range", s, lo)
			}
		}
	})
}
