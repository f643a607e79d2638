package config

import "github.com/praxisgate/praxisgate/drivers"

// FindAttached lists the devices plugged into the box itself (a USB UPS)
// that a registered driver can read, each marked with the configured
// device that reads it already. The web page offers them for adoption and
// the discover-now command reports them to the provider; both need the
// configured devices grouped by driver, with each driver's decoded config.
// A finder's error comes back beside what the others found.
func FindAttached(c *Config) ([]drivers.Attached, error) {
	by := map[string][]drivers.Configured{}
	if c != nil {
		for _, dc := range c.Devices {
			cfg := dc.DriverConfig
			if cfg == nil {
				if f, ok := drivers.Lookup(dc.Driver); ok {
					cfg = f.NewConfig()
				}
			}
			by[dc.Driver] = append(by[dc.Driver], drivers.Configured{ID: dc.ID, Config: cfg})
		}
	}
	return drivers.FindAttached(by)
}
