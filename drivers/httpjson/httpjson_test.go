package httpjson

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/internal/jsonpath"
)

func metricStrings(ms []drivers.Metric) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s=%v%s", m.Name, m.Value, m.Unit))
	}
	return out
}

func TestParseShelly(t *testing.T) {
	tests := []struct {
		comp  Component
		want  []string
		conds []string
	}{
		{Component{Type: "Temperature", ID: 0, Name: "temperature"}, []string{"temperature=5.8°C"}, nil},
		{Component{Type: "Humidity", ID: 0, Name: "humidity"}, []string{"humidity=47.3%"}, nil},
		{Component{Type: "DevicePower", ID: 0, Name: "battery"},
			[]string{"battery.charge=100%", "battery.voltage=5.98V", "battery.external_power=false"}, nil},
		{Component{Type: "Switch", ID: 0, Name: "switch"},
			[]string{"switch.output=true", "switch.power=85.2W", "switch.voltage=230.1V", "switch.current=0.412A",
				"switch.frequency=50Hz", "switch.energy=15234.567Wh", "switch.temperature=41.3°C"}, nil},
		{Component{Type: "Temperature", ID: 100, Name: "temperature.probe"}, nil,
			[]string{"shelly.temperature.probe.error"}},
		{Component{Type: "Switch", ID: 1, Name: "switch.1"},
			[]string{"switch.1.output=false", "switch.1.temperature=92.1°C"}, []string{"shelly.switch.1.error"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s.%d", tt.comp.Type, tt.comp.ID), func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "shelly", fmt.Sprintf("%s.%d.json", tt.comp.Type, tt.comp.ID)))
			if err != nil {
				t.Fatal(err)
			}
			ms, cs, err := parseShelly(tt.comp, body)
			if err != nil {
				t.Fatal(err)
			}
			if got := metricStrings(ms); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("metrics = %v, want %v", got, tt.want)
			}
			var names []string
			for _, c := range cs {
				names = append(names, c.Name)
			}
			if !reflect.DeepEqual(names, tt.conds) {
				t.Errorf("conditions = %v, want %v", cs, tt.conds)
			}
		})
	}
}

func TestParseShellyRejects(t *testing.T) {
	k := Component{Type: "Switch", Name: "switch"}
	for _, body := range []string{`not json`, `[1,2]`, `{"output":"on"}`, `{"apower":"lots"}`, `{"id":0}{"id":1}`} {
		if ms, _, err := parseShelly(k, []byte(body)); err == nil {
			t.Errorf("parseShelly(%s) = %v, want an error", body, ms)
		}
	}
}

func newDriver(t *testing.T, cfg Config, log *slog.Logger) *Driver {
	t.Helper()
	d, err := New(drivers.Device{ID: "kuehlschrank"}, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.(*Driver).Close() })
	return d.(*Driver)
}

func plusHT(url string) Config {
	c := defaults()
	c.URL = url + "/"
	c.Components = []Component{{Type: "Temperature"}, {Type: "Humidity"}, {Type: "DevicePower"}}
	return c
}

func TestShellyPoll(t *testing.T) {
	srv := httptest.NewServer(newShellyServer(t, "", true))
	defer srv.Close()
	s, err := newDriver(t, plusHT(srv.URL), nil).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"temperature=5.8°C", "humidity=47.3%", "battery.charge=100%", "battery.voltage=5.98V", "battery.external_power=false"}
	if got := metricStrings(s.Metrics); !reflect.DeepEqual(got, want) {
		t.Errorf("metrics = %v, want %v", got, want)
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}

func TestShellyDigest(t *testing.T) {
	tests := []struct {
		name         string
		reuse        bool
		password     string
		wantErr      bool
		wantRequests int // for two polls of three components
	}{
		// One challenge, then the nonce carries all six requests.
		{"firmware 2 reuses the nonce", true, "geheim", false, 7},
		// The second request learns that reuse is refused (401, then
		// a fresh nonce); from then on every request is challenged
		// first: two round trips each.
		{"old firmware wants a fresh nonce", false, "geheim", false, 2 + 2 + 2 + 2 + 2 + 2},
		{"wrong password", true, "falsch", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newShellyServer(t, "geheim", tt.reuse)
			srv := httptest.NewServer(sim)
			defer srv.Close()
			var logs bytes.Buffer
			cfg := plusHT(srv.URL)
			cfg.Password = drivers.Secret(tt.password)
			d := newDriver(t, cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			for i := 0; i < 2; i++ {
				s, err := d.Poll(context.Background())
				if tt.wantErr {
					if !errors.Is(err, drivers.ErrProtocol) || !strings.Contains(err.Error(), "authentication failed") {
						t.Fatalf("Poll = %v, want an authentication failure", err)
					}
					if strings.Contains(err.Error(), tt.password) {
						t.Error("error message contains the password")
					}
					continue
				}
				if err != nil {
					t.Fatalf("poll %d: %v", i, err)
				}
				if len(s.Metrics) != 5 {
					t.Errorf("metrics = %v", s.Metrics)
				}
			}
			if tt.wantErr {
				return
			}
			if sim.authed != 6 {
				t.Errorf("server authenticated %d requests, want 6", sim.authed)
			}
			if sim.requests != tt.wantRequests {
				t.Errorf("server saw %d requests, want %d", sim.requests, tt.wantRequests)
			}
			if strings.Contains(logs.String(), "geheim") {
				t.Error("the password reached the log")
			}
		})
	}
}

