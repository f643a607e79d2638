package config

import (
	"errors"
	_ "github.com/praxisgate/praxisgate/drivers/sim"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// head is the smallest valid start of a file; most bad files below add one
// mistake to it so each case shows exactly one rule.
const head = `site: praxis-a
gateway: gw-01
uplink:
  broker: tcp://localhost
`

// writeFiles puts the config and any side files (secrets, certificates)
// into a fresh directory and returns the config's path.
func writeFiles(t *testing.T, config string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		full := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "praxisgate.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problems loads a file that must fail and returns its problems as
// LINE:COL: PATH: MSG lines.
func problems(t *testing.T, path string) []string {
	t.Helper()
	cfg, err := Load(path)
	if err == nil {
		t.Fatalf("Load succeeded, want problems; got %+v", cfg)
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load error is %T (%v), want *Errors", err, err)
	}
	var out []string
	for _, p := range errs.List {
		out = append(out, p.String())
	}
	return out
}

func TestBadFiles(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		files map[string]string
		want  []string
	}{
		{
			name: "unknown key with hint",
			yaml: head + "  keepalve: 30s\n",
			want: []string{`5:3: uplink.keepalve: unknown key (did you mean "keepalive"?)`},
		},
		{
			name: "unknown key without hint lists the known keys",
			yaml: head + "colour: red\n",
			want: []string{`5:1: colour: unknown key (known keys: alarms, buffer, commands, defaults, devices, fridge, gateway, log, notify, nut_server, self, site, state_dir, timezone, update, uplink, web)`},
		},
		{
			name: "wrong types",
			yaml: head + "  keepalive: abc\n  max_inflight: many\n  insecure_skip_verify: \"yes\"\ndevices: {id: x}\n",
			want: []string{
				`5:14: uplink.keepalive: want a duration like 30s, got "abc"`,
				`6:17: uplink.max_inflight: want an integer, got "many"`,
				`7:25: uplink.insecure_skip_verify: want true or false, got "yes"`,
				`8:10: devices: want a list, got a mapping`,
			},
		},
		{
			name: "missing required keys",
			yaml: "log: {level: info}\ndevices:\n  - kind: fridge\n",
			want: []string{
				`1:1: site: required`,
				`1:1: gateway: required`,
				`1:1: uplink.broker: required`,
				`3:5: devices[0].id: required`,
				`3:5: devices[0].driver: required`,
			},
		},
		{
			name: "a wrong type is not also reported as missing",
			yaml: head + "devices:\n  - {id: [a], driver: 7, interval: 5x, testdrv: {port: x}}\n",
			want: []string{
				`6:10: devices[0].id: want a string, got a list`,
				`6:15: devices[0].driver: unknown driver "7" (known drivers: sim, testdrv)`,
				`6:36: devices[0].interval: want a duration like 30s, got "5x"`,
				`6:40: devices[0].testdrv: section for driver "testdrv", but the device uses driver "7"`,
			},
		},
		{
			name: "an empty list entry does not shift the driver checks",
			yaml: head + "devices:\n  -\n  - {id: b, driver: testdrv, testdrv: {baud: 1}}\n",
			want: []string{
				`6:4: devices[0].id: required`,
				`6:4: devices[0].driver: required`,
				`7:30: devices[1].testdrv.port: required`,
				`7:40: devices[1].testdrv.baud: must be 2400, 9600 or 19200, not 1`,
			},
		},
		{
			name: "bad durations",
			yaml: head + "buffer:\n  max_age: 30\n  commit_window: 5 ms\ndevices:\n  - {id: a, driver: testdrv, interval: 5 minutes, testdrv: {port: x}}\n",
			want: []string{
				`6:12: buffer.max_age: want a duration like 30s, got "30"`,
				`7:18: buffer.commit_window: want a duration like 30s, got "5 ms"`,
				`9:40: devices[0].interval: want a duration like 30s, got "5 minutes"`,
			},
		},
		{
			name: "bad sizes",
			yaml: head + "buffer:\n  max_bytes: 2 GB x\n---\n# end\n",
			want: []string{`6:14: buffer.max_bytes: want a size like 512MiB, got "2 GB x"`},
		},
		{
			name: "size below the minimum",
			yaml: head + "buffer: {max_bytes: 512KiB}\n",
			want: []string{`5:10: buffer.max_bytes: must be ≥ 1MiB, got 512KiB`},
		},
		{
			name: "bad slugs",
			yaml: "site: Praxis Müller\ngateway: gw/01\nuplink: {broker: tcp://localhost}\ndevices:\n  - {id: Kühlschrank, driver: testdrv, testdrv: {port: x}}\n",
			want: []string{
				`1:1: site: must be a slug (a-z, 0-9 and '-', starting with a letter or digit, at most 64 characters), got "Praxis Müller"`,
				`2:1: gateway: must be a slug (a-z, 0-9 and '-', starting with a letter or digit, at most 64 characters), got "gw/01"`,
				`5:6: devices[0].id: must be a slug (a-z, 0-9 and '-', starting with a letter or digit, at most 64 characters), got "Kühlschrank"`,
			},
		},
		{
			name: "duplicate and reserved device ids",
			yaml: head + "devices:\n  - {id: fridge, driver: testdrv, testdrv: {port: a}}\n  - {id: gateway, driver: testdrv, testdrv: {port: b}}\n  - {id: fridge, driver: testdrv, testdrv: {port: c}}\n",
			want: []string{
				`7:6: devices[1].id: "gateway" is reserved for the gateway's own telemetry`,
				`8:6: devices[2].id: duplicate device id "fridge" (first at line 6)`,
			},
		},
		{
			name: "unknown driver",
			yaml: head + "devices:\n  - id: fridge\n    driver: modbuss\n",
			want: []string{`7:5: devices[0].driver: unknown driver "modbuss" (known drivers: sim, testdrv)`},
		},
		{
			name: "driver field errors at the key's line, missing keys at the section",
			yaml: head + `devices:
  - id: meter
    driver: testdrv
    testdrv:
      baud: 9600
      registers:
        - {addr: 1, type: u16}
        - {addr: 2, type: int7}
`,
			want: []string{
				`8:5: devices[0].testdrv.port: required`,
				`12:21: devices[0].testdrv.registers[1].type: must be u16 or f32, not "int7"`,
			},
		},
		{
			name: "driver section decoded strictly",
			yaml: head + "devices:\n  - id: meter\n    driver: testdrv\n    testdrv: {port: x, baud: fast, parity: even}\n",
			want: []string{
				`8:30: devices[0].testdrv.baud: want an integer, got "fast"`,
				`8:36: devices[0].testdrv.parity: unknown key (known keys: baud, explode, password, port, registers, timeout)`,
			},
		},
		{
			name: "driver's plain error at the section",
			yaml: head + "devices:\n  - {id: meter, driver: testdrv, testdrv: {port: x, explode: true}}\n",
			want: []string{`6:34: devices[0].testdrv: testdrv: cannot work with explode set`},
		},
		{
			name: "section of another driver",
			yaml: head + "devices:\n  - {id: meter, driver: testdrv, sim: {scenario: ups}, testdrv: {port: x}}\n",
			want: []string{`6:34: devices[0].sim: section for driver "sim", but the device uses driver "testdrv"`},
		},
		{
			name: "device key typo hints at the driver section too",
			yaml: head + "devices:\n  - {id: meter, driver: testdrv, testdrvv: {port: x}}\n",
			want: []string{
				`6:5: devices[0].testdrv.port: required`,
				`6:34: devices[0].testdrvv: unknown key (did you mean "testdrv"?)`,
			},
		},
		{
			name:  "secret file missing",
			yaml:  head + "  username: gw\n  password_file: secrets/mqtt.pw\n",
			files: map[string]string{},
			want:  []string{`6:3: uplink.password_file: cannot read secret file: open DIR/secrets/mqtt.pw: no such file or directory`},
		},
		{
			name:  "password and password_file together",
			yaml:  head + "  username: gw\n  password: s3cret\n  password_file: mqtt.pw\n",
			files: map[string]string{"mqtt.pw": "s3cret\n"},
			want:  []string{`7:3: uplink.password_file: give either password or password_file, not both`},
		},
		{
			name:  "empty secret file",
			yaml:  head + "devices:\n  - {id: meter, driver: testdrv, testdrv: {port: x, password_file: pw}}\n",
			files: map[string]string{"pw": "\n"},
			want:  []string{`6:53: devices[0].testdrv.password_file: secret file "DIR/pw" is empty`},
		},
		{
			name: "secrets stay out of messages",
			yaml: "site: a\ngateway: b\nuplink:\n  broker: tls://gw:s3cret@broker.example\n  password: {s3cret: 1}\n",
			want: []string{
				`4:3: uplink.broker: put credentials in uplink.username and uplink.password (or password_file), not in the URL`,
				`5:13: uplink.password: want a string, got a mapping`,
			},
		},
		{
			name: "alarm rules",
			yaml: head + `devices:
  - {id: fridge, driver: testdrv, testdrv: {port: x}}
alarms:
  - {device: fridg, metric: temperature, above: 8}
  - {device: fridge, metric: temperature}
  - {device: "*", metric: temperature, above: 2, below: 8, hysteresis: -1, for: -5m, severity: info}
  - {device: fridge, above: 8, severity: urgent}
`,
			want: []string{
				`8:6: alarms[0].device: no device "fridg" in devices (use "*" for every device)`,
				`9:5: alarms[1]: needs above, below or both (or stale_after)`,
				`10:40: alarms[2].above: must be greater than below (8), got 2`,
				`10:60: alarms[2].hysteresis: must be ≥ 0, got -1`,
				`10:76: alarms[2].for: must be ≥ 0, got -5m`,
				`10:86: alarms[2].severity: want critical, major or minor, got "info"`,
				`11:5: alarms[3].metric: required`,
				`11:42: alarms[3].severity: want info, minor, major or critical, got "urgent"`,
			},
		},
		{
			name: "correlation references",
			yaml: head + `devices:
  - {id: a, driver: testdrv, powered_by: a, router: a, testdrv: {port: x}}
  - {id: b, driver: testdrv, powered_by: usv, router: fritzbox, testdrv: {port: x}}
`,
			want: []string{
				`6:30: devices[0].powered_by: a device cannot power itself`,
				`6:45: devices[0].router: a device cannot be its own router`,
				`7:30: devices[1].powered_by: no device "usv" in devices`,
				`7:47: devices[1].router: no device "fritzbox" in devices`,
			},
		},
		{
			name: "poll timing",
			yaml: head + `defaults: {interval: 10s, timeout: 20s}
devices:
  - {id: a, driver: testdrv, interval: 500ms, testdrv: {port: x}}
  - {id: b, driver: testdrv, interval: 10s, timeout: 11s, jitter: 6s, unreachable_after: -1, testdrv: {port: x}}
`,
			want: []string{
				`5:27: defaults.timeout: must be ≤ the interval (10s), got 20s`,
				`7:30: devices[0].interval: must be ≥ 1s, got 500ms`,
				`8:45: devices[1].timeout: must be ≤ the interval (10s), got 11s`,
				`8:59: devices[1].jitter: must be ≤ half the interval (5s), got 6s`,
				`8:71: devices[1].unreachable_after: must be ≥ 1, got -1`,
			},
		},
		{
			name: "uplink rules",
			yaml: `site: a
gateway: b
uplink:
  broker: http://broker.example
  prefix: /praxis/+/v1
  cert_file: gw.pem
  keepalive: 24h
  backoff_min: 5m
  max_inflight: 70000
buffer: {commit_window: 200ms, max_age: 10m}
log: {level: verbose, format: xml}
`,
			want: []string{
				`4:3: uplink.broker: unknown scheme "http" (want tcp, mqtt, tls, mqtts, ssl, ws or wss)`,
				`5:3: uplink.prefix: must not contain the MQTT wildcards + or #, got "/praxis/+/v1"`,
				`6:3: uplink.cert_file: needs key_file too (a client certificate is a pair)`,
				`6:3: uplink.cert_file: cannot read: open DIR/gw.pem: no such file or directory`,
				`7:3: uplink.keepalive: must be between 1s and 18h12m15s, got 24h`,
				`8:3: uplink.backoff_min: backoff_max (2m) must be ≥ backoff_min (5m)`,
				`9:3: uplink.max_inflight: must be between 1 and 65000, got 70000`,
				`10:10: buffer.commit_window: must be ≤ 100ms, got 200ms`,
				`10:32: buffer.max_age: must be ≥ 1h, got 10m`,
				`11:7: log.level: want debug, info, warn or error, got "verbose"`,
				`11:23: log.format: want text or json, got "xml"`,
			},
		},
		{
			name: "certificates with a plain broker",
			yaml: head + "  ca_file: ca.pem\n",
			want: []string{`5:3: uplink.ca_file: only used with a TLS broker (tls://, mqtts://, ssl:// or wss://)`},
		},
		{
			name: "duplicate keys",
			yaml: head + "site: praxis-b\n",
			want: []string{`5:1: site: duplicate key (first at line 1)`},
		},
		{
			name: "yaml syntax error",
			yaml: head + "devices:\n  - id: a\n   driver: x\n",
			// The parser reports the line of the block it was in, not of
			// the mis-indented key.
			want: []string{`5:1: YAML syntax: did not find expected '-' indicator`},
		},
		{
			name: "empty file",
			yaml: "# nothing yet\n",
			want: []string{`1:1: the file is empty`},
		},
		{
			name: "not a mapping",
			yaml: "- site: a\n",
			want: []string{`1:1: the file must be a mapping of keys (site:, gateway:, ...), got a list`},
		},
		{
			name: "alias loop",
			yaml: head + "devices: &d [*d]\n",
			want: []string{
				`5:14: devices[0]: alias refers to itself`,
				`5:14: devices[0].id: required`,
				`5:14: devices[0].driver: required`,
			},
		},
		{
			name: "many problems at once, sorted by line",
			yaml: `site: praxis_a
gateway: gw-01
uplink:
  broker: tls://mqtt.example:99999
  keepalive: 30
devices:
  - id: fridge
    driver: testdrv
    intervall: 30s
    testdrv: {port: /dev/ttyUSB0, baud: 1200}
  - id: fridge
    driver: nope
alarms:
  - {device: kuehlschrank, metric: temperature, above: 8}
`,
			want: []string{
				`1:1: site: must be a slug (a-z, 0-9 and '-', starting with a letter or digit, at most 64 characters), got "praxis_a"`,
				`4:3: uplink.broker: port "99999" is out of range (1-65535)`,
				`5:14: uplink.keepalive: want a duration like 30s, got "30"`,
				`9:5: devices[0].intervall: unknown key (did you mean "interval"?)`,
				`10:35: devices[0].testdrv.baud: must be 2400, 9600 or 19200, not 1200`,
				`11:5: devices[1].id: duplicate device id "fridge" (first at line 7)`,
				`12:5: devices[1].driver: unknown driver "nope" (known drivers: sim, testdrv)`,
				`14:6: alarms[0].device: no device "kuehlschrank" in devices (use "*" for every device)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFiles(t, tt.yaml, tt.files)
			got := problems(t, path)
			dir := filepath.Dir(path)
			for i := range got {
				got[i] = strings.ReplaceAll(got[i], dir, "DIR")
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, g := range got {
				if strings.Contains(g, "s3cret") {
					t.Errorf("a secret leaked into %q", g)
				}
			}
		})
	}
}

func TestErrorsFormat(t *testing.T) {
	e := &Errors{File: "/etc/praxisgate/praxisgate.yaml", List: []Problem{
		{Path: "devices[2].interval", Line: 14, Column: 5, Msg: "must be ≥ 1s, got 500ms"},
		{Line: 1, Column: 1, Msg: "the file is empty"},
	}}
	want := "/etc/praxisgate/praxisgate.yaml:14:5: devices[2].interval: must be ≥ 1s, got 500ms\n" +
		"/etc/praxisgate/praxisgate.yaml:1:1: the file is empty"
	if got := e.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestNUTServerSection(t *testing.T) {
	base := "site: s\ngateway: g\nuplink: {broker: \"tcp://127.0.0.1:1883\"}\ndevices: [{id: usv, driver: sim, kind: ups, sim: {scenario: ups}}, {id: kuehlschrank, driver: sim, kind: fridge}]\n"
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"off", "", nil},
		{"good", "nut_server: {listen: \":3493\", allow: [192.168.10.0/24, 10.0.0.5], username: mon, password: geheim, ups: {usv: usv}}\n", nil},
		{"incomplete", "nut_server: {listen: \"3493\", allow: [nonsense], ups: {usv: nope}}\n", []string{
			`nut_server.listen: want host:port like ":3493", got "3493"`,
			"nut_server.username: required",
			"nut_server.password: is required (or password_file): clients must log in",
			`nut_server.allow[0]: want a network like 192.168.10.0/24 or an address, got "nonsense"`,
			`nut_server.ups.usv: no device "nope" in devices`,
		}},
		{"not a UPS", "nut_server: {listen: \":3493\", username: mon, password: geheim, ups: {usv: kuehlschrank}}\n", []string{
			`nut_server.ups.usv: device "kuehlschrank" is of kind "fridge", want a UPS (kind ups)`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(base+c.yaml), "t.yaml")
			var got []string
			if err != nil {
				ce, ok := err.(*Errors)
				if !ok {
					t.Fatal(err)
				}
				for _, p := range ce.List {
					got = append(got, p.Path+": "+p.Msg)
				}
			}
			sort.Strings(got)
			sort.Strings(c.want)
			if len(got) != len(c.want) {
				t.Fatalf("problems %q, want %q", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("problem %d: %q, want %q", i, got[i], c.want[i])
				}
			}
			if err == nil && c.name == "good" && len(cfg.NUTServer.AllowPrefixes) != 2 {
				t.Errorf("allow parsed to %v", cfg.NUTServer.AllowPrefixes)
			}
		})
	}
}
