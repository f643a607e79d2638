package upshid

import (
	"strings"

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
