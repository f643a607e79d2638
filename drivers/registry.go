package drivers

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Device is what every driver learns about the device it serves, besides its
// own Config.
type Device struct {
	// ID is the stable slug chosen at adoption (e.g. "kuehlschrank-impf").
	ID string
	// Kind is the configured kind (fridge, ups, printer...), or the driver's
	// default kind.
	Kind string
	// StateDir is a directory the driver may use for state that must survive
	// restarts (an inventory, counters). It exists and belongs to this device.
	StateDir string
}

// Spec describes a driver to the registry. C is the driver's own Config
// type: a struct with `yaml:"..."` tags that the gateway decodes strictly
// from the device's section named after the driver (devices[i].<name>).
type Spec[C any] struct {
	// Name is the value of `driver:` in the config; it must equal the
	// package name.
	Name string
	// Kind is the default device kind when the config names none.
	Kind string
	// Doc is one line for `praxisgate drivers` and docs/config.md.
	Doc string
	// Interval and Timeout, when set, are this driver's poll interval and
	// timeout for devices that do not set their own; they win over the
	// config's defaults: section, because some drivers must not run at a
	// sensor's pace (a network sweep every 30 s would flood a practice
	// network).
	Interval, Timeout time.Duration
	// Defaults returns a Config with every default filled in. Keys the
	// config file leaves out keep these values.
	Defaults func() C
	// New checks the decoded Config and builds the Driver. It must not do
	// I/O (check-config calls it); open ports and sockets on the first Poll.
	// Configuration mistakes are returned as *FieldError (joined with
	// errors.Join when there are several) so the gateway can show the path
	// and line of the offending key.
	New func(dev Device, cfg C, log *slog.Logger) (Driver, error)
}

// Factory is the type-erased form of a Spec the gateway works with.
type Factory struct {
	Name              string
	Kind              string
	Doc               string
	Interval, Timeout time.Duration
	// NewConfig returns a pointer to a fresh Config with defaults.
	NewConfig func() any
	// New builds the driver from a pointer returned by NewConfig.
	New func(dev Device, cfg any, log *slog.Logger) (Driver, error)
}

var (
	regMu    sync.RWMutex
	registry = map[string]Factory{}
)

// Register adds a driver. It is called from the driver package's init() and
// panics on a duplicate or incomplete Spec, since that is a programming error.
func Register[C any](s Spec[C]) {
	if s.Name == "" || s.New == nil {
		panic("drivers: Register needs a Name and New")
	}
	defaults := s.Defaults
	if defaults == nil {
		defaults = func() C { var c C; return c }
	}
	f := Factory{
		Name:     s.Name,
		Kind:     s.Kind,
		Doc:      s.Doc,
		Interval: s.Interval,
		Timeout:  s.Timeout,
		NewConfig: func() any {
			c := defaults()
			return &c
		},
		New: func(dev Device, cfg any, log *slog.Logger) (Driver, error) {
			c, ok := cfg.(*C)
			if !ok {
				return nil, fmt.Errorf("driver %s: config has type %T, want *%T", s.Name, cfg, *new(C))
			}
			if dev.Kind == "" {
				dev.Kind = s.Kind
			}
			return s.New(dev, *c, log)
		},
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[s.Name]; dup {
		panic("drivers: driver " + s.Name + " registered twice")
	}
	registry[s.Name] = f
}

// Lookup returns the factory of a registered driver.
func Lookup(name string) (Factory, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	f, ok := registry[name]
	return f, ok
}

// Names lists the registered drivers, sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FieldError is a configuration mistake in one key of a driver's Config.
// Field is the yaml path below the driver's section, e.g. "port" or
// "registers[2].type".
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Fieldf builds a *FieldError.
func Fieldf(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
