package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/sim"
)

func dur(d time.Duration) *time.Duration { return &d }
func num(f float64) *float64             { return &f }

// exampleFile is the documented example; the test below keeps the
// documentation honest.
const exampleFile = "../../docs/examples/praxisgate.yaml"

// simConfig is the sim driver's defaults with the example's settings; the
// driver owns its defaults, so the test asks for them instead of copying.
func simConfig(t *testing.T, scenario string, seed int64) *sim.Config {
	t.Helper()
	f, ok := drivers.Lookup("sim")
	if !ok {
		t.Fatal("sim driver not registered")
	}
	c := f.NewConfig().(*sim.Config)
	c.Scenario, c.Seed = scenario, seed
	return c
}

// lineOf returns the 1-based line holding s, so the test survives edits of
// the example's comments.
func lineOf(t *testing.T, data []byte, s string) int {
	t.Helper()
	for i, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in the example", s)
	return 0
}

func TestExampleLoads(t *testing.T) {
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	// The example names certificates and a secret file next to it; give
	// it fakes in a scratch directory.
	path := writeFiles(t, string(data), map[string]string{
		"ca.pem":                "ca",
		"gw-01.pem":             "cert",
		"gw-01.key":             "key",
		"secrets/mqtt-password": "hunter2\r\n",
	})
	dir := filepath.Dir(path)
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("example does not load:\n%v", err)
	}
	want := &Config{
		Site:     "praxis-beispiel",
		Gateway:  "gw-01",
		StateDir: "/var/lib/praxisgate",
		Log:      Log{Level: "info", Format: "text"},
		Uplink: Uplink{
			Broker:          "tls://mqtt.provider.example:8883",
			Prefix:          "praxisgate/v1",
			ClientID:        "praxisgate-praxis-beispiel-gw-01",
			CAFile:          filepath.Join(dir, "ca.pem"),
			CertFile:        filepath.Join(dir, "gw-01.pem"),
			KeyFile:         filepath.Join(dir, "gw-01.key"),
			Username:        "gw-01",
			Password:        "hunter2",
			KeepAlive:       30 * time.Second,
			ConnectTimeout:  10 * time.Second,
			WriteTimeout:    10 * time.Second,
			BackoffMin:      time.Second,
			BackoffMax:      2 * time.Minute,
			ReconnectSpread: dur(20 * time.Second),
			MaxInflight:     256,
		},
		Buffer: Buffer{
			Dir:          "/var/lib/praxisgate/buffer",
			MaxBytes:     2 << 30,
			MaxAge:       30 * 24 * time.Hour,
			CommitWindow: 50 * time.Millisecond,
		},
		Defaults: DeviceDefaults{Interval: 30 * time.Second, Timeout: 10 * time.Second, Jitter: dur(3 * time.Second), UnreachableAfter: 3},
		Devices: []Device{
			{
				ID: "kuehlschrank-impf", Driver: "sim", Kind: "fridge", Name: "Impfstoff-Kühlschrank Labor",
				PoweredBy: "usv-rack", Interval: time.Minute, Timeout: 10 * time.Second, Jitter: dur(3 * time.Second),
				UnreachableAfter: 3, DriverConfig: simConfig(t, "fridge", 42), Line: lineOf(t, data, "- id: kuehlschrank-impf"),
			},
			{
				ID: "serverraum", Driver: "sim", Kind: "room", Name: "Serverraum Klima",
				Interval: 30 * time.Second, Timeout: 10 * time.Second, Jitter: dur(3 * time.Second),
				UnreachableAfter: 3, DriverConfig: simConfig(t, "room", 0), Line: lineOf(t, data, "- id: serverraum"),
			},
			{
				ID: "usv-rack", Driver: "sim", Kind: "ups", Name: "USV im Rack",
				// The inherited 10s timeout is capped to the 5s interval,
				// the inherited jitter to half of it.
				Interval: 5 * time.Second, Timeout: 5 * time.Second, Jitter: dur(2500 * time.Millisecond),
				UnreachableAfter: 2, DriverConfig: simConfig(t, "ups", 0), Line: lineOf(t, data, "- id: usv-rack"),
			},
		},
		Alarms: []AlarmRule{
			{Device: "kuehlschrank-impf", Metric: "temperature", Above: num(8), Below: num(2), For: 15 * time.Minute,
				Hysteresis: 0.5, Severity: drivers.Critical, Message: "Impfstoff-Kühlschrank außerhalb 2–8 °C"},
			{Device: "serverraum", Metric: "temperature", Above: num(30), For: 10 * time.Minute, Severity: drivers.Major},
			{Device: "*", Metric: "battery.charge", Below: num(40), Severity: drivers.Minor},
		},
		Self:     Self{Interval: time.Minute},
		Commands: Commands{RequireSignature: DefaultRequireSignature, MaxSkew: defaultMaxSkew, ConfirmTimeout: defaultConfirmTimeout},
		Web:      Web{Listen: ":443", RedirectListen: ":80", Dir: "/var/lib/praxisgate/web"},
		Path:     path,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("example loaded as\n%#v\nwant\n%#v", cfg, want)
	}
}

