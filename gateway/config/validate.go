package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/praxisgate/praxisgate/drivers"
)

// slugRE is the shape of site, gateway and device ids: they become MQTT
// topic levels and file names, so no spaces, umlauts, slashes or wildcards.
var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

const slugRule = "must be a slug (a-z, 0-9 and '-', starting with a letter or digit, at most 64 characters)"

// validate checks the decoded values against the rules in docs/config.md.
// It runs before defaults are filled, so a zero value still means "not
// set", and every rule that fails adds a problem rather than stopping.
func (l *loader) validate() {
	c := l.cfg
	l.required("site", c.Site)
	l.slug("site", c.Site)
	l.required("gateway", c.Gateway)
	l.slug("gateway", c.Gateway)
	l.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	l.oneOf("log.format", c.Log.Format, "text", "json")
	l.validateUplink()
	l.validateBuffer()
	l.validateDefaults()
	l.validateDevices()
	l.validateAlarms()
	l.atLeast("self.interval", c.Self.Interval, time.Second)
	l.validateCommands()
	l.validateWeb()
	l.validateNUTServer()
	l.validateFridge()
	l.validatePlausible()
	l.validateCalibration()
	l.validateTimezone()
	l.validateStale()
	l.validateUpdate()
	l.validateNotify()
}

func (l *loader) required(path, v string) {
	if v == "" {
		l.problem(path, "required")
	}
}

func (l *loader) slug(path, v string) {
	if v != "" && !slugRE.MatchString(v) {
		l.problem(path, "%s, got %s", slugRule, shown(v))
	}
}