// TestShellySimAgainstCurl checks the test's digest server with curl, an
// independent RFC 7616 client, so the driver is not only checked against
// our own reading of the RFC.
// TestShellyNonceExpiry: a refused nonce after several uses has expired;
// the driver takes a new one and keeps reusing nonces.
func TestShellyNonceExpiry(t *testing.T) {
	sim := newShellyServer(t, "geheim", true)
	sim.expireAfter = 3
	srv := httptest.NewServer(sim)
	defer srv.Close()
	cfg := plusHT(srv.URL)
	cfg.Password = "geheim"
	d := newDriver(t, cfg, nil)
	for i := 0; i < 2; i++ {
		if _, err := d.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// 401+ok, ok, ok, then the fourth use is refused: 401+ok, ok, ok.
	if sim.requests != 8 || d.noReuse {
		t.Errorf("server saw %d requests (want 8), noReuse %v", sim.requests, d.noReuse)
	}
}

func TestShellySimAgainstCurl(t *testing.T) {
	testpeer.SkipShort(t, "curl")
	curl := "/usr/bin/curl"
	if _, err := os.Stat(curl); err != nil {
		t.Fatalf("%s missing: `make test` installs Debian package curl", curl)
	}
	srv := httptest.NewServer(newShellyServer(t, "geheim", true))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, pw := range []string{"geheim", "falsch"} {
		out, err := exec.CommandContext(ctx, curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--digest", "-u", "admin:"+pw,
			srv.URL+"/rpc/Temperature.GetStatus?id=0").Output()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"geheim": "200", "falsch": "401"}[pw]
		if string(out) != want {
			t.Errorf("curl with password %s: HTTP %s, want %s", pw, out, want)
		}
	}
}

