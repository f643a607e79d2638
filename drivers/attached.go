package drivers

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Attached is a device plugged into the box itself (a UPS on its USB
// port) that a driver can read. The web page offers it for adoption the
// way it offers a host a network inventory found; nothing is adopted by
// itself.
type Attached struct {
	// Key tells it apart from the other finds of its driver (the UPS's
	// serial number, else its node).
	Key string
	// Title is what a technician reads: maker, model, bus id.
	Title string
	// ID is a device id to propose.
	ID string
	// Adopt is how to monitor it: the driver and its config section.
	Adopt Adoption
	// Adopted is the id of the configured device that reads it already.
	Adopted string
	// Problem says why it cannot be read yet (no access to the node,
	// unreadable descriptor); it can be adopted all the same.
	Problem string
}

// Configured is a configured device as a Finder sees it: its id and its
// driver's decoded config (the pointer Factory.NewConfig made).
type Configured struct {
	ID     string
	Config any
}

// Finder lists the devices of one driver attached to the box. configured
// are the devices of that driver in the config, so the finder can say
// which of its finds one of them reads already.
type Finder func(configured []Configured) ([]Attached, error)

var (
	findMu  sync.RWMutex
	finders = map[string]Finder{}
)

// RegisterFinder adds a driver's finder; the driver package calls it
// from init(), beside Register.
func RegisterFinder(driver string, f Finder) {
	findMu.Lock()
	defer findMu.Unlock()
	if _, dup := finders[driver]; dup || f == nil {
		panic("drivers: finder of " + driver + " registered twice or nil")
	}
	finders[driver] = f
}

// FindAttached runs every registered finder; configured holds the
// configured devices by driver name. A finder's error is returned joined
// with the others', beside what the other finders found.
func FindAttached(configured map[string][]Configured) ([]Attached, error) {
	findMu.RLock()
	names := make([]string, 0, len(finders))
	for n := range finders {
		names = append(names, n)
	}
	fs := make(map[string]Finder, len(finders))
	for n, f := range finders {
		fs[n] = f
	}
	findMu.RUnlock()
	sort.Strings(names)
	var out []Attached
	var errs []error
	for _, n := range names {
		got, err := fs[n](configured[n])
		if err != nil {
			errs = append(errs, fmt.Errorf("find attached %s devices: %w", n, err))
		}
		out = append(out, got...)
	}
	return out, errors.Join(errs...)
}

// AttachedReport is an Attached as the provider and the technician's
// command line read it (JSON): what it is, which driver and config keys
// would read it, and whether a configured device reads it already.
type AttachedReport struct {
	Key      string            `json:"key"`
	Title    string            `json:"title"`
	Driver   string            `json:"driver"`
	Kind     string            `json:"kind,omitempty"`
	ID       string            `json:"proposed_id"`
	Settings map[string]string `json:"settings,omitempty"`
	Adopted  string            `json:"adopted,omitempty"`
	Problem  string            `json:"problem,omitempty"`
}

// Reports turns finds into their JSON form; never nil, so an empty list
// encodes as [].
func Reports(as []Attached) []AttachedReport {
	out := make([]AttachedReport, 0, len(as))
	for _, a := range as {
		out = append(out, AttachedReport{Key: a.Key, Title: a.Title, Driver: a.Adopt.Driver, Kind: a.Adopt.Kind, ID: a.ID,
			Settings: a.Adopt.Settings, Adopted: a.Adopted, Problem: a.Problem})
	}
	return out
}
