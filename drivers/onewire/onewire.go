// Package onewire reads DS18B20 temperature probes wired to the gateway
// itself (a GPIO pin with the w1-gpio overlay, or a USB 1-Wire master)
// through the Linux w1 sysfs interface. It is the cheapest way to put a
// calibrated probe into a medication fridge or the server rack.
package onewire

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/praxisgate/praxisgate/drivers"
)

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "onewire",
		Kind:     "sensor",
		Doc:      "DS18B20 1-Wire temperature probes on the gateway (Linux sysfs)",
		Defaults: defaults,
		New:      New,
	})
}

// DefaultRoot is where the kernel's w1 core lists slaves.
const DefaultRoot = "/sys/bus/w1/devices"

// Config is the device's `onewire:` section. One device may carry several
// probes (a fridge with a top and a bottom probe); each is found by its ROM
// id, so unplugging and replugging in another order changes nothing.
type Config struct {
	// SysfsRoot is the w1 devices directory; only tests and unusual mounts
	// change it.
	SysfsRoot string `yaml:"sysfs_root"`
	// Probes maps probe ids to metric names.
	Probes []Probe `yaml:"probes"`
	// Retries is how often a probe is read again after a CRC error or the
	// 85 °C power-on value before the poll gives up on it.
	Retries int `yaml:"retries"`
}

// Probe is one DS18B20.
type Probe struct {
	// ID is the kernel's slave name, family-serial, e.g. 28-0316a2795fff.
	ID string `yaml:"id"`
	// Name is the metric name, e.g. "temperature".
	Name string `yaml:"name"`
	// Offset is a calibration correction in °C added to every reading,
	// from a comparison against a reference thermometer.
	Offset float64 `yaml:"offset"`
}

func defaults() Config {
	return Config{SysfsRoot: DefaultRoot, Retries: 2}
}

// idPattern is a w1 slave name: two hex digits of family code, a dash and
// twelve hex digits of serial number.
var idPattern = regexp.MustCompile(`^[0-9a-f]{2}-[0-9a-f]{12}$`)

// thermFamilies are the family codes the kernel's w1_therm driver serves
// with the w1_slave format: DS18S20, DS1822, DS18B20, DS1825/MAX31850, DS28EA00.
var thermFamilies = map[string]bool{"10": true, "22": true, "28": true, "3b": true, "42": true}

func (c *Config) check() error {
	var errs []error
	if c.SysfsRoot == "" {
		errs = append(errs, drivers.Fieldf("sysfs_root", "must not be empty"))
	}
	if c.Retries < 0 || c.Retries > 5 {
		errs = append(errs, drivers.Fieldf("retries", "want 0 to 5, got %d", c.Retries))
	}
	if len(c.Probes) == 0 {
		errs = append(errs, drivers.Fieldf("probes", "at least one probe is needed"))
	}
	ids, names := map[string]bool{}, map[string]bool{}
	for i := range c.Probes {
		p := &c.Probes[i]
		p.ID = strings.ToLower(strings.TrimSpace(p.ID))
		switch {
		case !idPattern.MatchString(p.ID):
			errs = append(errs, drivers.Fieldf(fmt.Sprintf("probes[%d].id", i), "%q is not a 1-Wire id like 28-0316a2795fff", p.ID))
		case !thermFamilies[p.ID[:2]]:
			errs = append(errs, drivers.Fieldf(fmt.Sprintf("probes[%d].id", i), "family %s is not a temperature probe", p.ID[:2]))
		case ids[p.ID]:
			errs = append(errs, drivers.Fieldf(fmt.Sprintf("probes[%d].id", i), "%s is listed twice", p.ID))
		}
		ids[p.ID] = true
		if p.Name == "" {
			p.Name = "temperature"
			if len(c.Probes) > 1 {
				p.Name = "temperature." + p.ID
			}
		}
		if names[p.Name] {
			errs = append(errs, drivers.Fieldf(fmt.Sprintf("probes[%d].name", i), "%q is used twice", p.Name))
		}
		names[p.Name] = true
	}
	return errors.Join(errs...)
}

// Driver reads the configured probes.
type Driver struct {
	cfg  Config
	log  *slog.Logger
	fsys fs.FS
}

// New checks the config; it reads nothing.
func New(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Probes = append([]Probe(nil), cfg.Probes...)
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg, log: log, fsys: os.DirFS(cfg.SysfsRoot)}, nil
}

// Poll reads every probe. A probe that is missing or keeps giving bad
// readings yields a condition instead of a metric, so one bad probe does not
// hide the others; only a missing w1 bus fails the whole poll.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	if _, err := fs.Stat(d.fsys, "."); err != nil {
		return drivers.Sample{}, fmt.Errorf("onewire: open %s (is the w1-gpio overlay loaded?): %w: %w",
			d.cfg.SysfsRoot, drivers.ErrUnreachable, err)
	}
	var s drivers.Sample
	for _, p := range d.cfg.Probes {
		milliC, err := d.readProbe(ctx, p)
		if ctx.Err() != nil {
			return drivers.Sample{}, fmt.Errorf("onewire: read %s: %w", p.ID, ctx.Err())
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			s.Conditions = append(s.Conditions, drivers.Condition{
				Name:     "onewire." + p.Name + ".missing",
				Severity: drivers.Major,
				Message:  fmt.Sprintf("1-Wire probe %s (%s) is not on the bus.", p.ID, p.Name),
			})
		case err != nil:
			d.log.Warn("onewire: probe gives no valid reading", "probe", p.ID, "err", err)
			s.Conditions = append(s.Conditions, drivers.Condition{
				Name:     "onewire." + p.Name + ".invalid",
				Severity: drivers.Minor,
				Message:  fmt.Sprintf("1-Wire probe %s (%s) gives no valid reading: %v.", p.ID, p.Name, err),
			})
		default:
			s.Metrics = append(s.Metrics, drivers.Num(p.Name, float64(milliC)/1000+p.Offset, "°C"))
		}
	}
	return s, nil
}

// readProbe reads one probe, retrying the failures that a second
// conversion cures (CRC noise, the power-on value after a brown-out).
func (d *Driver) readProbe(ctx context.Context, p Probe) (int, error) {
	var err error
	for attempt := 0; attempt <= d.cfg.Retries; attempt++ {
		var data []byte
		// Each read of w1_slave starts a conversion (up to 750 ms); the
		// file read cannot be interrupted, so run it aside and stop
		// waiting when ctx ends.
		data, err = readFileCtx(ctx, d.fsys, p.ID+"/w1_slave")
		if err != nil {
			return 0, err
		}
		var r reading
		r, err = parseW1Slave(data)
		if err == nil {
			return r.milliC, nil
		}
		if !errors.Is(err, errCRC) && !errors.Is(err, errPowerOn) {
			break
		}
	}
	return 0, err
}

func readFileCtx(ctx context.Context, fsys fs.FS, name string) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		data, err := fs.ReadFile(fsys, name)
		ch <- result{data, err}
	}()
	select {
	case r := <-ch:
		return r.data, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Probes lists the temperature probes the kernel sees under root, sorted,
// for discovery and the setup page.
func Probes(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("onewire: list %s: %w", root, err)
	}
	var ids []string
	for _, e := range entries {
		n := e.Name()
		if idPattern.MatchString(n) && thermFamilies[n[:2]] {
			ids = append(ids, n)
		}
	}
	sort.Strings(ids)
	return ids, nil
}