func TestDigestRFC7616Example(t *testing.T) {
	// RFC 7616 section 3.9.1.
	for _, tt := range []struct{ alg, want string }{
		{"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
		{"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		c, err := parseChallenge(`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=` + tt.alg +
			`, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`)
		if err != nil {
			t.Fatal(err)
		}
		h := c.authorization("GET", "/dir/index.html", "Mufasa", "Circle of Life", 1, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
		if !strings.Contains(h, `response="`+tt.want+`"`) || !strings.Contains(h, `opaque="FQhe/`) || !strings.Contains(h, "nc=00000001") {
			t.Errorf("%s: %s, want response %s", tt.alg, h, tt.want)
		}
	}
}

func TestParseChallengeRejects(t *testing.T) {
	for _, h := range []string{
		`Basic realm="x"`,
		`Digest realm="x"`,
		`Digest nonce="1", algorithm=SHA-512-256`,
		`Digest nonce="1", qop="auth-int"`,
		`Digest nonce="1, realm="x`,
		`Digest =x`,
	} {
		if c, err := parseChallenge(h); err == nil {
			t.Errorf("parseChallenge(%s) = %+v, want an error", h, c)
		}
	}
}

func TestGeneric(t *testing.T) {
	doc := `{"device":"TFA","sensors":[{"temp":"4.9","hum":51},{"temp":null}],"uptime":12345,"ok":true}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "monitor" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="sensor"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/api/status" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, doc)
	}))
	defer srv.Close()
	for _, auth := range []string{"basic", "auto"} {
		t.Run(auth, func(t *testing.T) {
			cfg := defaults()
			cfg.Mode, cfg.URL, cfg.Auth, cfg.Username, cfg.Password = "generic", srv.URL+"/api/status", auth, "monitor", "s3cret"
			cfg.Values = []Value{
				{Name: "temperature", Path: "sensors[0].temp", Unit: "°C"},
				{Name: "humidity", Path: "sensors.0.hum", Unit: "%"},
				{Name: "uptime", Path: "uptime", Unit: "h", Scale: 1.0 / 3600},
				{Name: "ok", Path: "$.ok"},
				{Name: "temperature.2", Path: "sensors.1.temp"},
				{Name: "temperature.3", Path: "sensors.2.temp"},
			}
			s, err := newDriver(t, cfg, nil).Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"temperature=4.9°C", "humidity=51%", "uptime=3.4291666666666667h", "ok=1"}
			if got := metricStrings(s.Metrics); !reflect.DeepEqual(got, want) {
				t.Errorf("metrics = %v, want %v", got, want)
			}
			if len(s.Conditions) != 2 || s.Conditions[0].Name != "httpjson.temperature.2.invalid" || s.Conditions[1].Name != "httpjson.temperature.3.invalid" {
				t.Errorf("conditions = %v", s.Conditions)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>login</html>") })
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"code":-105,"message":"Argument 'id', value 3 not found!"}`, 500)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(maxBody+10))
		w.Write(bytes.Repeat([]byte(" "), maxBody+10))
	})
	mux.HandleFunc("/huge-chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 5 {
			w.Write(bytes.Repeat([]byte(" "), maxBody/4))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1/steal", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()

	// Only /slow is judged by the timeout. Every other fault must be told
	// by what the device sent, so those get a timeout that only guards
	// against a hang and a loaded machine cannot turn them into "unreachable".
	const hangGuard = 30 * time.Second
	tests := []struct {
		path    string
		base    string
		timeout time.Duration
		want    error
	}{
		{"/html", srv.URL, hangGuard, drivers.ErrProtocol},
		{"/500", srv.URL, hangGuard, drivers.ErrProtocol},
		{"/slow", srv.URL, 300 * time.Millisecond, drivers.ErrUnreachable},
		{"/huge", srv.URL, hangGuard, drivers.ErrProtocol},
		{"/huge-chunked", srv.URL, hangGuard, drivers.ErrProtocol},
		{"/redirect", srv.URL, hangGuard, drivers.ErrProtocol},
		{"/", dead, hangGuard, drivers.ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			cfg := defaults()
			cfg.Mode, cfg.URL, cfg.Timeout = "generic", tt.base+tt.path, tt.timeout
			cfg.Values = []Value{{Name: "x", Path: "x"}}
			_, err := newDriver(t, cfg, nil).Poll(context.Background())
			if !errors.Is(err, tt.want) {
				t.Errorf("Poll = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"no url", func(c *Config) { c.URL = "" }, "url"},
		{"ftp", func(c *Config) { c.URL = "ftp://x" }, "url"},
		{"credentials in url", func(c *Config) { c.URL = "http://admin:pw@x" }, "url"},
		{"mode", func(c *Config) { c.Mode = "soap" }, "mode"},
		{"auth", func(c *Config) { c.Auth = "ntlm" }, "auth"},
		{"digest without password", func(c *Config) { c.Auth = "digest" }, "password"},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "timeout"},
		{"no components", func(c *Config) { c.Components = nil }, "components"},
		{"component type", func(c *Config) { c.Components[0].Type = "Light" }, "components[0].type"},
		{"duplicate name", func(c *Config) { c.Components = append(c.Components, Component{Type: "Temperature"}) }, "components[1].name"},
		{"values in shelly mode", func(c *Config) { c.Values = []Value{{Name: "x", Path: "x"}} }, "values"},
		{"generic without values", func(c *Config) { c.Mode = "generic" }, "values"},
		{"bad path", func(c *Config) { c.Mode, c.Components, c.Values = "generic", nil, []Value{{Name: "x", Path: "a..b"}} }, "values[0].path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults()
			c.URL = "http://192.168.1.50"
			c.Components = []Component{{Type: "Temperature"}}
			tt.edit(&c)
			_, err := New(drivers.Device{}, c, nil)
			var fe *drivers.FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("New = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}

// FuzzParseChallenge: the header comes from whatever answers on the LAN.
func FuzzParseChallenge(f *testing.F) {
	f.Add(`Digest qop="auth", realm="shellyplus1pm-44179394d4d4", nonce="1631097130", algorithm=SHA-256`)
	f.Add(`Digest realm="a\"b", nonce=x, opaque="", stale=true`)
	f.Fuzz(func(t *testing.T, h string) {
		c, err := parseChallenge(h)
		if err == nil {
			if c.nonce == "" {
				t.Errorf("accepted %q without nonce", h)
			}
			c.authorization("GET", "/rpc", "admin", "pw", 1, "c")
		}
	})
}

// FuzzExtract: generic documents come from arbitrary devices.
func FuzzExtract(f *testing.F) {
	f.Add([]byte(`{"sensors":[{"temp":"4.9"}]}`), "sensors.0.temp")
	f.Add([]byte(`{"a":1e999}`), "a")
	f.Add([]byte(`{"a":"NaN"}`), "a")
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		p, err := jsonpath.Parse(path)
		if err != nil {
			return
		}
		ms, _, err := extract([]Value{{Name: "v", Path: path, Scale: 1}}, []jsonpath.Path{p}, body)
		if err != nil {
			return
		}
		s := drivers.Sample{Metrics: ms}
		if err := s.Validate(); err != nil {
			t.Errorf("extract(%q, %q) gave an invalid sample: %v", body, path, err)
		}
	})
}
