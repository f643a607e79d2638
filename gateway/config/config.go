// Package config loads the gateway's one YAML file strictly: unknown keys,
// wrong types, missing required fields and bad values are all collected and
// reported at once, each with its path and line, so a technician fixes a
// file in one round instead of one error per restart.
//
// Load and Parse run in phases: YAML to nodes (load.go), nodes to the
// structs below (decode.go, usable on any struct through Decode), rule
// checks (validate.go, uplink.go), defaults (defaults.go), and finally each
// device's driver section is decoded into the driver's own Config and
// judged by the driver's constructor (device.go). docs/config.md is the
// user-facing reference and must change with this package.
package config

import (
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// Config is the whole file. docs/config.md is the reference for every key.
type Config struct {
	// Site is the practice's slug, part of every MQTT topic. Required.
	Site string `yaml:"site"`
	// Gateway is this box's slug within the site. Required.
	Gateway string `yaml:"gateway"`
	// StateDir holds the buffer, inventories and alarm state; each device
	// gets <state_dir>/devices/<id>. Default /var/lib/praxisgate; Load
	// makes it absolute.
	StateDir string `yaml:"state_dir"`
	// Timezone is the IANA zone of the practice (Europe/Berlin when
	// empty): the cold-chain record's days run from its local midnight.
	Timezone string `yaml:"timezone"`
	Log      Log    `yaml:"log"`
	Uplink   Uplink `yaml:"uplink"`
	Buffer   Buffer `yaml:"buffer"`
	// Defaults apply to every device that does not set the key itself.
	Defaults DeviceDefaults `yaml:"defaults"`
	Devices  []Device       `yaml:"devices"`
	Alarms   []AlarmRule    `yaml:"alarms"`
	Self     Self           `yaml:"self"`
	// Commands configures remote control over MQTT (commands.go).
	Commands Commands `yaml:"commands"`
	// Web is the technician's local web page (see web.go).
	Web Web `yaml:"web"`
	// NUTServer serves UPS readings to the practice's servers (see
	// nutserver.go). Off unless listen is set.
	NUTServer NUTServer `yaml:"nut_server"`
	// Fridge is the profile of devices of kind fridge: their default
	// alarm band and the cold-chain record (see alarms.go).
	Fridge Fridge `yaml:"fridge"`
	// Update is the self-update (see update.go). Off unless repo is set.
	Update Update `yaml:"update"`
	// Notify is alarms by SMS over a cellular modem; nil when absent.
	Notify *Notify `yaml:"notify"`

	// Path is the absolute path of the file the config was loaded from
	// (not a YAML key).
	Path string `yaml:"-"`
}

// Log configures the daemon's own logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// Uplink is the connection to the provider's MQTT broker.
type Uplink struct {
	// Broker is the URL: tls:// (or mqtts://, ssl://) for TLS, tcp:// (or
	// mqtt://) for plain, ws:// and wss:// for WebSocket. Required. Load
	// lower-cases the scheme and fills in the default port (1883 plain,
	// 8883 TLS, 80 ws, 443 wss), so users of Config can rely on
	// scheme://host:port[/path].
	Broker string `yaml:"broker"`
	// Prefix is the topic root before site and gateway. Default
	// praxisgate/v1.
	Prefix string `yaml:"prefix"`
	// ClientID defaults to praxisgate-<site>-<gateway>.
	ClientID string `yaml:"client_id"`
	// CAFile verifies the broker's certificate; empty means the system
	// roots. CAFile, CertFile and KeyFile are absolute after Load and were
	// readable when it ran.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile enable a client certificate (mTLS); both or
	// neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker's certificate.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns certificate verification off. Only for a
	// lab; the daemon warns at every start.
	InsecureSkipVerify bool           `yaml:"insecure_skip_verify"`
	Username           string         `yaml:"username"`
	Password           drivers.Secret `yaml:"password"`
	// KeepAlive is the MQTT keep-alive. Default 30s.
	KeepAlive time.Duration `yaml:"keepalive"`
	// ConnectTimeout bounds TCP+TLS+CONNECT. Default 10s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// WriteTimeout bounds one network write. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// BackoffMin and BackoffMax bound the reconnect delay, which doubles
	// per failure with full jitter. Defaults 1s and 2m.
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	// ReconnectSpread is the window in which the first reconnect after a
	// lost connection is made, at a random moment: when the provider's
	// broker restarts, hundreds of boxes lose it at once and must not all
	// come back in the same second. Default 20s; an explicit 0s turns the
	// spread off (nil: not written, the default).
	ReconnectSpread *time.Duration `yaml:"reconnect_spread"`
	// MaxInflight is how many QoS 1 publishes may await PUBACK. Default 256.
	MaxInflight int `yaml:"max_inflight"`
}

// Buffer bounds the durable queue.
type Buffer struct {
	// Dir defaults to <state_dir>/buffer.
	Dir string `yaml:"dir"`
	// MaxBytes accepts sizes like 512MiB or 2GiB. Default 2GiB.
	MaxBytes ByteSize `yaml:"max_bytes"`
	// MaxAge accepts durations like 720h or 30d. Default 30d.
	MaxAge time.Duration `yaml:"max_age"`
	// CommitWindow is how long a reading waits at most for others to share
	// its disk sync (buffer.Options.CommitWindow). Default 50ms, at most
	// 100ms: longer would spend the second a reading may take to the broker
	// for little more saving.
	CommitWindow time.Duration `yaml:"commit_window"`
}

// DeviceDefaults are inherited by devices.
type DeviceDefaults struct {
	// Interval between polls. Default 30s, at least 1s.
	Interval time.Duration `yaml:"interval"`
	// Timeout of one poll. Default: the interval, at most 30s; never more
	// than the interval.
	Timeout time.Duration `yaml:"timeout"`
	// Jitter spreads polls: each wait is interval ± up to this. Default
	// 10% of the interval; at most half of it.
	Jitter *time.Duration `yaml:"jitter"`
	// UnreachableAfter consecutive failed polls raise device.unreachable.
	// Default 3.
	UnreachableAfter int `yaml:"unreachable_after"`
}

// Device is one monitored device.
type Device struct {
	// ID is a stable slug (a-z, 0-9, '-', at most 64), unique. Required.
	ID string `yaml:"id"`
	// Driver names a registered driver. Required.
	Driver string `yaml:"driver"`
	// Kind overrides the driver's default kind (fridge, ups, printer...);
	// Load fills in the driver's kind when the file names none.
	Kind string `yaml:"kind"`
	// Name is a human label for the web page.
	Name string `yaml:"name"`
	// Disabled keeps the device in the file without polling it.
	Disabled bool `yaml:"disabled"`
	// PoweredBy names the UPS device this device hangs on (for alarm
	// correlation).
	PoweredBy string `yaml:"powered_by"`
	// Router names the device (router, firewall) this device reaches the
	// internet through, for alarm correlation: while that device does not
	// answer, this device's lost-connection conditions (the TI connector's
	// VPN down) are held back as its consequence.
	Router string `yaml:"router"`
	// Interval, Timeout, Jitter and UnreachableAfter are always set after
	// Load: the device's own value, else the one under defaults: (timeout
	// and jitter capped to fit the device's interval), else the built-in
	// default computed from the device's interval.
	Interval         time.Duration  `yaml:"interval"`
	Timeout          time.Duration  `yaml:"timeout"`
	Jitter           *time.Duration `yaml:"jitter"`
	UnreachableAfter int            `yaml:"unreachable_after"`
	// Plausible overrides the plausible range of a metric (key: metric
	// name); see plausible.go.
	Plausible map[string]Plausible `yaml:"plausible"`
	// Calibration is a fridge probe's calibration (offset and next due
	// date); see calibration.go. nil: none configured.
	Calibration *Calibration `yaml:"calibration"`

	// DriverConfig is the decoded section named after the driver (a pointer
	// to the driver's Config type), filled in by Load.
	DriverConfig any `yaml:"-"`
	// Line is where the device starts in the file, for later messages.
	Line int `yaml:"-"`
}

// AlarmRule is a threshold on one metric of one device.
type AlarmRule struct {
	// Device is a device id, "gateway" for the box itself, or "*" for
	// every device with the metric.
	Device string `yaml:"device"`
	// Metric is the metric name, e.g. temperature.
	Metric string `yaml:"metric"`
	// Above and Below are the thresholds; at least one is required.
	Above *float64 `yaml:"above"`
	Below *float64 `yaml:"below"`
	// For is how long the threshold must be crossed before the alarm is
	// raised. Default 0.
	For time.Duration `yaml:"for"`
	// Hysteresis is how far back inside the band a value must come before
	// the alarm clears. Default 0.
	Hysteresis float64 `yaml:"hysteresis"`
	// Severity is critical, major or minor. Default major.
	Severity drivers.Severity `yaml:"severity"`
	// Message overrides the generated alarm text.
	Message string `yaml:"message"`
	// StaleAfter raises a "sensor offline" alarm when no reading of the
	// metric arrived for this long (e.g. 3 × the device's interval).
	// Default 0: off.
	StaleAfter time.Duration `yaml:"stale_after"`
}

// Self configures the gateway's telemetry about itself (device "gateway").
type Self struct {
	// Interval of self-telemetry. Default 60s.
	Interval time.Duration `yaml:"interval"`
}

// ByteSize is a size in bytes written as 1048576, 512MiB, 2GiB, 100MB...
// Its own type lets the decoder accept units where a plain int would not.
type ByteSize int64
