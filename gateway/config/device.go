package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/praxisgate/praxisgate/drivers"
)

// deviceNodes remembers where a device and its driver section are in the
// file, for the driver checks that run after decoding.
type deviceNodes struct {
	// dev points into Config.Devices: entries left null in the file get
	// no deviceNodes, so indexes would not line up.
	dev     *Device
	path    string
	node    *yaml.Node
	section *pair // the key named after the driver, nil when absent
}

// decodeDevice decodes one entry of devices: the fixed keys of Device plus
// at most one key named after its driver, which holds the driver's own
// settings. The section is only set aside here; checkDevices decodes it
// once the driver is known to exist.
func (l *loader) decodeDevice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		l.d.typeErr(n, path, "a mapping")
		return
	}
	var others []pair
	l.d.structure(n, v, path, func(p pair) bool {
		others = append(others, p)
		return true
	})
	dev := v.Addr().Interface().(*Device)
	dev.Line = n.Line
	dn := deviceNodes{dev: dev, path: path, node: n}
	known := structOf(v.Type()).names
	for _, p := range others {
		key := p.key.Value
		kp := joinPath(path, key)
		switch {
		case dev.Driver != "" && key == dev.Driver && dn.section == nil:
			p := p
			dn.section = &p
			l.d.record(kp, p.key)
		case isDriverName(key):
			if dev.Driver == "" {
				l.d.addf(p.key, kp, "section for driver %q, but the device has no driver: key", key)
			} else {
				l.d.addf(p.key, kp, "section for driver %q, but the device uses driver %q", key, dev.Driver)
			}
		default:
			l.d.unknown(p.key, kp, withDriver(known, dev.Driver))
		}
	}
	l.devices = append(l.devices, dn)
}

func isDriverName(name string) bool {
	_, ok := drivers.Lookup(name)
	return ok
}

// withDriver adds the device's driver section to the keys offered in hints.
func withDriver(known []string, driver string) []string {
	if driver == "" {
		return known
	}
	return append(append([]string(nil), known...), driver)
}

// checkDevices decodes every device's driver section into the driver's own
// Config and lets the driver's constructor judge it, so a bad port or
// register map is found by check-config and at start, not at the first
// poll. Constructors do no I/O, which makes this safe on a technician's
// laptop.
func (l *loader) checkDevices() {
	for _, dn := range l.devices {
		dev := dn.dev
		if dev.Driver == "" {
			continue // already reported as required
		}
		f, ok := drivers.Lookup(dev.Driver)
		if !ok {
			l.problem(dn.path+".driver", "unknown driver %s (%s)", shown(dev.Driver), registered())
			continue
		}
		if dev.Kind == "" {
			dev.Kind = f.Kind
		}
		secPath := joinPath(dn.path, dev.Driver)
		secPos := position{dn.node.Line, dn.node.Column}
		cfg := f.NewConfig()
		before := len(l.d.probs)
		if dn.section != nil {
			secPos = position{dn.section.key.Line, dn.section.key.Column}
			l.d.value(dn.section.val, reflect.ValueOf(cfg).Elem(), secPath)
		}
		dev.DriverConfig = cfg
		if len(l.d.probs) != before || l.d.truncated {
			// Judging a half-decoded section would only add noise.
			continue
		}
		for _, e := range l.newDriver(f, dev, cfg) {
			var fe *drivers.FieldError
			if errors.As(e, &fe) {
				p := secPath
				if fe.Field != "" {
					p = joinPath(secPath, fe.Field)
				}
				pos, ok := l.d.pos[p]
				if !ok {
					pos = secPos
				}
				l.d.at(pos, p, "%s", fe.Msg)
				continue
			}
			l.d.at(secPos, secPath, "%s", e.Error())
		}
	}
}

// newDriver builds the driver once to check its config and closes it again.
// A panicking constructor is reported, not propagated: check-config must
// finish even when a driver has a bug.
func (l *loader) newDriver(f drivers.Factory, dev *Device, cfg any) (errs []error) {
	defer func() {
		if r := recover(); r != nil {
			errs = []error{fmt.Errorf("driver %s panicked while checking its config: %v", f.Name, r)}
		}
	}()
	d, err := f.New(drivers.Device{
		ID:       dev.ID,
		Kind:     dev.Kind,
		StateDir: filepath.Join(l.cfg.StateDir, "devices", dev.ID),
	}, cfg, slog.New(slog.DiscardHandler))
	if c, ok := d.(io.Closer); ok && d != nil {
		_ = c.Close()
	}
	if err == nil {
		return nil
	}
	return flattenErrors(err)
}

// flattenErrors unpacks errors.Join trees into their leaves.
func flattenErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			if e != nil {
				out = append(out, flattenErrors(e)...)
			}
		}
		return out
	}
	return []error{err}
}

func registered() string {
	names := drivers.Names()
	if len(names) == 0 {
		return "no drivers are built in"
	}
	return "known drivers: " + strings.Join(names, ", ")
}

// problem reports a problem found after decoding at the position of path,
// or of its nearest enclosing key.
func (l *loader) problem(path, format string, args ...any) {
	if l.d.failed[path] {
		return // the decoder already said what is wrong here
	}
	l.d.at(l.d.posOf(path), path, format, args...)
}
