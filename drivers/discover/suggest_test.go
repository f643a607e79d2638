package discover

import (
	"testing"

	"github.com/praxisgate/praxisgate/drivers/snmp"
)

func TestSuggest(t *testing.T) {
	tests := []struct {
		h                   Host
		driver, profile, id string
	}{
		{Host{MAC: "00:c0:b7:01:02:03", Kind: KindUPSCard, Name: "USV-Rack.praxis.local",
			SNMP: &SNMPIdentity{SysObjectID: ".1.3.6.1.4.1.318.1.3.27"}}, "snmp", "apc", "usv-rack"},
		{Host{MAC: "00:80:77:01:02:03", Kind: KindPrinter, Name: "Drucker Empfang"}, "snmp", "printer", "drucker-empfang"},
		{Host{MAC: "00:11:32:aa:bb:cc", Kind: KindNAS, Name: "Kühlschrank_Impf"}, "snmp", "", "kuehlschrank-impf"},
		{Host{MAC: "00:16:3e:aa:bb:cc", Kind: KindWorkstation}, "", "", "workstation-aabbcc"},
		{Host{MAC: "00:16:3e:aa:bb:cd", Kind: KindServer, SNMP: &SNMPIdentity{SysDescr: "Linux"}}, "snmp", "host-resources", "server-aabbcd"},
		{Host{MAC: "00:16:3e:aa:bb:ce"}, "", "", "unknown-aabbce"},
	}
	profiles := map[string]bool{"": true}
	cat, err := snmp.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cat.Names() {
		profiles[p] = true
	}
	for _, tt := range tests {
		d, p, id := Suggest(tt.h)
		if !profiles[p] {
			t.Errorf("Suggest(%s %q) proposes profile %q, which the snmp driver does not have", tt.h.Kind, tt.h.Name, p)
		}
		if d != tt.driver || p != tt.profile || id != tt.id {
			t.Errorf("Suggest(%s %q) = %q %q %q, want %q %q %q", tt.h.Kind, tt.h.Name, d, p, id, tt.driver, tt.profile, tt.id)
		}
		if !validSlug(id) {
			t.Errorf("id %q is not a slug", id)
		}
	}
}
