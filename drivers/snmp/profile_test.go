package snmp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltinProfilesLoad(t *testing.T) {
	cat, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apc", "avtech", "cyberpower", "eaton-xups", "host-resources", "hwg", "if-mib", "printer", "qnap", "switch", "synology", "ups-mib"}
	got := strings.Join(cat.Names(), ",")
	if got != strings.Join(want, ",") {
		t.Fatalf("profiles = %s, want %s", got, strings.Join(want, ","))
	}
}

func TestParseProfileErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "name: x\nscalars:\n  - {oid: 1.3.6, name: a, sclae: 2}\n", "sclae"},
		{"bad oid", "name: x\nscalars:\n  - {oid: 1.3.x, name: a}\n", "scalars[0].oid"},
		{"bad regexp", "name: x\nmatch: {sys_descr: ['(']}\n", "match.sys_descr[0]"},
		{"enum without map", "name: x\nscalars:\n  - {oid: 1.3.6, name: a, type: enum}\n", "needs an enum map"},
		{"label outside table", "name: x\nscalars:\n  - {oid: 1.3.6, name: 'a.{label}'}\n", "only exist in tables"},
		{"condition without test", "name: x\nscalars:\n  - {oid: 1.3.6, name: a, conditions: [{name: c, severity: major}]}\n", "exactly one of"},
		{"info condition", "name: x\nscalars:\n  - {oid: 1.3.6, name: a, conditions: [{name: c, severity: info, below: 1}]}\n", "want minor, major or critical"},
		{"bit on number", "name: x\nscalars:\n  - {oid: 1.3.6, name: a, conditions: [{name: c, severity: minor, bit: 1}]}\n", "bits value"},
		{"table without columns", "name: x\ntables:\n  - {oid: 1.3.6}\n", "at least one column"},
		{"column given as oid", "name: x\ntables:\n  - {oid: 1.3.6, columns: [{oid: 1.3, name: a}]}\n", "given by number"},
		{"bad name", "name: X Y\n", "name:"},
		{"empty", "", "empty profile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProfile([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

func TestProfileDirOverridesAndExtends(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("kyocera.yaml", "name: kyocera\nkind: printer\nmatch: {sys_object_id: [1.3.6.1.4.1.1347.41]}\ninclude: [printer]\n")
	write("avtech.yaml", "name: avtech\nmatch: {sys_object_id: [1.3.6.1.4.1.20916]}\nscalars:\n  - {oid: 1.3.6.1.4.1.20916.1.6.1.1.1.2.0, name: room.temperature, unit: '°C'}\n")
	cat, err := LoadCatalogue(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := cat.Candidates(Identity{SysObjectID: ".1.3.6.1.4.1.1347.41.2"})
	if len(m) == 0 || m[0].Name != "kyocera" {
		t.Fatalf("kyocera not preferred (longer prefix than printer): %v", profileNames(m))
	}
	ps, err := cat.Expand("kyocera")
	if err != nil || len(ps) != 2 || ps[1].Name != "printer" {
		t.Fatalf("expand = %v, %v", profileNames(ps), err)
	}
	av, _ := cat.Get("avtech")
	if av.Scalars[0].Name != "room.temperature" {
		t.Fatalf("directory profile did not override the built-in avtech")
	}
	write("broken.yaml", "name: broken\ninclude: [nope]\n")
	if _, err := LoadCatalogue(dir); err == nil || !strings.Contains(err.Error(), `unknown profile "nope"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestProfileForIdentity(t *testing.T) {
	tests := []struct {
		id         Identity
		name, kind string
		ok         bool
	}{
		{Identity{SysObjectID: "1.3.6.1.4.1.11.2.3.9.1"}, "printer", "printer", true},
		{Identity{SysObjectID: ".1.3.6.1.4.1.318.1.3.27"}, "apc", "ups", true},
		{Identity{SysObjectID: ".1.3.6.1.4.1.935"}, "ups-mib", "ups", true},
		{Identity{SysObjectID: "1.3.6.1.4.1.24681"}, "qnap", "nas", true},
		{Identity{SysObjectID: "1.3.6.1.4.1.9999", SysDescr: "24-Port Gigabit Smart Switch"}, "switch", "switch", true},
		{Identity{SysObjectID: "1.3.6.1.4.1.8072.3.2.10", SysDescr: "Linux nas0"}, "", "", false},
	}
	for _, tc := range tests {
		name, kind, ok := ProfileFor(tc.id)
		if name != tc.name || kind != tc.kind || ok != tc.ok {
			t.Errorf("ProfileFor(%+v) = %q %q %v, want %q %q %v", tc.id, name, kind, ok, tc.name, tc.kind, tc.ok)
		}
	}
}