// TestDefaults loads the smallest valid file and checks every default that
// docs/config.md promises.
func TestDefaults(t *testing.T) {
	path := writeFiles(t, `site: praxis-a
gateway: gw-01
state_dir: state
uplink: {broker: "mqtts://broker.example"}
devices:
  - {id: meter, driver: testdrv, testdrv: {port: /dev/ttyUSB0}}
  - {id: slow, driver: testdrv, interval: 5m, jitter: 0s, testdrv: {port: /dev/ttyUSB1, baud: 2400}}
alarms:
  - {device: meter, metric: voltage, above: 250}
`, nil)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	checks := []struct {
		name      string
		got, want any
	}{
		{"state_dir", cfg.StateDir, filepath.Join(dir, "state")},
		{"log.level", cfg.Log.Level, "info"},
		{"log.format", cfg.Log.Format, "text"},
		{"uplink.broker", cfg.Uplink.Broker, "mqtts://broker.example:8883"},
		{"uplink.prefix", cfg.Uplink.Prefix, "praxisgate/v1"},
		{"uplink.client_id", cfg.Uplink.ClientID, "praxisgate-praxis-a-gw-01"},
		{"uplink.keepalive", cfg.Uplink.KeepAlive, 30 * time.Second},
		{"uplink.connect_timeout", cfg.Uplink.ConnectTimeout, 10 * time.Second},
		{"uplink.write_timeout", cfg.Uplink.WriteTimeout, 10 * time.Second},
		{"uplink.backoff_min", cfg.Uplink.BackoffMin, time.Second},
		{"uplink.backoff_max", cfg.Uplink.BackoffMax, 2 * time.Minute},
		{"uplink.max_inflight", cfg.Uplink.MaxInflight, 256},
		{"buffer.dir", cfg.Buffer.Dir, filepath.Join(dir, "state", "buffer")},
		{"buffer.max_bytes", cfg.Buffer.MaxBytes, ByteSize(2 << 30)},
		{"buffer.max_age", cfg.Buffer.MaxAge, 720 * time.Hour},
		{"buffer.commit_window", cfg.Buffer.CommitWindow, 50 * time.Millisecond},
		{"defaults", cfg.Defaults, DeviceDefaults{Interval: 30 * time.Second, Timeout: 30 * time.Second, Jitter: dur(3 * time.Second), UnreachableAfter: 3}},
		{"devices[0].kind", cfg.Devices[0].Kind, "widget"},
		{"devices[0].interval", cfg.Devices[0].Interval, 30 * time.Second},
		{"devices[0].timeout", cfg.Devices[0].Timeout, 30 * time.Second},
		{"devices[0].jitter", *cfg.Devices[0].Jitter, 3 * time.Second},
		{"devices[0].unreachable_after", cfg.Devices[0].UnreachableAfter, 3},
		{"devices[0].testdrv", cfg.Devices[0].DriverConfig, &testdrvConfig{Port: "/dev/ttyUSB0", Baud: 9600, Timeout: 2 * time.Second}},
		{"devices[1].timeout", cfg.Devices[1].Timeout, 30 * time.Second},
		{"devices[1].jitter", *cfg.Devices[1].Jitter, time.Duration(0)},
		{"devices[1].testdrv", cfg.Devices[1].DriverConfig, &testdrvConfig{Port: "/dev/ttyUSB1", Baud: 2400, Timeout: 2 * time.Second}},
		{"alarms[0].severity", cfg.Alarms[0].Severity, drivers.Major},
		{"alarms[0].for", cfg.Alarms[0].For, time.Duration(0)},
		{"self.interval", cfg.Self.Interval, 60 * time.Second},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestBrokerURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tcp://localhost", "tcp://localhost:1883"},
		{"mqtt://10.0.0.5", "mqtt://10.0.0.5:1883"},
		{"TLS://Broker.example", "tls://Broker.example:8883"},
		{"ssl://broker.example:443", "ssl://broker.example:443"},
		{"tcp://[fe80::1]", "tcp://[fe80::1]:1883"},
		{"ws://broker.example/mqtt", "ws://broker.example:80/mqtt"},
		{"wss://broker.example:8084/mqtt", "wss://broker.example:8084/mqtt"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			cfg, err := Parse([]byte("site: a\ngateway: b\nuplink: {broker: \""+tt.in+"\"}\n"), "")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Uplink.Broker != tt.want {
				t.Errorf("broker = %q, want %q", cfg.Uplink.Broker, tt.want)
			}
		})
	}
}

