package discover

import (
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
)

// The web page shows a host adopted or ignored since the driver started as
// such, from the lists of the config in effect (drivers.HostListConfig).
func TestConfigListed(t *testing.T) {
	var c drivers.HostListConfig = &Config{Adopted: map[string]string{"AA:BB:CC:DD:EE:01": "drucker"}, KnownMACs: []string{"aa:bb:cc:dd:ee:02", "11:22:33"}}
	cases := []struct {
		mac     string
		known   bool
		adopted string
	}{
		{"aa:bb:cc:dd:ee:01", true, "drucker"},
		{"AA-BB-CC-DD-EE-02", true, ""},
		{"11:22:33:44:55:66", true, ""},
		{"aa:bb:cc:dd:ee:03", false, ""},
		{"not a mac", false, ""},
	}
	for _, tc := range cases {
		known, adopted := c.Listed(tc.mac)
		if known != tc.known || adopted != tc.adopted {
			t.Errorf("%s: known %v adopted %q, want %v %q", tc.mac, known, adopted, tc.known, tc.adopted)
		}
	}
	known, adopted := c.HostLists()
	if len(known) != 2 || adopted["AA:BB:CC:DD:EE:01"] != "drucker" {
		t.Fatalf("lists %v %v", known, adopted)
	}
	if w := c.WithoutHostLists().(*Config); w.KnownMACs != nil || w.Adopted != nil || len(c.(*Config).KnownMACs) != 2 {
		t.Fatalf("without lists %+v, the original changed too?", w)
	}
}
