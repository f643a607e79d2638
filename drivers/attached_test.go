package drivers

import (
	"errors"
	"strings"
	"testing"
)

// A finder that fails does not hide what the others found, and each
// finder sees only the configured devices of its own driver.
func TestFindAttached(t *testing.T) {
	RegisterFinder("testfind-ok", func(cfgs []Configured) ([]Attached, error) {
		a := Attached{Key: "k1", Adopt: Adoption{Driver: "testfind-ok"}}
		for _, c := range cfgs {
			a.Adopted = c.ID
		}
		return []Attached{a}, nil
	})
	RegisterFinder("testfind-bad", func([]Configured) ([]Attached, error) {
		return nil, errors.New("no access to /dev/hidraw0")
	})
	got, err := FindAttached(map[string][]Configured{"testfind-ok": {{ID: "usv"}}, "other": {{ID: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "find attached testfind-bad devices: no access") {
		t.Errorf("error %v", err)
	}
	var mine []Attached
	for _, a := range got {
		if strings.HasPrefix(a.Adopt.Driver, "testfind") {
			mine = append(mine, a)
		}
	}
	if len(mine) != 1 || mine[0].Adopted != "usv" {
		t.Errorf("found %+v", mine)
	}
	defer func() {
		if recover() == nil {
			t.Error("a second finder for one driver was accepted")
		}
	}()
	RegisterFinder("testfind-ok", func([]Configured) ([]Attached, error) { return nil, nil })
}