// TestDriverChecked proves the loader builds each driver once to check its
// config and releases it again.
func TestDriverChecked(t *testing.T) {
	before := testdrvClosed.Load()
	_, err := Parse([]byte(head+"devices:\n  - {id: a, driver: testdrv, testdrv: {port: x}}\n  - {id: b, driver: testdrv, disabled: true, testdrv: {port: y}}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := testdrvClosed.Load() - before; got != 2 {
		t.Errorf("drivers closed = %d, want 2", got)
	}
}

func TestSecretFiles(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"trailing newline trimmed", "s3cret\n", "s3cret"},
		{"windows line ending trimmed", "s3cret\r\n", "s3cret"},
		{"several newlines trimmed", "s3cret\n\n", "s3cret"},
		{"inner spaces kept", " s3 cret ", " s3 cret "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFiles(t, head+"  username: gw\n  password_file: pw\ndevices:\n  - {id: a, driver: testdrv, testdrv: {port: x, password_file: pw}}\n",
				map[string]string{"pw": tt.content})
			cfg, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Uplink.Password.Reveal(); got != tt.want {
				t.Errorf("uplink password = %q, want %q", got, tt.want)
			}
			if got := cfg.Devices[0].DriverConfig.(*testdrvConfig).Password.Reveal(); got != tt.want {
				t.Errorf("driver password = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Load of a missing file = %v, want a not-exist error", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// TestDocExampleMatchesFile keeps the example printed in docs/config.md
// identical to docs/examples/praxisgate.yaml, which TestExampleLoads loads.
func TestDocExampleMatchesFile(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "## Full example")
	if !ok {
		t.Fatal(`docs/config.md has no "## Full example" section`)
	}
	_, block, ok := strings.Cut(after, "```yaml\n")
	if !ok {
		t.Fatal("no yaml block after ## Full example")
	}
	block, _, _ = strings.Cut(block, "```")
	if block != string(file) {
		t.Error("the example in docs/config.md differs from docs/examples/praxisgate.yaml")
	}
}

// TestDeviceMergeKeys shows the YAML way to share settings between similar
// devices: an anchored entry merged into the next, explicit keys winning.
func TestDeviceMergeKeys(t *testing.T) {
	cfg, err := Parse([]byte(head+`devices:
  - &fridge {id: fridge-a, driver: testdrv, interval: 10s, testdrv: {port: /dev/ttyUSB0, baud: 2400}}
  - {<<: *fridge, id: fridge-b, interval: 20s}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Devices[1]
	if b.ID != "fridge-b" || b.Interval != 20*time.Second || b.DriverConfig.(*testdrvConfig).Baud != 2400 {
		t.Errorf("merged device = %+v with %+v", b, b.DriverConfig)
	}
	if b.DriverConfig == cfg.Devices[0].DriverConfig {
		t.Error("merged devices share one driver config")
	}
}
