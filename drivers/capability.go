package drivers

import (
	"context"
	"time"
)

// Optional capabilities. A driver implements Driver; the interfaces below
// (like Watcher, and io.Closer for drivers holding ports or sockets, which
// the gateway closes once after the last Poll and Watch returned) are
// what some drivers add. The gateway and the web page look for them by
// these neutral types, so no part outside drivers/ names a concrete driver.

// SampleWatcher is a Watcher whose device also sends readings on its own
// between polls: a USB UPS sends an interrupt report the moment mains
// fails. The gateway calls WatchSamples instead of Watch. sample takes a
// complete Sample, as Poll would have returned it (metrics, conditions,
// the events of the change), through the same pipeline as a poll's result
// (plausibility, alarms, buffer, telemetry) at once; it returns once the
// gateway took it, or with an error when the device is stopping. Events
// that belong to no reading still go to emit. The driver must not hold a
// lock that Poll takes while it calls sample, since the gateway never
// handles a device's pushed sample and its poll result at the same time.
type SampleWatcher interface {
	Watcher
	WatchSamples(ctx context.Context, emit func(Event), sample func(Sample) error) error
}

// SelfTester is a UPS driver that can start the unit's battery self-test
// (drivers/upshid, drivers/apcmodbus); deep asks for a runtime calibration
// where the unit has one. It returns once the unit took the request; the
// result comes later as the driver's ups.self_test event.
type SelfTester interface {
	SelfTest(ctx context.Context, deep bool) error
}

// Inventorier is a driver that keeps an inventory of the network
// (drivers/discover). After each successful poll the gateway publishes
// InventoryPayload retained on the inventory topic, adding the envelope.
type Inventorier interface {
	InventoryPayload() any
}

// HostLister is a driver that lists the hosts it found on the network,
// for the web page's "found devices".
type HostLister interface {
	Hosts() []Host
}

// Host is one machine a network inventory found, in the words every
// consumer of an inventory shares.
type Host struct {
	MAC    string
	IPs    []string
	Vendor string
	// Name is the host's own name (SNMP sysName, reverse DNS).
	Name string
	// Kind is the driver's guess: printer, switch, nas, ups-card, ...
	Kind string
	// Known: listed as expected or adopted; Adopted: the device id it is
	// monitored as.
	Known   bool
	Adopted string
	// Present is false once the host stopped answering.
	Present  bool
	LastSeen time.Time
	// Adopt says how the host can be monitored as a device of its own;
	// nil: no driver can poll it with what the inventory knows.
	Adopt *Adoption
}

// Adoption is how a found host becomes a monitored device: the driver that
// can poll it and that driver's config section for it, as the config file
// writes it. The web page writes it out without knowing the driver.
type Adoption struct {
	// Driver is the driver's name, also the key of its config section.
	Driver string
	// Kind is the device kind to give it; "" leaves the driver's own.
	Kind string
	// Settings are keys of the driver's section with their values
	// (e.g. address).
	Settings map[string]string
	// ProfileKey is the key of the section's list of profile names the
	// technician may pick one of; "" when the driver has none.
	ProfileKey string
}

// ListSetter is a driver whose lists of known and adopted hosts can be
// replaced while it runs, so that adopting or ignoring a host on the web
// page takes effect without rebuilding the driver (and losing what it
// holds in memory). The lists are checked as at start.
type ListSetter interface {
	SetLists(known []string, adopted map[string]string) error
}

// HostListConfig is the config of a driver with lists of known and
// adopted hosts, which the web page edits.
type HostListConfig interface {
	// HostLists returns the known (MACs or vendor prefixes) and adopted
	// (MAC to device id) lists.
	HostLists() (known []string, adopted map[string]string)
	// WithoutHostLists returns a copy of the config without the two lists:
	// what decides whether a change needs the driver rebuilt.
	WithoutHostLists() any
	// Listed says what the lists make of one MAC.
	Listed(mac string) (known bool, adopted string)
	// HostListKeys are the keys of the two lists in the driver's config
	// section, for the web page to edit them.
	HostListKeys() (known, adopted string)
}
