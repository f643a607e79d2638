package discover

import (
	"reflect"
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

// The list keys the web page edits are the yaml keys of the lists.
func TestHostListKeys(t *testing.T) {
	known, adopted := (&Config{}).HostListKeys()
	typ := reflect.TypeOf(Config{})
	for key, field := range map[string]string{known: "KnownMACs", adopted: "Adopted"} {
		f, _ := typ.FieldByName(field)
		if f.Tag.Get("yaml") != key {
			t.Errorf("%s: yaml key %q, HostListKeys says %q", field, f.Tag.Get("yaml"), key)
		}
	}
}

// A host that answered SNMP can be adopted as an snmp device at its first
// address; one that did not cannot.
func TestAdoption(t *testing.T) {
	h := Host{MAC: "00:c0:b7:00:00:01", IPs: []string{"192.168.10.31", "10.0.0.2"}, Kind: "ups-card", SNMP: &SNMPIdentity{Via: "v2c community #1"}}
	a := adoption(h)
	if a == nil || a.Driver != "snmp" || a.Kind != "ups" || a.Settings["address"] != "192.168.10.31" || a.ProfileKey != "profiles" {
		t.Fatalf("adoption %+v", a)
	}
	h.SNMP = nil
	if a := adoption(h); a != nil {
		t.Fatalf("adoption without SNMP: %+v", a)
	}
}
