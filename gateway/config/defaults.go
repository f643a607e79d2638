package config

import (
	"path/filepath"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// The defaults documented in docs/config.md and on the fields of Config.
const (
	DefaultStateDir         = "/var/lib/praxisgate"
	DefaultPrefix           = "praxisgate/v1"
	DefaultMaxBytes         = ByteSize(2 << 30)
	DefaultMaxAge           = 30 * 24 * time.Hour
	DefaultCommitWindow     = 50 * time.Millisecond
	DefaultKeepAlive        = 30 * time.Second
	DefaultConnectTimeout   = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultBackoffMin       = time.Second
	DefaultBackoffMax       = 2 * time.Minute
	DefaultReconnectSpread  = 20 * time.Second
	DefaultMaxInflight      = 256
	defaultSelfInterval     = 60 * time.Second
	defaultAlarmSeverity    = drivers.Major
	defaultLogLevel         = "info"
	defaultLogFormat        = "text"
	defaultJitterPercentage = 10
)

// fillDefaults replaces every unset value by its default and makes paths
// absolute, so the rest of the gateway never has to know what "unset"
// means. Devices inherit from defaults: only what the file set there;
// the built-in defaults are computed per device from its own interval.
func (l *loader) fillDefaults() {
	c := l.cfg
	c.StateDir = l.absDir(c.StateDir, DefaultStateDir)
	setStr(&c.Log.Level, defaultLogLevel)
	setStr(&c.Log.Format, defaultLogFormat)

	u := &c.Uplink
	setStr(&u.ClientID, "praxisgate-"+c.Site+"-"+c.Gateway)
	u.fillDefaults()
	if u.ReconnectSpread == nil {
		d := DefaultReconnectSpread
		u.ReconnectSpread = &d
	}

	b := &c.Buffer
	b.Dir = l.absDir(b.Dir, filepath.Join(c.StateDir, "buffer"))
	if b.MaxBytes == 0 {
		b.MaxBytes = DefaultMaxBytes
	}
	setDur(&b.MaxAge, DefaultMaxAge)
	setDur(&b.CommitWindow, DefaultCommitWindow)

	df := c.Defaults // as written in the file
	for i := range c.Devices {
		d := &c.Devices[i]
		if f, ok := drivers.Lookup(d.Driver); ok {
			if d.Interval == 0 {
				d.Interval = f.Interval
			}
			if d.Timeout == 0 && f.Timeout > 0 && d.Interval > 0 {
				d.Timeout = min(f.Timeout, d.Interval)
			}
		}
		fillDevice(d, df)
	}
	fillDefaultsSection(&c.Defaults)

	for i := range c.Alarms {
		if c.Alarms[i].Severity == "" {
			c.Alarms[i].Severity = defaultAlarmSeverity
		}
	}
	setDur(&c.Self.Interval, defaultSelfInterval)
	l.fillCommandDefaults()
	l.fillWebDefaults()
	l.fillUpdateDefaults()
	l.fillNotifyDefaults()
}

// fillDevice applies inheritance to one device: its own value, else the one
// under defaults:, else the built-in rule. Inherited timeout and jitter are
// capped to fit the device's own interval, since a shared defaults.timeout
// of 30s must not break a device polled every 10s.
func fillDevice(d *Device, df DeviceDefaults) {
	if d.Interval == 0 {
		d.Interval = df.Interval
	}
	if d.Interval == 0 {
		d.Interval = defaultInterval
	}
	if d.Timeout == 0 {
		d.Timeout = min(df.Timeout, d.Interval)
	}
	if d.Timeout == 0 {
		d.Timeout = min(d.Interval, maxDefaultTimeout)
	}
	if d.Jitter == nil {
		j := d.Interval * defaultJitterPercentage / 100
		if df.Jitter != nil {
			j = min(*df.Jitter, d.Interval/2)
		}
		d.Jitter = &j
	}
	if d.UnreachableAfter == 0 {
		d.UnreachableAfter = df.UnreachableAfter
	}
	if d.UnreachableAfter == 0 {
		d.UnreachableAfter = defaultUnreachableAfter
	}
}

// fillDefaultsSection completes defaults: itself, so that what the web page
// shows as "defaults" is what a new device would get.
func fillDefaultsSection(df *DeviceDefaults) {
	var d Device
	fillDevice(&d, *df)
	df.Interval, df.Timeout, df.Jitter, df.UnreachableAfter = d.Interval, d.Timeout, d.Jitter, d.UnreachableAfter
}

func setStr(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

func setDur(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}

// absDir returns dir made absolute against the config file's directory,
// or def when dir is empty.
func (l *loader) absDir(dir, def string) string {
	if dir == "" {
		return def
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(l.dir, dir)
	}
	return filepath.Clean(dir)
}

// fillDefaults replaces the unset timeouts, backoff and in-flight limit of
// the uplink section by their defaults. The loader and the uplink (for an
// Uplink built in code) both call it, so there is one set of uplink
// defaults. The reconnect spread is the loader's alone: an Uplink built in
// code (tests, the fleet simulation) says its spread itself, nil is none.
func (u *Uplink) fillDefaults() {
	setStr(&u.Prefix, DefaultPrefix)
	setDur(&u.KeepAlive, DefaultKeepAlive)
	setDur(&u.ConnectTimeout, DefaultConnectTimeout)
	setDur(&u.WriteTimeout, DefaultWriteTimeout)
	setDur(&u.BackoffMin, DefaultBackoffMin)
	setDur(&u.BackoffMax, DefaultBackoffMax)
	if u.MaxInflight == 0 {
		u.MaxInflight = DefaultMaxInflight
	}
}

// WithDefaults returns u with its unset values replaced by the defaults of
// docs/config.md (all but the reconnect spread, see fillDefaults), for an
// Uplink built in code rather than loaded.
func (u Uplink) WithDefaults() Uplink {
	u.fillDefaults()
	return u
}
