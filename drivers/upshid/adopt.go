package upshid

import (
	"strings"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidraw"
)

// Suggestion proposes a connected USB UPS for adoption, the way discover
// proposes a network host: the web page or the provider confirms it;
// nothing is adopted by itself.
type Suggestion struct {
	// ID is a stable device id derived from the serial number.
	ID string `json:"id"`
	// Driver is "upshid"; Config is its section (the serial that picks
	// this unit when several are connected).
	Driver string            `json:"driver"`
	Config map[string]string `json:"config"`
	// Title is what a technician reads: maker, model, USB id.
	Title string `json:"title"`
	Node  string `json:"node"`
	// Problem is set when the UPS was seen but cannot be read (no access
	// to the hidraw node, unreadable descriptor).
	Problem string `json:"problem,omitempty"`
}

// Suggestions lists the connected USB UPSes as adoption proposals.
func Suggestions(roots hidraw.Roots) ([]Suggestion, error) {
	cands, err := Find(roots)
	if err != nil {
		return nil, err
	}
	var out []Suggestion
	for _, c := range cands {
		s := Suggestion{Driver: "upshid", Node: c.Path, Config: map[string]string{}}
		mfr := c.Manufacturer
		if mfr == "" {
			mfr = knownVendors[c.Vendor]
		}
		s.Title = strings.TrimSpace(strings.Join(strings.Fields(mfr+" "+c.ProductName+" ("+c.ID()+", USB)"), " "))
		id := "usv-usb"
		if c.Serial != "" {
			s.Config["serial"] = c.Serial
			id = "usv-" + slug(c.Serial)
		}
		s.ID = id
		if c.Err != nil {
			s.Problem = c.Err.Error()
		}
		out = append(out, s)
	}
	return out, nil
}

// slug keeps letters and digits, lower-cased, for a device id.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
		if b.Len() >= 24 {
			break
		}
	}
	return b.String()
}

func init() { drivers.RegisterFinder("upshid", findAttached) }

// findAttached is the driver's drivers.Finder: the UPSes under the
// default roots, or under those of a configured device that moved them
// (a test guest).
func findAttached(configured []drivers.Configured) ([]drivers.Attached, error) {
	roots := hidraw.DefaultRoots
	for _, c := range configured {
		if cfg, ok := c.Config.(*Config); ok && cfg.SysRoot != "" && cfg.SysRoot != roots.Sys {
			roots = hidraw.Roots{Sys: cfg.SysRoot, Dev: cfg.DevRoot}
			break
		}
	}
	return Attached(roots, configured)
}

// Attached lists the connected USB UPSes for the web page's adoption
// list, each with the configured device that reads it already: the one
// with its serial or its fixed node, or a device without either when it
// is the only UPS (such a device reads the only UPS there is).
func Attached(roots hidraw.Roots, configured []drivers.Configured) ([]drivers.Attached, error) {
	sugg, err := Suggestions(roots)
	if err != nil {
		return nil, err
	}
	out := make([]drivers.Attached, 0, len(sugg))
	for _, s := range sugg {
		a := drivers.Attached{Key: s.Config["serial"], Title: s.Title, ID: s.ID, Problem: s.Problem,
			Adopt: drivers.Adoption{Driver: "upshid", Kind: "ups", Settings: s.Config}}
		if a.Key == "" {
			a.Key = s.Node
		}
		for _, c := range configured {
			cfg, ok := c.Config.(*Config)
			if !ok {
				continue
			}
			switch {
			case cfg.Serial != "" && cfg.Serial == s.Config["serial"],
				cfg.Device != "" && cfg.Device == s.Node,
				cfg.Serial == "" && cfg.Device == "" && len(sugg) == 1:
				a.Adopted = c.ID
			}
			if a.Adopted != "" {
				break
			}
		}
		out = append(out, a)
	}
	return out, nil
}
