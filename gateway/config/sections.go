package config

import (
	"reflect"
	"strings"
)

// Section is one top-level key of the config file and when a change of it
// takes effect in a running daemon. The table below is the one answer to
// "live or after a restart": the gateway's Apply, the web page's message
// after a save and docs/web.md (TestSectionsDocumented) all read it.
type Section struct {
	// Name is the YAML key (or SectionColdChain).
	Name string
	// Live says the running daemon takes a change over without a restart.
	Live bool
}

// Applied says what became of a config saved while the daemon runs (the
// web page's edits): which of its sections are in effect already and
// which wait for a restart of the service, so nobody leaves the practice
// believing a new broker is in use when it is not.
type Applied struct {
	// Live are the sections this save changed that the running daemon
	// uses from now on.
	Live []string
	// Restart are the sections that differ from what the daemon runs with
	// (by this save or an earlier one) and take effect at its next start.
	Restart []string
}

// SectionColdChain names the cold-chain record's band, which follows the
// fridge: section but is only read when the daemon starts.
const SectionColdChain = "coldchain"

// sectionLive are the sections a running daemon takes over: alarm rules
// and the fridge profile only feed the alarm engine, which swaps its rules,
// and the overview's band; devices are started, stopped and rebuilt; poll
// defaults take effect through the devices they are filled into.
// Everything else is wired into long-lived parts at start: the uplink into
// the MQTT connection, web into the listener, state_dir and buffer into
// open files, the cold-chain band into the recorder.
var sectionLive = map[string]bool{"alarms": true, "fridge": true, "devices": true, "defaults": true}

// Sections lists every section in the order of Config's fields, then
// SectionColdChain.
func Sections() []Section {
	var out []Section
	for _, name := range yamlKeys() {
		out = append(out, Section{Name: name, Live: sectionLive[name]})
	}
	return append(out, Section{Name: SectionColdChain})
}

// SectionLive tells whether a change of the named section applies live.
func SectionLive(name string) bool { return sectionLive[name] }

// yamlKeys are the top-level YAML keys of Config, in field order.
func yamlKeys() []string {
	var out []string
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// Diff lists the sections (YAML keys of Config) in which b differs from a,
// in the struct's order. Values are compared after the loader filled in
// defaults, so writing a default out explicitly is no change; where a
// device stands in the file (Device.Line, which moves when the page
// re-encodes the file) is no change either.
func Diff(a, b *Config) []string {
	var out []string
	va, vb := reflect.ValueOf(withoutLines(a)).Elem(), reflect.ValueOf(withoutLines(b)).Elem()
	t := va.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, tag)
		}
	}
	return out
}

func withoutLines(c *Config) *Config {
	cp := *c
	cp.Devices = append([]Device(nil), c.Devices...)
	for i := range cp.Devices {
		cp.Devices[i].Line = 0
	}
	return &cp
}