func (l *loader) oneOf(path, v string, allowed ...string) {
	if v == "" {
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	l.problem(path, "want %s, got %s", orList(allowed), shown(v))
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// atLeast checks an optional duration: zero means "use the default".
func (l *loader) atLeast(path string, v, lo time.Duration) {
	if v != 0 && v < lo {
		l.problem(path, "must be ≥ %s, got %s", fmtDur(lo), fmtDur(v))
	}
}

// positive checks an optional duration that only has to be above zero.
func (l *loader) positive(path string, v time.Duration) {
	if v < 0 {
		l.problem(path, "must be > 0, got %s", fmtDur(v))
	}
}

// fmtDur prints a duration the way people write it: 1h, not 1h0m0s.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (l *loader) validateBuffer() {
	b := l.cfg.Buffer
	if b.MaxBytes != 0 && b.MaxBytes < 1<<20 {
		l.problem("buffer.max_bytes", "must be ≥ 1MiB, got %s", b.MaxBytes)
	}
	l.atLeast("buffer.max_age", b.MaxAge, time.Hour)
	l.positive("buffer.commit_window", b.CommitWindow)
	if b.CommitWindow > 100*time.Millisecond {
		l.problem("buffer.commit_window", "must be ≤ 100ms, got %s", fmtDur(b.CommitWindow))
	}
}

// Device defaults when neither the device nor defaults: set a key.
const (
	defaultInterval         = 30 * time.Second
	maxDefaultTimeout       = 30 * time.Second
	defaultUnreachableAfter = 3
)

// defaultInterval returns the interval devices inherit.
func (l *loader) inheritedInterval() time.Duration {
	if iv := l.cfg.Defaults.Interval; iv > 0 {
		return iv
	}
	return defaultInterval
}

func (l *loader) validateDefaults() {
	df := l.cfg.Defaults
	l.pollRules("defaults", df.Interval, df.Timeout, df.Jitter, df.UnreachableAfter, l.inheritedInterval())
}

// pollRules checks the poll settings shared by defaults: and a device.
// interval is the effective interval the timeout and jitter are compared
// with.
func (l *loader) pollRules(path string, iv, timeout time.Duration, jitter *time.Duration, unreach int, interval time.Duration) {
	l.atLeast(path+".interval", iv, time.Second)
	l.positive(path+".timeout", timeout)
	if timeout > interval {
		l.problem(path+".timeout", "must be ≤ the interval (%s), got %s", fmtDur(interval), fmtDur(timeout))
	}
	if jitter != nil {
		switch {
		case *jitter < 0:
			l.problem(path+".jitter", "must be ≥ 0, got %s", fmtDur(*jitter))
		case *jitter > interval/2:
			l.problem(path+".jitter", "must be ≤ half the interval (%s), got %s", fmtDur(interval/2), fmtDur(*jitter))
		}
	}
	if unreach < 0 {
		l.problem(path+".unreachable_after", "must be ≥ 1, got %d", unreach)
	}
}

func (l *loader) validateDevices() {
	first := map[string]int{}
	for i := range l.cfg.Devices {
		dev := &l.cfg.Devices[i]
		p := indexPath("devices", i)
		l.required(p+".id", dev.ID)
		l.slug(p+".id", dev.ID)
		if dev.ID == selfDevice {
			l.problem(p+".id", "%q is reserved for the gateway's own telemetry", selfDevice)
		}
		if dev.ID != "" {
			if line, dup := first[dev.ID]; dup {
				l.problem(p+".id", "duplicate device id %q (first at line %d)", dev.ID, line)
			} else {
				first[dev.ID] = l.d.posOf(p + ".id").line
			}
		}
		l.required(p+".driver", dev.Driver)
		l.slug(p+".kind", dev.Kind)
		iv := dev.Interval
		if iv <= 0 {
			iv = l.inheritedInterval()
		}
		l.pollRules(p, dev.Interval, dev.Timeout, dev.Jitter, dev.UnreachableAfter, iv)
	}
	for i, dev := range l.cfg.Devices {
		p := indexPath("devices", i) + ".powered_by"
		switch {
		case dev.PoweredBy == "":
		case dev.PoweredBy == dev.ID:
			l.problem(p, "a device cannot power itself")
		case !l.hasDevice(dev.PoweredBy):
			l.problem(p, "no device %s in devices", shown(dev.PoweredBy))
		}
		p = indexPath("devices", i) + ".router"
		switch {
		case dev.Router == "":
		case dev.Router == dev.ID:
			l.problem(p, "a device cannot be its own router")
		case !l.hasDevice(dev.Router):
			l.problem(p, "no device %s in devices", shown(dev.Router))
		}
	}
}

// selfDevice is the device id of the box's own telemetry.
const selfDevice = "gateway"

// hasDevice reports whether a device with this id is configured. The set
// is built once: a file expanded through aliases may hold many devices and
// many alarms, and a scan per alarm would be quadratic.
func (l *loader) hasDevice(id string) bool {
	if l.ids == nil {
		l.ids = make(map[string]bool, len(l.cfg.Devices))
		for _, d := range l.cfg.Devices {
			l.ids[d.ID] = true
		}
	}
	return l.ids[id]
}

func (l *loader) validateAlarms() {
	for i, a := range l.cfg.Alarms {
		p := indexPath("alarms", i)
		l.required(p+".device", a.Device)
		if a.Device != "" && a.Device != "*" && a.Device != selfDevice && !l.hasDevice(a.Device) &&
			!(a.Device == NotifyDevice && l.cfg.Notify != nil) {
			l.problem(p+".device", "no device %s in devices (use \"*\" for every device)", shown(a.Device))
		}
		l.required(p+".metric", a.Metric)
		switch {
		case a.Above == nil && a.Below == nil && a.StaleAfter == 0:
			l.problem(p, "needs above, below or both (or stale_after)")
		case a.Above != nil && a.Below != nil && *a.Above <= *a.Below:
			l.problem(p+".above", "must be greater than below (%g), got %g", *a.Below, *a.Above)
		}
		if a.Hysteresis < 0 {
			l.problem(p+".hysteresis", "must be ≥ 0, got %g", a.Hysteresis)
		}
		if a.For < 0 {
			l.problem(p+".for", "must be ≥ 0, got %s", fmtDur(a.For))
		}
		if a.Severity != "" && a.Severity.Rank() < drivers.Minor.Rank() {
			l.problem(p+".severity", "want critical, major or minor, got %q", a.Severity)
		}
	}
}

// validClientID reports whether s can be sent as an MQTT client id.
func validClientID(s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return fmt.Errorf("must be valid UTF-8 without NUL")
	}
	if len(s) > 65535 {
		return fmt.Errorf("is longer than 65535 bytes")
	}
	return nil
}
