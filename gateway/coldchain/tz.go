package coldchain

import (
	"fmt"
	"time"
	_ "time/tzdata" // the zone rules travel in the binary: the image has no zoneinfo
)

// DefaultTimezone decides where a record's day begins when the config
// names none: the boxes stand in German practices, whose inspectors read
// days from local midnight to midnight, 23 or 25 hours long on the days
// the clocks change.
const DefaultTimezone = "Europe/Berlin"

// LoadTimezone returns the named zone, DefaultTimezone for "".
func LoadTimezone(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimezone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("coldchain: time zone %q: %w", name, err)
	}
	return loc, nil
}
